"""The Community page over collected data, and adding a repository from the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from codex_metrics.dashboard import APP_FILE
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric
from tests.collectors.fake_github import FakeGitHub, Server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
REPO = "PyGithub/PyGithub"


def _community(monkeypatch: pytest.MonkeyPatch, lake: Path, config: str = "") -> AppTest:
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(lake))
    (Path.cwd() / "codex-metrics.toml").write_text(config)
    at = AppTest.from_file(str(APP_FILE), default_timeout=120).run()
    at.switch_page("app_pages/community.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_add_a_repository_then_see_its_star_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "lake"
    Lake.open(root)
    with Server(FakeGitHub()) as server:
        config = f'[github]\napi_url = "{server.url}"\n'
        # No credentials: the page says how to add them and offers no form.
        at = _community(monkeypatch, root, config)
        assert not at.text_input
        assert any("GITHUB_TOKEN" in i.value for i in at.info)
        # A token, but this viewer is not allowed to start collections.
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_dashboard_test")
        at = _community(monkeypatch, root, config)
        assert not at.text_input
        assert any("collect_viewers" in i.value for i in at.info)
        # Allowed: the form runs the collector against the (local) API, then the lake has data.
        config += '[dashboard]\ncollect_viewers = ["localhost"]\n'
        at = _community(monkeypatch, root, config)
        at.text_input[0].input(REPO)
        at.button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.success and at.success[0].value.startswith(REPO)
    at = _community(monkeypatch, root, config)
    titles = [s.value for s in at.subheader]
    assert "Star history" in titles and "Open issues" in titles
    stars = compute_metric("stars_total", Lake.open(root).snapshot(), grain="day", by=["repo"])
    last = [r for r in stars.records() if r["value"] is not None][-1]
    assert last["repo"] == REPO and last["value"] > 0
    names = {
        t.get("name") for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]
    }
    assert REPO in names  # one line per repository
