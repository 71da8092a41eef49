"""The simulate command: clear one-line errors that name the field, nothing written; a sample CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app, main
from codex_metrics.lake.tables_telemetry import SUGGESTIONS

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "--scenario: unknown scenario 'nope'; choose one of baseline"),
        (["--developers", "-5"], "--developers: must be at least 1"),
        (["--days", "0"], "--days: must be at least 1"),
        (
            ["--scenario", "ab_test", "--set", "ab.lift_acceptance=5"],
            "ab.lift_acceptance: 5.0 is outside its range [-2, 2]",
        ),
        (
            ["--set", "ab.lift_acceptance=0.1"],
            "ab.lift_acceptance: unknown parameter for scenario baseline (it belongs to another scenario)",
        ),
        (["--set", "no.such.key=1"], "no.such.key: unknown parameter for scenario baseline"),
        (["--set", "latency.sigma=fast"], "latency.sigma: 'fast' is not a number"),
        (["--set", "oops"], "--set: 'oops' is not key=value"),
        (["--start", "yesterday"], "--start: 'yesterday' is not a date"),
        (["--partition", "3/3"], "--partition: '3/3': need 0 <= i < n"),
    ],
)
def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    lake = tmp_path / "lake"
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--lake", str(lake), "--developers", "10", "--days", "2", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not lake.exists()


def test_lake_under_a_regular_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--lake", str(blocker / "lake"), "--developers", "5", "--days", "1"])
    assert exit_info.value.code == 2
    assert "is under a regular file" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_simulate_writes_lake_truth_and_sample_csv(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--lake",
            str(tmp_path / "lake"),
            "--developers",
            "60",
            "--days",
            "3",
            "--sample-csv",
            str(sample),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "suggestion events" in result.output and "truth.json" in result.output
    with sample.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1000
    assert set(SUGGESTIONS.column_names) | {"day"} == set(rows[0])
    summary = runner.invoke(app, ["summary", "--lake", str(tmp_path / "lake")])
    assert summary.exit_code == 0, summary.output
    assert "acceptance rate by count" in summary.output


def test_params_file_overrides(tmp_path: Path) -> None:
    params = tmp_path / "p.toml"
    params.write_text("[ab]\nlift_acceptance = 7\n")
    result = runner.invoke(
        app,
        [
            "simulate",
            "--lake",
            str(tmp_path / "lake"),
            "--scenario",
            "ab_test",
            "--params",
            str(params),
        ],
    )
    assert result.exit_code != 0
    assert "ab.lift_acceptance: 7.0 is outside its range" in str(result.exception) + result.output
