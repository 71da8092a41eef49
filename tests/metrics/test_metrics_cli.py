"""``codex-metrics metrics``: a thin shell that prints the envelope in three formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app, main
from codex_metrics.lake import Lake

from .conftest import MONDAY, write

runner = CliRunner()


@pytest.fixture()
def small_lake(lake: Lake) -> Lake:
    write(
        lake,
        "suggestions",
        [
            {"developer_id": "dev-a", "day": MONDAY, "accepted": i == 0, "language": lang}
            for i, lang in enumerate(["python", "python", "go", "go"])
        ],
    )
    return lake


@pytest.mark.parametrize(
    "command", [["metrics"], ["metrics", "list"], ["metrics", "show"], ["metrics", "docs"]]
)
def test_help_has_an_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_list_json_has_the_whole_catalogue() -> None:
    result = runner.invoke(app, ["metrics", "list", "--format", "json"])
    assert result.exit_code == 0
    entries = {e["name"]: e for e in json.loads(result.output)}
    assert (
        entries["acceptance_rate_by_count"]["denominator"]
        == "count of shown suggestions (status = 'ok')"
    )
    assert len(entries) >= 50


def test_show_json_is_the_envelope(small_lake: Lake) -> None:
    result = runner.invoke(
        app,
        [
            "metrics",
            "show",
            "acceptance_rate_by_count",
            "--lake",
            str(small_lake.root),
            "--by",
            "language",
            "--format",
            "json",
            "--since",
            "2025-03-02",
            "--min-group-size",  # hand-made rows are a real source: 5 would withhold them
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == {
        "metric", "status", "reason", "query", "rows", "gaps", "partial_periods", "metadata"
    }  # fmt: skip
    assert doc["gaps"] == ["2025-03-02"]
    assert doc["metadata"]["engine"] == "duckdb"
    snap = doc["metadata"]["lake_snapshot"]
    assert snap["versions"] == {"suggestions": 1} and len(snap["hash"]) == 12
    assert doc["metadata"]["sources"] == ["test"]
    values = {r["language"]: r["value"] for r in doc["rows"] if r["null_reason"] is None}
    assert values == {"go": 0.0, "python": 0.5}


def test_show_csv_carries_null_reason_and_writes_output(small_lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "rate.csv"
    result = runner.invoke(
        app,
        [
            "metrics",
            "show",
            "acceptance_rate_by_count",
            "--lake",
            str(small_lake.root),
            "--format",
            "csv",
            "--output",
            str(out),
            "--filter",
            "language=go",
            "--min-group-size",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        "period,numerator,denominator,value,null_reason",
        "2025-03-03,0.0,2.0,0.0,",
    ]


def test_show_table_mentions_formula_and_gaps(small_lake: Lake) -> None:
    result = runner.invoke(
        app, ["metrics", "show", "latency_p90_ms", "--lake", str(small_lake.root)]
    )
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # rich wraps to the terminal width
    assert "exact quantile 0.9" in text and "gaps (days without data): none" in text


def test_bad_dimension_is_one_line_and_exit_2(
    small_lake: Lake, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "metrics",
                "show",
                "acceptance_rate_by_count",
                "--lake",
                str(small_lake.root),
                "--by",
                "colour",
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be sliced by 'colour'" in err


def test_docs_command_writes_the_catalogue(tmp_path: Path) -> None:
    out = tmp_path / "metrics.md"
    result = runner.invoke(app, ["metrics", "docs", "--output", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("# Metric catalogue")
