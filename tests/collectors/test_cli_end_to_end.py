"""The collect commands end to end against local HTTP servers replaying the recordings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app
from codex_metrics.lake import Lake

from .fake_copilot import FakeCopilot
from .fake_github import FakeGitHub, Server
from .fake_stackexchange import FakeStackExchange, synthetic_questions
from .test_github_collect import cloned_issues

runner = CliRunner()
DAY1, DAY2 = "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"
TABLES = ("repo_snapshots", "star_history", "issues", "issue_comments")
# One pseudonym key for every lake of a test, so their rows can be compared.
ENV = {"GITHUB_TOKEN": "ghp_e2e_token", "CODEX_METRICS_PSEUDONYM_KEY": "e2e-key-" + "k" * 32}


def world() -> FakeGitHub:
    fake = FakeGitHub()
    fake.history = (fake.history or [])[:8]
    fake.issues += cloned_issues(230, __import__("datetime").datetime(2026, 3, 1))
    return fake


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    result = runner.invoke(app, [*args, "--format", "json"], env={**ENV, **(env or {})})
    try:
        out = json.loads(result.stdout)
    except ValueError:
        out = result.stdout
    return result.exit_code, out, result.stderr


def collect(url: str, lake: Path, now: str, *extra: str) -> tuple[int, Any, str]:
    return cli("collect", "github", "PyGithub/PyGithub", "--api-url", url, "--lake", str(lake),
               "--now", now, *extra)  # fmt: skip


def contents(lake: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = Lake.open(lake).connect(sources="all")
    return {
        t: con.execute(f"SELECT * EXCLUDE (ingested_at) FROM {t} ORDER BY ALL").fetchall()
        for t in TABLES
    }


def test_a_first_run_then_a_next_day_run_of_304s(tmp_path: Path) -> None:
    fake = world()
    with Server(fake) as server:
        code, first, _ = collect(server.url, tmp_path / "lake", DAY1)
        assert code == 0 and first[0]["status"] == "ok"
        # repo, 3 issue pages, comments, review comments, one history page
        assert (first[0]["requests"], first[0]["not_modified"]) == (7, 0)
        before = fake.remaining
        seen = len(fake.statuses)
        code, second, _ = collect(server.url, tmp_path / "lake", DAY2)
    assert code == 0 and fake.statuses[seen:] == [304] * 5 and fake.remaining == before
    assert (second[0]["requests"], second[0]["not_modified"], second[0]["rate_limit_points"]) == (
        5, 5, 0)  # fmt: skip
    con = Lake.open(tmp_path / "lake").connect(sources="all")
    assert con.execute("SELECT count(DISTINCT day), count(*) FROM repo_snapshots").fetchall() == [
        (2, 2)
    ]
    runs = con.execute("SELECT status, requests_used, requests_not_modified FROM source_runs "
                       "ORDER BY started_at").fetchall()  # fmt: skip
    assert runs == [("ok", 7, 0), ("ok", 0, 5)]


def test_an_interrupted_run_run_again_ends_with_the_same_rows(tmp_path: Path) -> None:
    with Server(world()) as server:
        assert collect(server.url, tmp_path / "whole", DAY1)[0] == 0
    with Server(world()) as server:
        code, out, err = collect(server.url, tmp_path / "parts", DAY1, "--max-requests", "3")
        assert code == 3 and out[0]["status"] == "partial"
        assert "request budget of 3 spent" in err and "next run continues" in err
        assert collect(server.url, tmp_path / "parts", DAY1)[0] == 0
    assert contents(tmp_path / "parts") == contents(tmp_path / "whole")


def test_a_killed_run_run_again_ends_with_the_same_rows(tmp_path: Path) -> None:
    with Server(world()) as server:
        assert collect(server.url, tmp_path / "whole", DAY1)[0] == 0
    fake = world()
    reached, release = threading.Event(), threading.Event()

    def hang(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("/pulls/comments") and not release.is_set():
            reached.set()  # the issues and comments are committed: kill the process here
            release.wait(30)
            return httpx.Response(500, request=request)
        return None

    fake.faults.append(hang)
    with Server(fake) as server:
        args = ["collect", "github", "PyGithub/PyGithub", "--api-url", server.url, "--lake",
                str(tmp_path / "parts"), "--now", DAY1]  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-c", "from codex_metrics.cli.app import main; main()", *args],
            env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert reached.wait(60), proc.stderr.read() if proc.stderr else ""
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            release.set()
        cache = json.loads(next((tmp_path / "parts").rglob("http-cache/github/*.json")).read_text())
        assert "review_comments" not in cache["state"]  # nothing claims what was never committed
        assert collect(server.url, tmp_path / "parts", DAY1)[0] == 0
    assert contents(tmp_path / "parts") == contents(tmp_path / "whole")


def test_collect_all_runs_every_target_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "codex-metrics.toml"
    config.write_text(
        '[collect]\nrepos = ["PyGithub/PyGithub"]\nstackoverflow_tags = ["github-copilot"]\n'
        'copilot_orgs = ["acme"]\necosystem = true\n\n[[collect.ecosystem_queries]]\n'
        'name = "repos_agents_md"\nkind = "repositories"\nq = "AGENTS.md in:readme"\n'
    )
    fake = world()
    copilot = FakeCopilot()
    fake.extra.update(copilot.routes())
    fake.extra["/search/"] = lambda r: httpx.Response(
        200, json={"total_count": 4321, "incomplete_results": False, "items": []}, request=r
    )
    stack = FakeStackExchange(synthetic_questions({"2026-10": 2, "2026-11": 1}))
    with Server(fake) as gh, Server(stack) as se:
        copilot.storage = f"{gh.url}/copilot-reports"  # a real second host needs DNS
        code, out, err = cli("--config", str(config), "collect", "all", "--api-url", gh.url,
                             "--stackexchange-url", f"{se.url}/2.3", "--lake",
                             str(tmp_path / "lake"), "--now", DAY1)  # fmt: skip
    assert code == 0, err
    assert [(r["source"], r["scope"], r["status"]) for r in out] == [
        ("github", "pygithub/pygithub", "ok"),
        ("github", "github-search", "ok"),
        ("stackexchange", "github-copilot", "ok"),
        ("copilot-report", "org/acme", "ok"),
    ]
    con = Lake.open(tmp_path / "lake").connect(sources="all")
    invocations = con.execute(
        "SELECT count(DISTINCT invocation_id) FROM source_runs WHERE run_kind = 'collect'"
    ).fetchall()
    assert invocations == [(1,)]
    assert con.execute("SELECT total_count FROM ecosystem_counts").fetchall() == [(4321,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collect", "github", "not-a-repo"], "write it as owner/name"),
        (["collect", "copilot"], "give exactly one of --org ORG or --enterprise ENT"),
        (["collect", "all"], "[collect] names no target"),
    ],
)
def test_bad_arguments_fail_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, "--lake", str(tmp_path / "lake")], env=ENV)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
