"""The Overview lists the open alerts that `codex-metrics alerts check` fired."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from codex_metrics.cli.app import app
from codex_metrics.dashboard import APP_FILE
from codex_metrics.lake import Lake

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TARGET = """
[[alerts.targets]]
name = "p90-completions"
metric = "latency_p90_ms"
kind = "threshold"
max = 100
"""


def test_open_alerts_on_the_overview(
    dash_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(dash_lake.root, root)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(root))
    at = AppTest.from_file(str(APP_FILE), default_timeout=120).run()
    assert not at.error and any("No open alert" in c.value for c in at.caption)
    (tmp_path / "codex-metrics.toml").write_text(TARGET)
    runner = CliRunner()
    fired = runner.invoke(app, ["alerts", "check", "--since", "2025-04-07", "--lake", str(root)])
    assert fired.exit_code == 1, fired.output  # an alert fired (P90 is far above 100 ms)
    listed = runner.invoke(
        app, ["alerts", "list", "--open", "--lake", str(root), "--format", "json"]
    )
    expected = json.loads(listed.stdout)
    assert expected
    at = AppTest.from_file(str(APP_FILE), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == min(10, len(expected))
    assert all("latency_p90_ms" in e.value for e in at.error)
    table = next(d.value for d in at.dataframe if "rule" in d.value.columns)
    assert list(table["metric"]) == [a["metric"] for a in expected]
    assert list(table["observed"]) == pytest.approx([a["observed"] for a in expected])
