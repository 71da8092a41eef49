"""``codex-metrics productivity`` writes its report and publishes to analysis_results."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from codex_metrics.analysis.productivity import latest_results, publish_results
from codex_metrics.cli.app import app
from codex_metrics.lake import Lake

runner = CliRunner()


def test_productivity_json_and_html(rollout_world: Lake, tmp_path: Path) -> None:
    target = tmp_path / "out" / "p.json"
    result = runner.invoke(
        app,
        ["productivity", "--lake", str(rollout_world.root), "--format", "json",
         "--model-rows", "20000", "--output", str(target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(target.read_text())
    rows = doc["rows"]
    assert {"estimate", "ci_low", "ci_high", "estimand", "method", "status", "truth"} <= set(
        rows[0]
    )
    keys = [(r["estimand"], r["method"], r["subgroup"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert doc["metadata"]["lake_snapshot"]["versions"]["tasks"] >= 0
    assert "acceptance_model_sample" in doc["metadata"]["samples"]
    published = latest_results(rollout_world)
    assert len(published) == len(rows)
    att = next(r for r in published if (r["estimand"], r["method"]) == ("att_log_duration", "aipw"))
    assert att["truth"] is not None and att["ci_low"] < att["estimate"] < att["ci_high"]

    html_target = tmp_path / "p.html"
    result = runner.invoke(
        app,
        ["productivity", "--lake", str(rollout_world.root), "--no-publish",
         "--model-rows", "20000", "--output", str(html_target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    page = html_target.read_text()
    assert "plotly" in page.lower() and "Every estimate" in page and "callaway_santanna" in page


def test_bad_format_is_a_usage_error(rollout_world: Lake) -> None:
    result = runner.invoke(
        app, ["productivity", "--lake", str(rollout_world.root), "--format", "pdf"]
    )
    assert result.exit_code == 2
    assert "--format" in result.stderr


def test_latest_results_reads_the_newest_run(rollout_world: Lake, rollout_report) -> None:
    publish_results(rollout_world, rollout_report)
    records = latest_results(rollout_world)
    assert {r["analysis_run_id"] for r in records} == {rollout_report.run_id}
    assert len(records) == len(rollout_report.estimates)
