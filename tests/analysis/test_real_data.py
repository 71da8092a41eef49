"""The adoption DiD on real data: Copilot per-user reports, a roster and collected PRs.

The lake is built through the real code paths: ``ingest copilot-report`` on per-user NDJSON
in GitHub's shape, ``ingest developers`` on a roster CSV, and ``collect github`` against the
fake GitHub server, with the lake's own pseudonym key. The world plants a known effect: log PR
cycle time = 3 + author effect + week effect − 0.3 after adoption + noise, with three adoption
cohorts (weeks 4, 7, 10) of slower-than-average authors and a quarter who never adopt.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.pr_cycle_time import ESTIMAND, pr_cycle_time_panel
from codex_metrics.analysis.productivity import (
    ASSUMPTIONS,
    ProductivityReport,
    latest_results,
    run_productivity,
)
from codex_metrics.analysis.report_html import render_productivity_html, render_productivity_json
from codex_metrics.analysis.status import AnalysisStatus
from codex_metrics.cli.app import app
from codex_metrics.lake import Lake
from codex_metrics.privacy import KEY_FILE, pseudonymise
from tests.collectors.fake_github import FakeGitHub, Server, recorded_issues
from tests.conftest import simulated_lake
from tests.telemetry.ingest.conftest import requires_shared, user_rows, write_ndjson

pytestmark = requires_shared

runner = CliRunner()
START = date(2026, 1, 5)  # a Monday: week 0
WEEKS = 16
EFFECT = -0.3
NOW = "2026-05-15T00:00:00Z"
COHORTS = {4: range(30), 7: range(30, 60), 10: range(60, 90)}
AUTHORS = 180  # 90-179 never adopt: 90-139 have a seat, 140-179 only the roster


@dataclass
class World:
    """What the sources say: PRs, Copilot usage per user and day, the roster."""

    prs: list[dict[str, Any]] = field(default_factory=list)  # login, created, hours|None, bot
    usage: list[tuple[str, date, bool]] = field(default_factory=list)  # login, day, active
    roster: list[tuple[str, float | None]] = field(default_factory=list)  # login, experience


def _pr(login: str, created: datetime, hours: float | None, *, bot: bool = False) -> dict:
    return {"login": login, "created": created, "hours": hours, "bot": bot}


def planted_world(seed: int = 3) -> World:
    rng = np.random.default_rng(seed)
    world = World()
    adopt = {i: START + timedelta(weeks=g) for g, ids in COHORTS.items() for i in ids}
    week_effect = rng.normal(0, 0.2, WEEKS)
    for i in range(AUTHORS):
        login = f"dev{i:03d}"
        slower = 0.3 if i in adopt else 0.0  # adopters start slower: the naive is biased
        author = rng.normal(slower, 0.4)
        world.roster.append((login, None if i % 10 == 3 else float(rng.integers(1, 20))))
        for week in range(WEEKS):
            for _ in range(2):
                day = START + timedelta(days=week * 7 + int(rng.integers(0, 5)))
                created = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                    minutes=int(rng.integers(9 * 60, 17 * 60))
                )
                treated = i in adopt and day >= adopt[i]
                log_h = 3 + author + week_effect[week] + EFFECT * treated + rng.normal(0, 0.5)
                world.prs.append(_pr(login, created, float(np.exp(log_h))))
        if i in adopt:
            days = (START + timedelta(days=d) for d in range(WEEKS * 7))
            for d in days:
                if d == adopt[i] or (d > adopt[i] and rng.random() < 0.4):
                    world.usage.append((login, d, True))
        elif i < 140:  # seat holders who never use it: in the reports with zero activity
            world.usage += [(login, START + timedelta(days=28 * k), False) for k in range(4)]
    # Noise the panel must ignore: outside contributors, a bot, unmerged PRs.
    for k in range(5):
        for week in range(0, WEEKS, 2):
            world.prs.append(_pr(f"outside{k}", _at(week * 7 + 1), 2.0))
    world.prs += [_pr("dependabot[bot]", _at(d), 500.0, bot=True) for d in range(0, 100, 3)]
    world.prs += [_pr("dev001", _at(d), None) for d in range(0, 100, 10)]
    return world


def _at(day: int) -> datetime:
    return datetime(START.year, START.month, START.day, 10, tzinfo=UTC) + timedelta(days=day)


def _stamp(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _items(prs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    template = next(i for i in recorded_issues() if "pull_request" in i)
    items = []
    for number, pr in enumerate(prs, start=10_000):
        item = copy.deepcopy(template)
        closed = pr["created"] + timedelta(hours=pr["hours"] or 30)
        item.update(
            number=number,
            title=f"change {number}",
            state="closed",
            created_at=_stamp(pr["created"]),
            updated_at=_stamp(closed),
            closed_at=_stamp(closed),
            author_association="member",
            comments=0,
        )
        item["user"] = {**template["user"], "login": pr["login"], "id": number,
                        "type": "Bot" if pr["bot"] else "User"}  # fmt: skip
        item["pull_request"]["merged_at"] = _stamp(closed) if pr["hours"] is not None else None
        items.append(item)
    return items


def _report_rows(usage: list[tuple[str, date, bool]]) -> dict[int, list[dict[str, Any]]]:
    """Per-user rows in GitHub's users-28-day shape, one file per 28-day window."""
    template = {
        k: v
        for k, v in user_rows()[0].items()
        if not k.startswith("totals_by_") or k in ("totals_by_ide", "totals_by_feature")
    }
    files: dict[int, list[dict[str, Any]]] = {}
    for login, day, active in usage:
        window = (day - START).days // 28
        start = START + timedelta(days=28 * window)
        row = copy.deepcopy(template)
        counts = 5 if active else 0
        row.update(
            report_start_day=start.isoformat(),
            report_end_day=(start + timedelta(days=27)).isoformat(),
            day=day.isoformat(),
            user_login=login,
            user_id=int(login[3:]) + 1 if login[3:].isdigit() else 99,
            user_initiated_interaction_count=counts,
            code_generation_activity_count=counts,
            code_acceptance_activity_count=counts // 2,
            used_agent=False,
            used_chat=active,
            totals_by_ide=[],
            totals_by_feature=[],
        )
        files.setdefault(window, []).append(row)
    return files


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"GITHUB_TOKEN": "ghp_real_data_test"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def build_lake(root: Path, world: World) -> Lake:
    """Ingest the reports and the roster, then collect the PRs from the fake GitHub."""
    root.mkdir(parents=True, exist_ok=True)
    lake = root / "lake"
    for window, rows in sorted(_report_rows(world.usage).items()):
        path = write_ndjson(root / f"users-28-day-{window}.ndjson", rows)
        _cli("ingest", "copilot-report", str(path), "--lake", str(lake), "--format", "json")
    if world.roster:
        roster = root / "developers.csv"
        lines = ["login,experience,team"]
        lines += [f"{login},{'' if x is None else x},core" for login, x in world.roster]
        roster.write_text("\n".join(lines) + "\n")
        _cli("ingest", "developers", str(roster), "--lake", str(lake), "--format", "json")
    if world.prs:
        fake = FakeGitHub(issues=_items(world.prs), history=[])
        with Server(fake) as server:
            _cli("collect", "github", "PyGithub/PyGithub", "--api-url", server.url,
                 "--lake", str(lake), "--now", NOW, "--format", "json")  # fmt: skip
    return Lake.open(lake)


def _cycle(report: ProductivityReport) -> dict[str, Any]:
    return {e.method: e for e in report.estimates if e.estimand == ESTIMAND and not e.subgroup}


@pytest.fixture(scope="module")
def real_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return build_lake(tmp_path_factory.mktemp("real"), planted_world())


@pytest.fixture(scope="module")
def real_report(real_lake: Lake) -> ProductivityReport:
    return run_productivity(real_lake.snapshot(), model_rows=10_000)


def test_sources_join_on_the_lake_key(real_lake: Lake) -> None:
    key = (real_lake.hidden_dir / KEY_FILE).read_text().strip()
    con = real_lake.connect()
    authors = {r[0] for r in con.execute("SELECT DISTINCT author FROM issues").fetchall()}
    users = {
        r[0] for r in con.sql("SELECT DISTINCT developer_id FROM copilot_user_daily").fetchall()
    }
    roster = {r[0] for r in con.execute("SELECT developer_id FROM developers").fetchall()}
    dev000 = pseudonymise("dev000", key=key)
    assert dev000 in authors and dev000 in users and dev000 in roster
    assert "dev000" not in authors | users | roster  # nothing stored in the clear
    assert len(authors & users) == 140 and len(authors & roster) == AUTHORS


def test_planted_effect_is_recovered(real_report: ProductivityReport) -> None:
    assert not real_report.simulated
    cycle = _cycle(real_report)
    cs = cycle["callaway_santanna"]
    assert cs.status == AnalysisStatus.OK, cs.status_reason
    assert cs.ci_low is not None and cs.ci_high is not None
    assert cs.ci_low <= EFFECT <= cs.ci_high
    assert cs.ci_high - cs.ci_low < 0.3
    assert cs.details["adopters"] == 90 and cs.details["never_adopters"] == 90
    assert cs.details["authors_unknown_left_out"] == 5  # the outside contributors
    assert cs.details["reports_days_missing"] == 0
    assert cycle["twfe"].estimate is not None and cycle["twfe"].ci_low is not None
    naive = cycle["naive"]
    assert naive.estimate is not None and naive.estimate > EFFECT + 0.1  # selection bias shows
    ph = cycle["placebo_4_weeks_earlier"]
    assert ph.ci_low is not None and ph.ci_high is not None and ph.ci_low <= 0 <= ph.ci_high
    events = [e for e in real_report.estimates if e.estimand == ESTIMAND and e.subgroup]
    assert any(e.subgroup == "event_week=0" for e in events)
    assert real_report.samples["merged_prs"] == AUTHORS * WEEKS * 2 + 5 * 8
    assert real_report.samples["pr_author_weeks"] == AUTHORS * WEEKS


def test_report_carries_the_real_data_assumptions(real_report: ProductivityReport) -> None:
    doc = json.loads(render_productivity_json(real_report))
    assert doc["metadata"]["assumptions"] == ASSUMPTIONS["real"]
    assumptions = " ".join(ASSUMPTIONS["real"])
    for words in ("Unconfoundedness", "Parallel trends", "review latency", "without a seat",
                  "repository mix"):  # fmt: skip
        assert words in assumptions
    assert "not yet" not in assumptions
    snapshot = doc["metadata"]["lake_snapshot"]
    assert {"issues", "copilot_user_daily"} <= set(snapshot["versions"])
    assert "github" in snapshot["sources"]
    rows = [r for r in doc["rows"] if r["estimand"] == ESTIMAND]
    assert {r["method"] for r in rows} >= {"callaway_santanna", "twfe", "naive"}
    page = render_productivity_html(real_report)
    assert ESTIMAND in page and "review latency" in page
    assert "Effect of adopting Copilot on log PR cycle time" in page
    assert "att_adoption (PR cycle time) \\u00b7 callaway_santanna" in page  # Plotly's JSON
    assert "Event study (Callaway-Sant'Anna) on log PR cycle time (opened to merged)" in page


def test_productivity_cli_on_real_data(real_lake: Lake, tmp_path: Path) -> None:
    target = tmp_path / "p.json"
    _cli("productivity", "--lake", str(real_lake.root), "--format", "json",
         "--model-rows", "10000", "--output", str(target))  # fmt: skip
    doc = json.loads(target.read_text())
    cs = next(
        r
        for r in doc["rows"]
        if (r["estimand"], r["method"], r["subgroup"]) == (ESTIMAND, "callaway_santanna", None)
    )
    assert cs["status"] == "ok" and cs["ci_low"] <= EFFECT <= cs["ci_high"]
    assert doc["metadata"]["simulated_world"] is False
    published = latest_results(real_lake)
    assert any(r["estimand"] == ESTIMAND and r["estimate"] is not None for r in published)


def _small(prs: bool = True, usage: bool = True, roster: bool = True, *, n: int = 40,
           adopters: int = 20) -> World:  # fmt: skip
    full = World()
    for i in range(n):
        login = f"dev{i:03d}"
        if roster:
            full.roster.append((login, 5.0))
        if prs:
            full.prs += [_pr(login, _at(7 * w), 10.0 + i) for w in range(6)]
        if usage and i < adopters:
            full.usage.append((login, START + timedelta(days=21), True))
    return full


MISSING = {
    "no merged PRs": (_small(prs=False), AnalysisStatus.NO_DATA, "no merged pull request"),
    "PRs but no Copilot report": (
        _small(usage=False),
        AnalysisStatus.NO_DATA,
        "ingest copilot-report",
    ),
    "no author in both": (
        World(
            prs=[_pr(f"other{i}", _at(7 * w), 5.0) for i in range(8) for w in range(4)],
            usage=_small().usage,
        ),
        AnalysisStatus.NO_DATA,
        "none of the 8 PR authors",
    ),
    "too few authors": (_small(n=6, adopters=3), AnalysisStatus.TOO_FEW_DEVELOPERS, "6 PR authors"),
    "every author adopted": (
        _small(roster=False),
        AnalysisStatus.ONE_ARM_ONLY,
        "no never-adopter",
    ),
}


@pytest.mark.parametrize("case", list(MISSING))
def test_missing_inputs_give_a_status_and_reason(case: str, tmp_path: Path) -> None:
    world, status, words = MISSING[case]
    report = run_productivity(build_lake(tmp_path, world).snapshot(), model_rows=10_000)
    cycle = _cycle(report)
    assert set(cycle) == {"callaway_santanna", "twfe", "naive", "placebo_4_weeks_earlier"}
    for e in cycle.values():
        assert e.estimate is None and e.status == status
        assert e.status_reason is not None and words in e.status_reason, e.status_reason
    json.loads(render_productivity_json(report))  # renders without NaN


def test_report_coverage_censors_adoption(tmp_path: Path) -> None:
    """Reports for days 28-55 only: an adopter first seen in their first week is left out
    (adopted when?), and PRs after their last day are dropped (adopted since?)."""
    world = _small(usage=False, n=20)
    world.prs = [_pr(f"dev{i:03d}", _at(7 * w), 10.0) for i in range(20) for w in range(12)]
    world.usage = [("dev000", START + timedelta(days=29), True),
                   ("dev001", START + timedelta(days=42), True)]  # fmt: skip
    world.usage += [(f"dev{i:03d}", START + timedelta(days=28), False) for i in range(2, 10)]
    lake = build_lake(tmp_path, world)
    pr = pr_cycle_time_panel(Frames(lake.snapshot()))
    key = (lake.hidden_dir / KEY_FILE).read_text().strip()
    cohorts = pr.panel.groupby("developer_id")["cohort"].first()
    assert pseudonymise("dev000", key=key) not in cohorts.index
    assert cohorts[pseudonymise("dev001", key=key)] == 6
    assert cohorts.notna().sum() == 1 and len(cohorts) == 19
    assert pr.panel["week"].max() == 7  # the PRs of days 56-77 are dropped
    assert pr.first_day == START
    assert (pr.inputs["reports_first_day"], pr.inputs["reports_last_day"]) == (
        START + timedelta(days=28),
        START + timedelta(days=55),
    )


def test_a_simulated_world_stays_simulated(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path / "sim", "rollout", developers=30, days=14, seed=5)
    report = run_productivity(lake.snapshot(), model_rows=10_000)
    assert report.simulated
    assert not [e for e in report.estimates if e.estimand == ESTIMAND]
    assert {"issues", "copilot_user_daily"} <= set(report.snapshot["versions"])
    assert report.snapshot["sources"] == ["simulator"]
