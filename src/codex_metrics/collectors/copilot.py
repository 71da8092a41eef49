"""``collect copilot --org ORG | --enterprise ENT``: usage-metrics report downloads.

GitHub's Copilot usage-metrics API (shared/notes/data-sources.md section 1.3) answers a report
request with **signed download links** that expire within minutes, so each report's files are
downloaded at once, in parallel, right after the links arrive, and without our credentials
(the links carry their own signature; our token never goes to the storage host). Each file is
then handed to the ingest pipeline's Copilot report parser (:func:`ingest_report_file`, the one
seam with ``telemetry.ingest``), which validates it, commits it and archives it raw under
``<lake>/.codex-metrics/raw/``. A file the parser refuses stays in
``<lake>/.codex-metrics/downloads/`` and the message says how to ingest it by hand.

Daily (no ``--since``): the latest 28-day entity and per-user reports and yesterday's user-teams
report. ``--since DAY`` backfills day by day with the 1-day reports from the later of
2025-10-10 (the first day GitHub has) and one year ago, skipping days already collected.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

from codex_metrics.collectors._cache import HttpCache
from codex_metrics.collectors._http import ApiSession
from codex_metrics.collectors._run import TargetResult, TargetRun, target_run
from codex_metrics.errors import (
    AuthError,
    CollectorError,
    InputFormatError,
    RemoteNotFoundError,
    ResponseFormatError,
)
from codex_metrics.lake import Lake

__all__ = [
    "COPILOT_API_VERSION",
    "FIRST_REPORT_DAY",
    "CopilotTarget",
    "collect_copilot",
    "ingest_report_file",
]

COPILOT_API_VERSION = "2026-03-10"
#: The first day GitHub's usage-metrics reports cover.
FIRST_REPORT_DAY = date(2025, 10, 10)
DOWNLOADS_DIR = "downloads"
_PARALLEL = 4
_NEEDS = {
    "org": "organisation reports need an org owner, or a token or GitHub App with "
    "'Organization Copilot metrics: read' (classic token: read:org)",
    "enterprise": "enterprise reports need an enterprise owner or billing manager, or a token "
    "with 'Enterprise Copilot metrics: read' (classic: manage_billing:copilot or read:enterprise)",
}
Ingest = Callable[..., dict[str, int]]


@dataclass(frozen=True)
class CopilotTarget:
    """An organisation or an enterprise whose reports to collect."""

    entity_type: Literal["org", "enterprise"]
    name: str

    @property
    def scope(self) -> str:
        """The lake scope of its rows (as the ingest pipeline names it)."""
        return f"{self.entity_type}/{self.name}"

    @property
    def prefix(self) -> str:
        """The API path of its reports."""
        kind = "orgs" if self.entity_type == "org" else "enterprises"
        return f"{kind}/{self.name}/copilot/metrics/reports"

    def latest(self) -> list[str]:
        """The 28-day reports (entity totals, per user)."""
        entity = "organization" if self.entity_type == "org" else "enterprise"
        return [f"{entity}-28-day/latest", "users-28-day/latest"]

    def one_day(self) -> list[str]:
        """The 1-day reports (entity totals, per user, user-teams)."""
        entity = "organization" if self.entity_type == "org" else "enterprise"
        return [f"{entity}-1-day", "users-1-day", "user-teams-1-day"]


def ingest_report_file(
    lake: Lake,
    path: Path,
    *,
    target: CopilotTarget,
    fetched_at: datetime,
    pseudonymise: Callable[[str], str],
    invocation_id: str | None = None,
    report: str = "",
) -> dict[str, int]:
    """Hand one downloaded report file to the ingest pipeline's Copilot parser.

    The seam between collecting and ingesting: everything the collector knows about the file
    (whose it is, when it was fetched) goes in here, rows per table come out.

    Raises:
        InputFormatError: the parser refused the file (nothing was written).
    """
    from codex_metrics.telemetry.ingest import IngestOptions, ingest_file

    options = IngestOptions(
        pseudonymise=pseudonymise,
        fetched_at=fetched_at,
        org=target.name,
        entity_type=target.entity_type,
    )
    done = ingest_file(
        lake,
        path,
        "copilot-report",
        options,
        fetched_at=fetched_at,
        invocation_id=invocation_id,
        parameters={"collected_by": "collect copilot", "report": report},
    )
    return dict(done.rows)


def _links(
    session: ApiSession, target: CopilotTarget, report: str, day: date | None
) -> dict[str, Any]:
    params = {"day": day.isoformat()} if day else None
    try:
        body = session.get(
            f"{target.prefix}/{report}",
            params=params,
            headers={"X-GitHub-Api-Version": COPILOT_API_VERSION},
        ).body
    except AuthError as exc:
        raise AuthError(
            f"{exc}; {_NEEDS[target.entity_type]}", url=exc.url, status=exc.status
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("download_links"), list):
        raise ResponseFormatError(
            "the report answer has no download_links list", url=f"{target.prefix}/{report}"
        )
    return body


def _download_all(session: ApiSession, links: list[str], folder: Path) -> list[Path]:
    """Every file of a report, in parallel (the links expire), into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = []
    for i, link in enumerate(links):
        name = httpx.URL(link if "://" in link else f"https://x{link}").path.rsplit("/", 1)[-1]
        targets.append((link, folder / f"{i:02d}-{name or 'report'}"))
    with ThreadPoolExecutor(max_workers=min(_PARALLEL, max(len(targets), 1))) as pool:
        list(pool.map(lambda t: session.download(t[0], t[1]), targets))
    return [dest for _, dest in targets]


def _one_report(ctx: _Copilot, report: str, day: date | None, *, missing_ok: bool) -> bool:
    """Links, downloads and ingestion of one report; ``False`` when GitHub has none (404)."""
    try:
        body = _links(ctx.session, ctx.target, report, day)
    except RemoteNotFoundError as exc:
        if not missing_ok:
            raise RemoteNotFoundError(
                f"{exc}; is {ctx.target.name!r} the {ctx.target.entity_type}'s login, with "
                "Copilot Business or Enterprise? (The legacy /copilot/metrics API closed on "
                "2026-04-02; GitHub Enterprise Server has no usage-metrics reports.)",
                url=exc.url,
                status=exc.status,
            ) from None
        return False  # no report for that day, or no team of five members yet
    ctx.run.read(f"{ctx.target.prefix}/{report.split('/')[0]}")
    fetched = ctx.session.clock()
    label = report.replace("/", "-") + (f"-{day}" if day else f"-{fetched:%Y%m%dT%H%M%S}")
    folder = (
        ctx.lake.hidden_dir / DOWNLOADS_DIR / "copilot" / ctx.target.scope.replace("/", "-") / label
    )
    files = _download_all(ctx.session, [str(x) for x in body["download_links"]], folder)
    for path in files:
        try:
            rows = ctx.ingest(
                ctx.lake, path, target=ctx.target, fetched_at=fetched,
                pseudonymise=ctx.pseudonymise, invocation_id=ctx.invocation_id, report=report,
            )  # fmt: skip
        except InputFormatError as exc:
            raise CollectorError(
                f"the parser refused {path.name} of {report} ({exc}); the file is kept at {path}: "
                f"once fixed, run `codex-metrics ingest copilot-report {path} --org "
                f"{ctx.target.name}`"
            ) from None
        for table, n in rows.items():
            ctx.run.result.rows[table] = ctx.run.result.rows.get(table, 0) + n
            ctx.run.record.wrote(table, n)
        path.unlink(missing_ok=True)  # archived raw by the ingest pipeline
    try:
        folder.rmdir()
    except OSError:
        pass
    return True


@dataclass
class _Copilot:
    lake: Lake
    session: ApiSession
    target: CopilotTarget
    run: TargetRun
    pseudonymise: Callable[[str], str]
    invocation_id: str | None
    ingest: Ingest


def backfill_days(since: date, today: date) -> list[date]:
    """Days a backfill asks for: from the latest of ``since``, 2025-10-10, a year ago; to yesterday."""
    first = max(since, FIRST_REPORT_DAY, today - timedelta(days=365))
    return [first + timedelta(days=i) for i in range((today - first).days)]


def collect_copilot(
    lake: Lake,
    session: ApiSession,
    target: CopilotTarget,
    *,
    pseudonymise: Callable[[str], str],
    since: date | None = None,
    invocation_id: str | None = None,
    ingest: Ingest = ingest_report_file,
) -> TargetResult:
    """Collect one org's or enterprise's reports (see the module docstring)."""
    cache = HttpCache.for_scope(lake.hidden_dir, "copilot", target.scope, clock=session.clock)
    with target_run(
        lake,
        session.stats,
        source="copilot-report",
        scope=target.scope,
        command="collect copilot",
        parameters={"since": since, "entity": target.entity_type},
        invocation_id=invocation_id,
        bucket=lambda resource: resource == "core",
    ) as run:
        ctx = _Copilot(lake, session, target, run, pseudonymise, invocation_id, ingest)
        today = session.clock().date()
        if since is None:
            for report in target.latest():
                _one_report(ctx, report, None, missing_ok=False)
            _one_report(ctx, target.one_day()[2], today - timedelta(days=1), missing_ok=True)
        else:
            # One links request proves the name and the access before a year of 404s.
            _links(session, target, target.latest()[0], None)
            done = set(cache.state("backfill").get("days", []))
            for day in backfill_days(since, today):
                if day.isoformat() in done:
                    continue
                for report in target.one_day():
                    _one_report(ctx, report, day, missing_ok=True)
                done.add(day.isoformat())
                cache.save(state={"backfill": {"days": sorted(done)}})
    return run.result
