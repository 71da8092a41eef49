"""Generated docs are committed up to date."""

from __future__ import annotations

from pathlib import Path

from codex_metrics.lake.schema_docs import render_schema_markdown
from codex_metrics.telemetry.simulator_docs import render_simulator_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_schema_doc_is_fresh() -> None:
    assert (DOCS / "schema.md").read_text() == render_schema_markdown(), (
        "run: codex-metrics lake docs"
    )


def test_simulator_doc_is_fresh() -> None:
    assert (DOCS / "simulator.md").read_text() == render_simulator_markdown(), (
        "run: codex-metrics lake docs"
    )
