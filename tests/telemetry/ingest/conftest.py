"""Fixtures for the ingest tests: the recorded Copilot files, the synthetic ones, a CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
COPILOT = SHARED / "fixtures" / "copilot-metrics"
NEW_API = COPILOT / "new-api"
SYNTHETIC = Path(__file__).resolve().parent / "fixtures"
USERS_28 = NEW_API / "organization-users-28-day-report.json"
ORG_28 = NEW_API / "organization-28-day-report.json"
TEAMS = COPILOT / "more" / "organization-user-teams-1-day-report.json"
SEATS = COPILOT / "organization_seats_response_sample.json"
LEGACY = COPILOT / "organization_metrics_response_sample.json"
CODEX = SYNTHETIC / "codex-otel-synthetic-export.json"
CODEX_BATCHES = SYNTHETIC / "codex-otel-synthetic-batches.ndjson"
SURVEY = SYNTHETIC / "survey-synthetic.csv"
ROSTER = SYNTHETIC / "developers-synthetic.csv"
SURVEY_MAP = {
    "Email Address": "developer",
    "Overall, how satisfied are you with Copilot?": "satisfaction",
    "How likely are you to recommend Copilot to a colleague? (0-10)": "nps",
    "It makes me more productive": "perceived_productivity",
    "It helps me stay in the flow": "flow",
    "It is easy to use": "ease_of_use",
    "I trust the code it suggests": "trust",
    "It frustrates me": "frustration",
}

# The recorded files live beside the clone (../shared); CI has them and must not skip.
requires_shared = pytest.mark.skipif(
    not NEW_API.is_dir() and not os.environ.get("CI"),
    reason=f"recorded Copilot reports not found under {NEW_API}",
)
runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``codex-metrics`` in process: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ingest(lake: Path, command: str, *files: Path | str, extra: tuple[str, ...] = ()) -> Any:
    """``codex-metrics ingest COMMAND FILES --lake LAKE --format json``: the reports."""
    code, out, err = cli("ingest", command, *map(str, files), "--lake", str(lake),
                         "--format", "json", *extra)  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def show(lake: Path, metric: str, *args: str) -> dict[str, Any]:
    """``metrics show METRIC --format json`` (all groups shown unless args say otherwise)."""
    group = () if "--min-group-size" in args else ("--min-group-size", "0")
    code, out, err = cli("metrics", "show", metric, "--lake", str(lake), "--format", "json",
                         *group, *args)  # fmt: skip
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def values(doc: dict[str, Any], key: str = "value") -> list[Any]:
    return [r[key] for r in doc["rows"]]


def user_rows(path: Path = USERS_28) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(path.read_text())["day_totals"]
    return rows


def write_ndjson(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
