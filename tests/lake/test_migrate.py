"""`lake migrate` turns a real lake of the previous layout into Delta tables with the same rows."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from codex_metrics.analysis import summarize_simulation
from codex_metrics.cli.app import app
from codex_metrics.errors import LakeCorruptError, LakeFormatError
from codex_metrics.lake import SCHEMA_VERSION, Lake, migrate_lake
from codex_metrics.lake import _migrate as migrate_module
from codex_metrics.metrics.compute import compute_metric
from codex_metrics.telemetry.truth import load_truth

FIXTURE = Path(__file__).parent / "fixtures" / "legacy-lake-v1"
RUN_ID = "sim-aa3ffcbb78e6"
SIM_SCOPE = f"{RUN_ID}.p0of1"
TABLES = (
    "developers",
    "team_members",
    "seats",
    "experiments",
    "assignments",
    "suggestions",
    "typing",
    "tasks",
    "surveys",
    "usage_daily",
)
#: Columns the new layout added to the old tables (compared on their own).
NEW_COLUMNS = {"scope", "pending_cancellation_date", "last_activity_editor"}
# Nullable columns added after the legacy layout: a migrated row has them as nulls.
NEW_COLUMNS |= {"team", "role", "start_date", "metric_filters", "entity_type"}


@pytest.fixture()
def legacy_root(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("README.md"))
    return root


def _legacy_files(root: Path, table: str) -> list[Path]:
    return sorted([*(root / table).glob("*.parquet"), *(root / table).glob("day=*/*.parquet")])


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded strings decoded, metadata dropped: comparable in DuckDB."""
    fields = [
        pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def legacy_rows(root: Path, table: str) -> pa.Table:
    """The table's rows read straight from the legacy files, ``day`` from the folder names."""
    parts = []
    for path in _legacy_files(root, table):
        data = _plain(pq.ParquetFile(path).read())
        if path.parent.name.startswith("day="):
            day = date.fromisoformat(path.parent.name.removeprefix("day="))
            data = data.append_column("day", pa.array([day] * data.num_rows, pa.date32()))
        parts.append(data)
    return pa.concat_tables(parts)


def _fingerprint(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for table in TABLES
        for p in _legacy_files(root, table)
    }


def _differences(con: duckdb.DuckDBPyConnection, left: str, right: str, cols: list[str]) -> int:
    select = ", ".join(f'"{c}"' for c in cols)
    row = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT {select} FROM {left} EXCEPT ALL "
        f"SELECT {select} FROM {right})) + (SELECT count(*) FROM (SELECT {select} FROM {right} "
        f"EXCEPT ALL SELECT {select} FROM {left}))"
    ).fetchone()
    assert row is not None
    return int(row[0])


def assert_same_rows(lake: Lake) -> None:
    """Every table holds exactly the legacy rows (seats' new day checked separately)."""
    con = lake.snapshot(sources="all").connect()
    truth = json.loads((FIXTURE / "_simulator" / "truth.json").read_text())
    last_day = date.fromisoformat(truth["start"]) + timedelta(days=truth["days"] - 1)
    for table in TABLES:
        old = legacy_rows(FIXTURE, table)
        new = con.sql(f"SELECT * FROM {table}").to_arrow_table()
        assert new.num_rows == old.num_rows > 0, table
        cols = [c for c in old.column_names if c not in NEW_COLUMNS]
        assert set(new.column_names) - set(cols) <= NEW_COLUMNS | {"day"}, table
        ref = duckdb.connect()
        ref.register("old_rows", old)
        ref.register("new_rows", new)
        assert _differences(ref, "old_rows", "new_rows", cols) == 0, table
        scopes = ref.execute("SELECT DISTINCT source, scope FROM new_rows ORDER BY ALL").fetchall()
        expected = [("simulator", SIM_SCOPE)]
        if table in ("typing", "seats"):
            expected = [("simulator", SIM_SCOPE), ("test", "Acme Corp/eng")]
        assert scopes == expected, table
        if table == "seats":
            days = ref.execute(
                "SELECT source, day, CAST(ingested_at AT TIME ZONE 'UTC' AS DATE) AS ingested, "
                "count(*), count(pending_cancellation_date) + count(last_activity_editor) "
                "FROM new_rows GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            sim, test = days
            # Simulator seats are the snapshot of the world's last day, others of their ingest day.
            assert sim[0] == "simulator" and sim[1] == last_day == date(2025, 3, 8)
            assert test[0] == "test" and test[1] == test[2] and test[3] == 2
            assert sim[4] == test[4] == 0


# -- reference metrics, computed with DuckDB straight over the legacy files --------------------
REFERENCE_SQL = {
    "acceptance_rate_by_count": """
        SELECT period, language, numerator, denominator, numerator / denominator AS value
        FROM (
            SELECT day AS period, language,
                   sum(CASE WHEN status = 'ok' AND coalesce(accepted, false) THEN 1 ELSE 0 END)
                       ::DOUBLE AS numerator,
                   sum(CASE WHEN status = 'ok' THEN 1 ELSE 0 END)::DOUBLE AS denominator
            FROM suggestions GROUP BY ALL
        ) ORDER BY ALL
    """,
    "active_users": """
        SELECT day AS period, count(DISTINCT developer_id) AS value
        FROM usage_daily
        WHERE breakdown = 'total' AND (code_generation_activity_count > 0
            OR user_initiated_interaction_count > 0 OR code_acceptance_activity_count > 0
            OR loc_added_sum > 0)
        GROUP BY ALL ORDER BY ALL
    """,
    "latency_p90_ms": """
        SELECT day AS period, quantile_cont(latency_ms, 0.9) AS value, count(latency_ms) AS n
        FROM suggestions GROUP BY ALL ORDER BY ALL
    """,
    "seats_assigned": """
        SELECT d.day AS period, count(DISTINCT s.developer_id) AS value
        FROM (SELECT DISTINCT day FROM usage_daily) d
        JOIN seats s ON CAST(s.assigned_at AS DATE) <= d.day
        GROUP BY ALL ORDER BY ALL
    """,
}
METRIC_BY = {"acceptance_rate_by_count": ["language"]}


def reference_metrics() -> dict[str, list[dict[str, Any]]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in ("suggestions", "usage_daily", "seats"):
        con.register(table, legacy_rows(FIXTURE, table))
    out = {}
    for name, sql in REFERENCE_SQL.items():
        rel = con.sql(sql)
        out[name] = [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    return out


def assert_same_metrics(lake: Lake) -> None:
    snapshot = lake.snapshot(sources="all")
    reference = reference_metrics()
    for name, expected in reference.items():
        got = compute_metric(name, snapshot, by=METRIC_BY.get(name, ())).rows.to_pylist()
        assert len(got) == len(expected) > 0, name
        for g, e in zip(got, expected, strict=True):
            for key, value in e.items():
                want = pytest.approx(value, rel=1e-12) if isinstance(value, float) else value
                assert g[key] == want, (name, key, e)
    # The fixture's own numbers, typed by hand: the reference really reads the legacy files.
    assert [r["value"] for r in reference["active_users"]][:2] == [21, 12]
    assert reference["seats_assigned"][0]["value"] == 35


# -- tests ---------------------------------------------------------------------------------------
def test_a_legacy_lake_is_refused_with_the_command_that_converts_it(legacy_root: Path) -> None:
    with pytest.raises(LakeFormatError, match="lake migrate") as info:
        Lake.open(legacy_root)
    assert "previous layout" in str(info.value)
    assert json.loads((legacy_root / "_lake.json").read_text())["schema_version"] == 1


def test_migrate_keeps_every_row_and_every_metric(legacy_root: Path) -> None:
    staging = legacy_root / "_staging" / "4242-0123456789ab"
    staging.mkdir(parents=True)
    (staging / "0-simulator~x~0123456789abcdef.parquet").write_bytes(b"crashed writer")
    old_files = _fingerprint(legacy_root)
    progress: list[tuple[int, int]] = []

    report = migrate_lake(legacy_root, on_progress=lambda d, t: progress.append((d, t)))

    lake = Lake.open(legacy_root, create=False)
    assert lake.schema_version == SCHEMA_VERSION
    assert [t.table for t in report.tables] == list(TABLES)
    assert report.rows == {t: legacy_rows(FIXTURE, t).num_rows for t in TABLES}
    assert report.rows["suggestions"] == 4083 and report.legacy_files == len(old_files) == 38
    assert report.world == RUN_ID and report.world_recorded and not report.nothing_to_do
    assert progress[0] == (0, 38) and progress[-1] == (38, 38)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    lines = report.summary().splitlines()
    assert lines[TABLES.index("suggestions")].startswith("suggestions: 4,083 rows from 6 file(s)")
    assert lines[-1].startswith("total: 7,024 rows in 10 table(s) from 38 file(s)")

    assert_same_rows(lake)
    assert_same_metrics(lake)
    last = lake.history("suggestions")[0]
    assert (last.operation, last.rows_added, last.rows_removed) == ("migrate", 4083, 0)

    truth = load_truth(lake)
    legacy_truth = json.loads((FIXTURE / "_simulator" / "truth.json").read_text())
    assert truth["table_versions"] == {t: 1 for t in TABLES}
    assert {k: v for k, v in truth.items() if k != "table_versions"} == legacy_truth
    assert [w.run_id for w in lake.worlds()] == [RUN_ID]
    summary = {row.metric: row for row in summarize_simulation(lake)}
    rate = summary["acceptance rate by count"]
    assert rate.truth == legacy_truth["estimands"]["acceptance_rate_expected"]
    suggestions = legacy_rows(FIXTURE, "suggestions")
    ok = suggestions.filter(pc.equal(suggestions.column("status"), "ok"))
    accepted = pc.sum(pc.cast(ok.column("accepted"), pa.int64())).as_py()
    assert rate.measured == pytest.approx(accepted / ok.num_rows, rel=1e-12)

    for rel in old_files:
        assert not (legacy_root / rel).exists(), rel
    assert not (legacy_root / "_staging").exists()
    assert not list((legacy_root / "_simulator").glob("truth.part-*.json"))
    assert report.removed == 38 + 1 + 1  # legacy files, the staging leftover, the truth part


def test_cli_migrates_then_has_nothing_to_do(legacy_root: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["lake", "migrate", "--lake", str(legacy_root)])
    assert first.exit_code == 0, first.output
    assert "suggestions: 4,083 rows from 6 file(s) -> version 1" in first.stdout
    assert f"simulated world {RUN_ID} recorded" in first.stdout
    again = runner.invoke(app, ["lake", "migrate", "--lake", str(legacy_root)])
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == (
        f"{legacy_root} is already at schema version {SCHEMA_VERSION}: nothing to do"
    )


class Killed(BaseException):
    """Stands in for a SIGKILL: nothing after it runs."""


def test_interrupted_migration_leaves_a_legacy_lake_that_a_rerun_converts(
    legacy_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _fingerprint(legacy_root)
    commits: list[int] = []
    real_commit = migrate_module.commit_actions

    def commit_then_die(*args: Any, **kwargs: Any) -> int:
        version = real_commit(*args, **kwargs)
        commits.append(version)
        if len(commits) == 2:
            raise Killed
        return version

    monkeypatch.setattr(migrate_module, "commit_actions", commit_then_die)
    with pytest.raises(Killed):
        migrate_lake(legacy_root)
    monkeypatch.undo()

    assert (legacy_root / "developers" / "_delta_log").is_dir()  # two tables were converted
    assert (legacy_root / "team_members" / "_delta_log").is_dir()
    with pytest.raises(LakeFormatError, match="lake migrate"):
        Lake.open(legacy_root)
    after = _fingerprint(legacy_root)
    assert {rel: after.get(rel) for rel in before} == before  # the originals, untouched
    assert len(after) > len(before)  # beside the new files of the two tables
    # A writer killed in the middle of its file leaves a torn data file too.
    torn = legacy_root / "suggestions" / "day=2025-03-03" / "simulator~x~00000000deadbeef.parquet"
    torn.write_bytes(b"PAR1 cut short")

    report = migrate_lake(legacy_root)

    lake = Lake.open(legacy_root, create=False)
    assert report.rows == {t: legacy_rows(FIXTURE, t).num_rows for t in TABLES}
    assert_same_rows(lake)
    assert {t.table: t.version for t in report.tables} == {t: 1 for t in TABLES}
    assert [w.run_id for w in lake.worlds()] == [RUN_ID]
    assert not torn.exists()
    assert not any((legacy_root / rel).exists() for rel in before)
    assert lake.check() == []


def test_unreadable_legacy_file_stops_before_anything_changes(legacy_root: Path) -> None:
    victim = _legacy_files(legacy_root, "suggestions")[2]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    before = _fingerprint(legacy_root)

    with pytest.raises(LakeCorruptError) as info:
        migrate_lake(legacy_root)

    assert info.value.table == "suggestions"
    assert info.value.file == victim.relative_to(legacy_root / "suggestions").as_posix()
    assert "lake migrate" in str(info.value)
    assert json.loads((legacy_root / "_lake.json").read_text())["schema_version"] == 1
    assert _fingerprint(legacy_root) == before
    assert not list(legacy_root.glob("*/_delta_log"))


def test_crash_after_the_marker_leaves_a_readable_lake_and_a_rerun_cleans_up(
    legacy_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _fingerprint(legacy_root)

    def die(lake: Lake) -> int:
        raise Killed

    monkeypatch.setattr(migrate_module, "_finish_cleanup", die)
    with pytest.raises(Killed):
        migrate_lake(legacy_root)
    monkeypatch.undo()

    lake = Lake.open(legacy_root, create=False)  # converted: the old files are untracked now
    assert all((legacy_root / rel).exists() for rel in before)
    assert_same_rows(lake)
    assert lake.check() == []

    report = migrate_lake(legacy_root)

    assert report.nothing_to_do and report.tables == ()
    assert report.removed == 38 + 1  # the legacy files and the truth part
    assert not any((legacy_root / rel).exists() for rel in before)
    assert_same_rows(lake)


def test_a_truth_of_another_run_is_not_recorded_as_the_world(legacy_root: Path) -> None:
    truth_file = legacy_root / "_simulator" / "truth.json"
    truth = json.loads(truth_file.read_text())
    truth_file.write_text(json.dumps({**truth, "run_id": "sim-000000000000"}))

    report = migrate_lake(legacy_root)

    assert report.world is None and not report.world_recorded
    assert report.world_note is not None and RUN_ID in report.world_note
    assert "sim-000000000000" in report.world_note
    lake = Lake.open(legacy_root, create=False)
    assert lake.worlds() == []
    con = lake.snapshot(sources="all").connect()
    mismatched = con.execute(
        "SELECT count(*) FROM seats WHERE day <> CAST(ingested_at AT TIME ZONE 'UTC' AS DATE)"
    ).fetchone()
    assert mismatched == (0,)  # without a world, every seat is the snapshot of its ingest day
