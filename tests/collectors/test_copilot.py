"""collect copilot: links, every file at once without credentials, archive, ingest, messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from codex_metrics.collectors import CopilotTarget, collect_copilot
from codex_metrics.collectors.copilot import backfill_days
from codex_metrics.lake import Lake

from . import recordings
from .conftest import FakeClock, SessionFactory, pseudonym
from .fake_copilot import FakeCopilot
from .fake_github import FakeGitHub

ACME = CopilotTarget("org", "acme")
FORBIDDEN = recordings.synthetic("synthetic-forbidden.json")


def world(copilot: FakeCopilot) -> FakeGitHub:
    fake = FakeGitHub(history=[])
    fake.extra.update(copilot.routes())
    return fake


def run(lake: Lake, fake: FakeGitHub, make_session: SessionFactory, **kw: Any) -> Any:
    return collect_copilot(lake, make_session(fake.handle), ACME, pseudonymise=pseudonym, **kw)


def tables(lake: Lake) -> dict[str, int]:
    con = lake.connect(sources="all")
    return {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
        for t in ("copilot_entity_daily", "copilot_user_daily", "team_members")
    }


def test_daily_reports_are_downloaded_without_credentials_archived_and_ingested(
    lake: Lake, make_session: SessionFactory
) -> None:
    copilot = FakeCopilot()
    result = run(lake, world(copilot), make_session)
    assert result.status == "ok", result.message
    # links: entity 28-day, users 28-day, yesterday's user-teams, with the API version
    assert [r.url.path.rsplit("/reports/", 1)[1] for r in copilot.links] == [
        "organization-28-day/latest", "users-28-day/latest", "user-teams-1-day"]  # fmt: skip
    assert {r.headers["x-github-api-version"] for r in copilot.links} == {"2026-03-10"}
    assert all(r.headers["authorization"] == "Bearer ghp_test_token" for r in copilot.links)
    assert len(copilot.downloads) == 3
    assert all("authorization" not in r.headers for r in copilot.downloads)
    counts = tables(lake)
    assert counts["copilot_entity_daily"] > 0 and counts["copilot_user_daily"] == 2
    assert counts["team_members"] == 13
    raw = list((lake.hidden_dir / "raw" / "copilot-report").glob("*.zst"))
    assert len(raw) == 3  # every file archived raw by the ingest pipeline
    assert not list((lake.hidden_dir / "downloads").rglob("*.json"))  # nothing left behind
    assert result.rows == {"copilot_entity_daily": counts["copilot_entity_daily"],
                           "copilot_user_daily": 2, "usage_daily": result.rows["usage_daily"],
                           "team_members": 13}  # fmt: skip


def test_a_backfill_walks_the_days_once_skipping_days_without_a_report(
    lake: Lake, make_session: SessionFactory, clock: FakeClock
) -> None:
    clock.now = datetime(2025, 10, 13, 6, tzinfo=UTC)
    copilot = FakeCopilot(missing_days=("2025-10-11",))
    fake = world(copilot)
    assert run(lake, fake, make_session, since=date(2025, 1, 1)).status == "ok"
    asked = [(r.url.path.rsplit("/", 1)[1], r.url.params.get("day")) for r in copilot.links]
    assert asked[0] == ("latest", None)  # one request proves the name first
    assert sorted({d for _, d in asked[1:]}) == ["2025-10-10", "2025-10-11", "2025-10-12"]
    copilot.links.clear()
    run(lake, fake, make_session, since=date(2025, 1, 1))
    assert len(copilot.links) == 1  # the days already collected are not asked again


def test_backfills_start_at_the_later_of_2025_10_10_and_a_year_ago() -> None:
    days = backfill_days(date(2024, 1, 1), date(2026, 11, 26))
    assert (days[0], days[-1], len(days)) == (date(2025, 11, 26), date(2026, 11, 25), 365)
    assert backfill_days(date(2024, 1, 1), date(2025, 10, 12))[0] == date(2025, 10, 10)


@pytest.mark.parametrize(
    ("case", "fix"),
    [
        ("policy", "'Copilot usage metrics' policy set to Enabled everywhere"),
        ("fine_grained", "'Organization Copilot metrics: read'"),
        ("integration", "GitHub App lacks a permission"),
        ("sso", "authorise the token at https://github.com/orgs/acme/sso"),
        ("scope", "org owner, or a token or GitHub App"),
    ],
)
def test_access_problems_say_what_to_change(
    case: str, fix: str, lake: Lake, make_session: SessionFactory
) -> None:
    fake = FakeGitHub(history=[])
    doc = FORBIDDEN[case]
    fake.extra["/orgs/acme/copilot/"] = lambda r: httpx.Response(
        doc["status"], headers=doc["headers"], json=doc["body"], request=r
    )
    result = run(lake, fake, make_session)
    assert result.status == "error" and fix in (result.message or "")


def test_a_wrong_name_says_so_and_mentions_the_closed_legacy_api(
    lake: Lake, make_session: SessionFactory
) -> None:
    result = run(lake, FakeGitHub(history=[]), make_session)
    assert result.status == "error"
    assert "is 'acme' the org's login" in result.message and "2026-04-02" in result.message


def test_a_file_the_parser_refuses_is_kept_with_the_command_to_ingest_it(
    lake: Lake, make_session: SessionFactory
) -> None:
    copilot = FakeCopilot()
    copilot.broken.add("organization-users-1-day-report.json")
    result = run(lake, world(copilot), make_session)
    assert result.status == "error" and "codex-metrics ingest copilot-report" in result.message
    kept = list((lake.hidden_dir / "downloads").rglob("*organization-users-1-day-report.json"))
    assert len(kept) == 1 and str(kept[0]) in result.message


def test_an_expired_link_asks_for_a_new_run(lake: Lake, make_session: SessionFactory) -> None:
    copilot = FakeCopilot()
    fake = world(copilot)
    fake.extra["/copilot-reports/"] = lambda r: httpx.Response(
        403, text="<Error><Code>AuthenticationFailed</Code></Error>", request=r
    )
    result = run(lake, fake, make_session)
    assert result.status == "error" and "signed links expire" in (result.message or "")
