"""Time travel, history, vacuum, source selection and damaged files."""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from codex_metrics.analysis import summarize_simulation
from codex_metrics.cli.app import app, main
from codex_metrics.errors import LakeFormatError, LakePathError, ParameterError
from codex_metrics.lake import Lake, parse_as_of
from codex_metrics.metrics import compute_metric
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth

from .faults import commits, kill_when, start_simulation, world_counts

runner = CliRunner()


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the real entry point (its error handling included); exit code and all output."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def _total(lake: Lake | object, **kwargs: object) -> int:
    result = compute_metric("requests_served", lake, grain="month", **kwargs)  # type: ignore[arg-type]
    return int(sum(r["value"] or 0 for r in result.records()))


@pytest.fixture(scope="module")
def two_worlds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, int, int, datetime]:
    lake = Lake.open(tmp_path_factory.mktemp("tt") / "lake")
    a = simulate(lake, build_config("baseline", developers=120, days=5, seed=1))
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    b = simulate(lake, build_config("baseline", developers=90, days=5, seed=2))
    return lake, a.rows["suggestions"], b.rows["suggestions"], between


def test_as_of_a_timestamp_returns_the_old_numbers(two_worlds) -> None:
    lake, a, b, between = two_worlds
    assert a != b
    assert _total(lake) == b
    assert _total(lake.snapshot(as_of=between)) == a
    out = runner.invoke(
        app,
        [
            "metrics",
            "show",
            "requests_served",
            "--lake",
            str(lake.root),
            "--grain",
            "month",
            "--as-of",
            between.isoformat(),
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert sum(r["value"] for r in doc["rows"]) == a
    assert doc["metadata"]["lake_snapshot"]["versions"]["suggestions"] == 1


def test_as_of_table_versions_and_history(two_worlds) -> None:
    lake, a, b, _ = two_worlds
    assert _total(lake.snapshot(as_of=parse_as_of("suggestions@1"))) == a
    history = lake.history("suggestions")
    assert [c.version for c in history] == [2, 1, 0]
    assert history[0].operation == "simulate" and history[0].source == "simulator"
    assert (history[0].rows_added, history[0].rows_removed) == (b, a)
    out = runner.invoke(
        app, ["lake", "history", "suggestions", "--lake", str(lake.root), "--format", "json"]
    )
    assert out.exit_code == 0 and json.loads(out.output)[1]["rows_added"] == a


def test_bad_as_of_values_are_one_line_errors() -> None:
    with pytest.raises(ParameterError, match="neither a UTC timestamp"):
        parse_as_of("yesterday")
    with pytest.raises(ParameterError, match="unknown table 'nope'"):
        parse_as_of("nope@3")
    with pytest.raises(ParameterError, match="must be a number"):
        parse_as_of("suggestions@x")


def test_sources_default_to_real_data_and_never_mix_by_accident(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    sim = simulate(lake, build_config("baseline", developers=60, days=3, seed=1))
    assert lake.snapshot().sources.names == ("simulator",)
    assert _total(lake) == sim.rows["suggestions"]
    real = sim.rows["suggestions"] + 1
    row = pa.Table.from_pylist(
        [
            {
                "event_id": 1,
                "timestamp": datetime(2025, 3, 3, 12, tzinfo=UTC),
                "developer_id": "u1",
                "org": "acme",
                "session_id": 1,
                "feature": "code_completion",
                "language": "python",
                "editor": "vscode",
                "model_version": "m",
                "status": "ok",
                "latency_ms": 100.0,
                "chars_suggested": 10,
                "lines_suggested": 1,
                "accepted": True,
                "chars_accepted": 10,
                "lines_accepted": 1,
                "keystrokes_saved": 9,
                "is_fallback": False,
                "failure_mode": "none",
                "day": date(2025, 3, 3),
            }
        ]
    )
    lake.write_table("suggestions", row, source="codex-otel", scope="acme")
    assert lake.snapshot().sources.mode == "real"
    assert _total(lake) == 1  # real data only: the simulated world is not added to it
    assert _total(lake.snapshot(sources="simulator")) == sim.rows["suggestions"]
    assert _total(lake.snapshot(sources="all")) == real
    mixed = compute_metric("requests_served", lake.snapshot(sources="all"), by=["source"])
    by_source = {}
    for r in mixed.records():
        by_source[r["source"]] = by_source.get(r["source"], 0) + r["value"]
    assert by_source == {"codex-otel": 1, "simulator": sim.rows["suggestions"]}
    assert mixed.lake_snapshot["sources"] == ["codex-otel", "simulator"]
    out = runner.invoke(
        app, ["metrics", "show", "requests_served", "--lake", str(lake.root), "--format", "json"]
    )
    envelope = json.loads(out.stdout)
    assert envelope["metadata"]["sources"] == ["codex-otel"]
    # One real developer is under the default minimum group size (5): withheld, and said so.
    assert [r["null_reason"] for r in envelope["rows"]] == ["too_few_users"]
    assert "fewer than 5 developers" in out.stderr
    # The simulator's own summary still reads its world only.
    assert load_truth(lake)["run_id"] == sim.run_id
    assert (
        dict((r.metric, r.measured) for r in summarize_simulation(lake))["developers with activity"]
        <= 60
    )


@pytest.mark.slow
def test_vacuum_with_zero_retention_keeps_the_pinned_world_readable(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    a = simulate(lake, build_config("ab_test", developers=150, days=9, seed=1))
    counts_a = world_counts(lake)
    before = commits(lake.root, "suggestions")
    proc = start_simulation(
        lake.root,
        "--scenario",
        "ab_test",
        "--developers",
        "3000",
        "--days",
        "10",
        "--seed",
        "2",
        "--workers",
        "1",
    )
    assert kill_when(proc, lambda: commits(lake.root, "suggestions") > before)
    report = lake.vacuum(retain_hours=0)
    assert report.files > 0  # the killed run's uncommitted files, at least
    assert report.kept_versions["suggestions"] == [
        load_truth(lake)["table_versions"]["suggestions"]
    ]
    assert world_counts(lake) == counts_a
    assert lake.check() == []
    truth = load_truth(lake)
    assert truth["run_id"] == a.run_id
    rows = {r.metric: r for r in summarize_simulation(lake)}
    assert rows["acceptance rate by count"].measured == pytest.approx(
        truth["estimands"]["acceptance_rate_expected"], abs=0.03
    )


def test_vacuum_keeps_young_untracked_files_and_removes_old_ones(tmp_lake: Lake) -> None:
    from tests.lake.test_concurrency import typing_rows

    tmp_lake.write_table("typing", typing_rows(["a"]), source="t", scope="s")
    tmp_lake.write_table("typing", typing_rows(["b"]), source="t", scope="s")
    day_dir = tmp_lake.table_dir("typing") / "day=2025-01-06"
    stray = day_dir / "crashed~writer~0123456789abcdef.parquet"
    shutil.copy(next(day_dir.glob("*.parquet")), stray)
    assert tmp_lake.vacuum(retain_hours=1).files == 0  # young: a writer may still commit it
    report = tmp_lake.vacuum(retain_hours=0, dry_run=True)
    assert report.files == 2 and stray.exists()  # the replaced file and the stray one
    tmp_lake.vacuum(retain_hours=0)
    assert not stray.exists() and len(list(day_dir.glob("*.parquet"))) == 1
    assert [
        r[0] for r in tmp_lake.connect().execute("SELECT developer_id FROM typing").fetchall()
    ] == ["b"]


def test_a_damaged_file_is_named_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = Lake.open(tmp_path / "lake")
    simulate(lake, build_config("baseline", developers=40, days=3, seed=1))
    victim = sorted((lake.root / "suggestions").rglob("*.parquet"))[1]
    victim.write_bytes(victim.read_bytes()[:100])
    rel = victim.relative_to(lake.root / "suggestions").as_posix()
    code, out = run_main(capsys, "metrics", "show", "requests_served", "--lake", str(lake.root))
    assert code == 2
    assert f"table suggestions: data file {rel} is unreadable" in out
    assert "Traceback" not in out and out.count("\n") == 1
    code, out = run_main(capsys, "lake", "check", "--lake", str(lake.root))
    assert code == 2 and rel in out
    code, out = run_main(capsys, "lake", "info", "--lake", str(lake.root))
    assert code == 0  # the log still describes the table
    victim.unlink()
    code, out = run_main(capsys, "metrics", "show", "requests_served", "--lake", str(lake.root))
    assert code == 2 and f"data file {rel} is missing" in out


def test_lake_paths_and_versions_fail_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = tmp_path / "newer"
    Lake.open(newer)
    (newer / "_lake.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(LakeFormatError, match="newer than this codex-metrics"):
        Lake.open(newer)
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(LakePathError, match="regular file"):
        Lake.open(regular)
    code, out = run_main(capsys, "lake", "info", "--lake", str(newer))
    assert code == 2 and "upgrade codex-metrics" in out and out.count("\n") == 1


def test_compact_merges_small_files_without_changing_a_number(tmp_lake: Lake) -> None:
    from tests.lake.test_concurrency import DAY, typing_rows

    writer = tmp_lake.writer("typing", source="github", scope="acme/app")
    for batch in (["a", "b"], ["c"], ["d"]):  # a collector appending as it pages
        writer.write(typing_rows(batch).drop_columns(["day"]), day=DAY)
        writer.close_day(DAY)
    writer.commit()
    tmp_lake.write_table("typing", typing_rows(["s"]), source="simulator", scope="world")
    before = (
        tmp_lake.connect(sources="all")
        .execute("SELECT source, developer_id, chars_typed FROM typing ORDER BY ALL")
        .fetchall()
    )
    files_before = len(tmp_lake.snapshot().tables["typing"].files)
    assert files_before == 4
    assert tmp_lake.compact() == {"typing": 3}
    snap = tmp_lake.snapshot(sources="all")
    assert len(snap.tables["typing"].files) == 2  # the simulator's file is left alone
    after = (
        snap.connect()
        .execute("SELECT source, developer_id, chars_typed FROM typing ORDER BY ALL")
        .fetchall()
    )
    assert after == before
    assert tmp_lake.history("typing")[0].operation == "compact"
    assert tmp_lake.compact() == {}  # nothing left to merge


@pytest.mark.slow
def test_vacuum_during_a_simulation_never_breaks_it(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    simulate(lake, build_config("baseline", developers=100, days=4, seed=1))
    proc = start_simulation(
        lake.root, "--developers", "3000", "--days", "8", "--seed", "2", "--workers", "2"
    )
    skipped = 0
    while proc.poll() is None:
        report = lake.vacuum(retain_hours=0)
        skipped += len(report.skipped)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert skipped > 0  # vacuum saw the writers and left their tables alone
    assert lake.check() == []
    truth = load_truth(lake)
    assert truth["developers"] == 3000
    assert world_counts(lake)["developers"] == 3000
