"""Generated docs (and the catalogue index) are committed up to date: `codex-metrics docs`."""

from __future__ import annotations

from pathlib import Path

from codex_metrics.cli.app import app
from codex_metrics.cli.reference import render_cli_markdown
from codex_metrics.lake.schema_docs import render_schema_markdown
from codex_metrics.metrics import render_metrics_markdown
from codex_metrics.metrics.index import INDEX_FILE, render_catalogue_index
from codex_metrics.telemetry.simulator_docs import render_simulator_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"
FIX = "run: codex-metrics docs"


def test_schema_doc_is_fresh() -> None:
    assert (DOCS / "schema.md").read_text() == render_schema_markdown(), FIX


def test_simulator_doc_is_fresh() -> None:
    assert (DOCS / "simulator.md").read_text() == render_simulator_markdown(), FIX


def test_cli_reference_is_fresh() -> None:
    assert (DOCS / "cli.md").read_text() == render_cli_markdown(app), FIX


def test_metrics_doc_and_catalogue_index_are_fresh() -> None:
    assert (DOCS / "metrics.md").read_text() == render_metrics_markdown(), FIX
    assert INDEX_FILE.read_text() == render_catalogue_index(), FIX


def test_every_command_is_in_the_reference() -> None:
    import typer

    text = (DOCS / "cli.md").read_text()
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        assert f"## `codex-metrics {name}`" in text
        for sub in getattr(command, "commands", {}):
            assert f"## `codex-metrics {name} {sub}`" in text
