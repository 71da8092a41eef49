"""Every command documents itself with an example (as sqlite-utils does)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from codex_metrics.cli.app import app

runner = CliRunner()


def all_commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(cmd: object, prefix: list[str]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])
        paths.append(prefix)

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help_with_an_example(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output, f"codex-metrics {' '.join(path)} --help has no Example:"
