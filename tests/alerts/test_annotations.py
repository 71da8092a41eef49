"""Annotations are written once, read by day, and never mark charts of another source."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codex_metrics.alerts import Annotation, add_annotations, list_annotations
from codex_metrics.cli.app import app
from codex_metrics.errors import ParameterError
from codex_metrics.lake import Lake

runner = CliRunner()


def test_annotate_writes_once_and_lists_by_day(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    args = ["annotate", "2025-03-17", "completion model v2 deployed", "--kind", "deploy",
            "--model", "v2", "--lake", str(lake.root)]  # fmt: skip
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    rows = list_annotations(lake.snapshot())
    assert [(r["day"], r["kind"], r["text"], r["model_version"]) for r in rows] == [
        (date(2025, 3, 17), "deploy", "completion model v2 deployed", "v2")
    ]
    assert list_annotations(lake.snapshot(), since=date(2025, 3, 18)) == []


def test_a_simulated_milestone_stays_off_real_charts(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    add_annotations(lake, [Annotation(date(2025, 3, 3), "sim deploy", "deploy")],
                    source="simulator", scope="world")  # fmt: skip
    assert [r["text"] for r in list_annotations(lake.snapshot(sources="simulator"))] == [
        "sim deploy"
    ]
    assert list_annotations(lake.snapshot(sources="codex-otel")) == []


def test_bad_annotations_are_refused_with_the_field() -> None:
    with pytest.raises(ParameterError, match="--kind"):
        Annotation(date(2025, 3, 3), "x", "launch")
    with pytest.raises(ParameterError, match="--end"):
        Annotation(date(2025, 3, 3), "x", "rollout", end_day=date(2025, 3, 1))
    result = runner.invoke(app, ["annotate", "yesterday", "x"])
    assert result.exit_code == 2 and "DAY" in result.output
