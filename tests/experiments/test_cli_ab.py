from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app, main

from .simulated import SMALL, make_lake

runner = CliRunner()


@pytest.fixture(scope="module")
def lake_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "lake"
    make_lake(root, developers=300, days=10, seed=4, overrides=SMALL)
    return str(root)


@pytest.mark.parametrize("command", ["list", "analyze", "power", "aa-check"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, ["ab", command, "--help"])
    assert result.exit_code == 0 and "Example: codex-metrics ab " in result.output


def test_list_json(lake_path):
    result = runner.invoke(app, ["ab", "list", "--lake", lake_path, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["experiment_id"] == "exp-model-b-vs-a"
    assert rows[0]["guardrails"] == {
        "latency_mean_ms": 0.05,
        "latency_p90_ms": 0.05,
        "error_rate": 0.1,
    }
    assert rows[0]["metric_filters"] == {
        "latency_p90_ms": [{"dimension": "feature", "value": "code_completion"}]
    }


def test_list_shows_one_sided_margins(lake_path):
    """Non-inferiority margins are one-sided: the table must not print them as ±."""
    result = runner.invoke(app, ["ab", "list", "--lake", lake_path, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "±" not in result.output
    assert "latency_mean_ms (may worsen by at most 5%)" in result.output


def test_analyze_json_and_html_output(lake_path, tmp_path):
    result = runner.invoke(
        app,
        [
            "ab",
            "analyze",
            "exp-model-b-vs-a",
            "--lake",
            lake_path,
            "--format",
            "json",
            "--no-slices",
            "--metric",
            "acceptance_rate_by_count",
            "--metric",
            "latency_mean_ms",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [m["metric"] for m in doc["metrics"]] == ["acceptance_rate_by_count", "latency_mean_ms"]
    assert doc["verdict"]["decision"] in ("ship", "inconclusive", "don't ship")
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "ab",
            "analyze",
            "exp-model-b-vs-a",
            "--lake",
            lake_path,
            "--format",
            "html",
            "--sequential",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "plotly-graph-div" in page and "Experiment exp-model-b-vs-a" in page


def test_sequential_with_fieller_is_refused_not_silently_ignored(lake_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(
            ["ab", "analyze", "exp-model-b-vs-a", "--lake", lake_path, "--sequential", "--fieller"]
        )
    assert exc.value.code == 2
    assert "--fieller: cannot be combined with --sequential" in capsys.readouterr().err


def test_markdown_is_the_default(lake_path):
    result = runner.invoke(
        app, ["ab", "analyze", "exp-model-b-vs-a", "--lake", lake_path, "--no-slices"]
    )
    assert result.exit_code == 0 and result.output.startswith("# Experiment exp-model-b-vs-a")
    assert "**Verdict:" in result.output


def test_power_and_aa_check(lake_path):
    result = runner.invoke(
        app, ["ab", "power", "--lake", lake_path, "--mde", "0.05", "--power", "0.9"]
    )
    assert result.exit_code == 0, result.output
    assert "developers in total give power 0.900" in result.output
    result = runner.invoke(
        app, ["ab", "power", "--lake", lake_path, "--mde", "0.05", "--developers", "1000"]
    )
    assert result.exit_code == 0 and "1,000 developers in total" in result.output
    result = runner.invoke(app, ["ab", "aa-check", "--lake", lake_path, "--replicates", "500"])
    assert result.exit_code == 0, result.output
    assert (
        "delta-method false-positive rate" in result.output
        and "naive per-suggestion" in result.output
    )


def test_errors_are_one_line_and_exit_2(lake_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ab", "analyze", "nope", "--lake", lake_path])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: experiment 'nope' not found") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["ab", "analyze", "exp-model-b-vs-a", "--lake", lake_path, "--format", "pdf"])
    assert exc.value.code == 2
