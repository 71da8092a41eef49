"""One way to use it: shared options, exit codes, helpful failures, fast start (issue 10)."""

from __future__ import annotations

import ast
import csv
import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from codex_metrics.cli.app import app, main
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate

runner = CliRunner()
CLI = Path(__file__).resolve().parents[2] / "src" / "codex_metrics" / "cli"
HEAVY = ("duckdb", "ibis", "pandas", "pyarrow", "pyspark", "statsmodels", "sklearn", "deltalake")


@pytest.fixture(scope="module")
def ab_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = Lake.open(tmp_path_factory.mktemp("conv") / "lake")
    simulate(lake, build_config("ab_test", developers=240, days=10, seed=2,
                                overrides={"ab.pre_days": 3}))  # fmt: skip
    return lake.root


def run(*args: str) -> tuple[int, str, str]:
    """The real entry point in process: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_output_into_a_missing_folder_is_created(ab_lake: Path, tmp_path: Path) -> None:
    lake = str(ab_lake)
    cases = [
        (["ab", "analyze", "exp-model-b-vs-a", "--lake", lake, "--no-slices"], "a.md"),
        (["metrics", "show", "requests_served", "--lake", lake, "--format", "csv"], "m.csv"),
        (["metrics", "list", "--format", "table"], "list.txt"),
        (["lake", "info", "--lake", lake, "--format", "json"], "info.json"),
        (["summary", "--lake", lake], "summary.txt"),
    ]
    for args, name in cases:
        target = tmp_path / "new" / "deeper" / name
        code, out, err = run(*args, "--output", str(target))
        assert code == 0, (args, err)
        assert target.is_file() and target.stat().st_size > 0, args
        assert f"wrote {target}" in err
    assert "acceptance_rate_by_count" in (tmp_path / "new" / "deeper" / "list.txt").read_text()


def test_every_advertised_format_works(ab_lake: Path) -> None:
    lake = str(ab_lake)
    for args in (
        ["lake", "info", "--lake", lake],
        ["lake", "history", "suggestions", "--lake", lake],
        ["ab", "list", "--lake", lake],
        ["metrics", "list"],
        ["metrics", "show", "acceptance_rate_by_count", "--lake", lake, "--grain", "week"],
        ["summary", "--lake", lake],
    ):
        for fmt in ("table", "csv", "json"):
            code, out, err = run(*args, "--format", fmt)
            assert code == 0, (args, fmt, err)
            if fmt == "json":
                json.loads(out)
            if fmt == "csv":
                rows = list(csv.reader(io.StringIO(out)))
                assert len(rows) >= 2 and len({len(r) for r in rows}) == 1, (args, out[:200])


def test_csv_goes_through_the_csv_module() -> None:
    code, out, _ = run("metrics", "list", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    by_name = {r["name"]: r for r in rows}
    described = by_name["acceptance_rate_by_count"]["description"]
    assert "," in described or described  # commas inside a cell stay in the cell
    assert not described.startswith('"')  # not JSON-quoted


def test_flags_are_flags_and_help_version_short_options() -> None:
    code, out, _ = run("ab", "analyze", "-h")
    assert code == 0 and "--sequential" in out and "--no-sequential" in out
    assert "<bool>" not in out and "BOOLEAN" not in out
    code, out, _ = run("--version")
    assert code == 0 and out.startswith("codex-metrics ")
    code, out, _ = run("-h")
    assert code == 0 and "metrics" in out


def test_metric_names_are_never_cut_at_80_columns() -> None:
    from codex_metrics.cli.metrics import _LIST_COLUMNS
    from codex_metrics.metrics import catalogue_index

    code, out, _ = run("metrics", "list")
    assert code == 0
    rows = [{c: e[c] for c in _LIST_COLUMNS} for e in catalogue_index()]
    import codex_metrics.cli.metrics as cmd

    buf = io.StringIO()
    table = cmd._catalogue_table(rows)
    Console(file=buf, width=80).print(table)
    text = buf.getvalue()
    assert "…" not in text.split("description")[0]
    for r in rows:
        assert r["name"] in text, r["name"]


def test_misspelled_filter_value_and_family_say_what_was_meant(ab_lake: Path) -> None:
    code, out, err = run("metrics", "show", "acceptance_rate_by_count", "--lake", str(ab_lake),
                         "--filter", "language=pyhton")  # fmt: skip
    assert code == 2
    assert "language=pyhton" in err and "did you mean 'python'" in err
    assert err.count("\n") == 1
    code, out, err = run("metrics", "list", "--family", "qualty")
    assert code == 2 and "did you mean 'quality'" in err


def test_an_empty_answer_says_why_and_what_fills_it(ab_lake: Path, tmp_path: Path) -> None:
    code, out, err = run("metrics", "show", "requests_served", "--lake", str(ab_lake),
                         "--since", "2030-01-01", "--format", "json")  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "empty" and "no suggestions data between 2030-01-01" in doc["reason"]
    empty = Lake.open(tmp_path / "empty")
    code, out, err = run("metrics", "show", "eval_pass_rate", "--lake", str(empty.root))
    assert code == 0
    assert "eval_results table has no rows" in out and "codex-metrics eval run" in out


def test_simulate_refuses_to_replace_an_experiment_without_replace(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    args = ["simulate", "--lake", str(lake), "--developers", "30", "--days", "9"]
    assert run(*args, "--scenario", "ab_test", "--set", "ab.pre_days=3")[0] == 0
    code, out, err = run(*args)
    assert code == 2
    assert "experiment exp-model-b-vs-a" in err and "--replace" in err
    truth_before = (lake / "_simulator" / "truth.json").read_text()
    assert (lake / "_simulator" / "truth.json").read_text() == truth_before
    assert run(*args, "--replace")[0] == 0


def test_partitions_of_a_small_world_all_get_work(tmp_path: Path) -> None:
    from codex_metrics.telemetry.simulator import _blocks_of, block_size_for

    cfg = build_config("baseline", developers=2500, days=2, seed=1)
    size = block_size_for(cfg.developers)
    shares = [_blocks_of(cfg, size, (i, 4)) for i in range(4)]
    assert all(shares) and max(map(len, shares)) - min(map(len, shares)) <= 1
    with pytest.raises(Exception, match="use at most"):
        _blocks_of(build_config("baseline", developers=300, days=2, seed=1), 256, (0, 4))


def test_generate_fails_fast_naming_the_url_when_nothing_listens(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    config = tmp_path / "codex-metrics.toml"
    config.write_text(f'[openai]\nbase_url = "http://127.0.0.1:{port}/v1"\nmodel = "m"\n')
    started = time.monotonic()
    code, out, err = run("--config", str(config), "eval", "generate", "--tasks", "builtin",
                         "--output", str(tmp_path / "s.jsonl"))  # fmt: skip
    assert time.monotonic() - started < 10
    assert code == 2 and f"http://127.0.0.1:{port}/v1" in err and "cannot reach" in err


def test_help_and_metrics_list_load_no_data_library() -> None:
    code = (
        "import sys\n"
        "from codex_metrics.cli.app import main\n"
        "for argv in (['--help'], ['metrics', 'list'], ['ab', '-h']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_cli_modules_import_no_data_library_at_module_level() -> None:
    for path in CLI.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                for name in names:
                    top = name.split(".")[0]
                    assert top not in HEAVY, f"{path.name} imports {name} at module level"
                    assert not name.startswith(("codex_metrics.lake", "codex_metrics.metrics",
                                                "codex_metrics.experiments",
                                                "codex_metrics.evaluation",
                                                "codex_metrics.telemetry")), (path.name, name)  # fmt: skip


def test_one_emit_no_unclosed_consoles() -> None:
    sources = {p.name: p.read_text() for p in CLI.glob("*.py")}
    assert [n for n, s in sources.items() if "def _emit" in s] == []
    assert [n for n, s in sources.items() if '.open("w"' in s or ".open('w'" in s] == []


@pytest.mark.spark
@pytest.mark.slow
def test_spark_keeps_the_jvm_quiet_unless_verbose(ab_lake: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from codex_metrics.cli.app import main; main()", "metrics",
         "show", "requests_served", "--grain", "all", "--engine", "spark", "--lake", str(ab_lake)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "", out.stderr[:500]


def test_exit_codes_are_documented() -> None:
    from codex_metrics.cli.exit_codes import ExitCode

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in text


def test_every_command_takes_output_when_it_writes(ab_lake: Path) -> None:
    root = typer.main.get_command(app)
    missing = []
    for group_name, group in root.commands.items():
        for name, command in getattr(group, "commands", {group_name: group}).items():
            params = {o for p in command.params for o in getattr(p, "opts", [])}
            if "--format" in params and "--output" not in params:
                missing.append(f"{group_name} {name}")
    assert missing == []


def test_main_keeps_library_errors_to_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["metrics", "show", "no_such_metric"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_metric" in err
