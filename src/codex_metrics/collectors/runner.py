"""One collect run: the parts every source shares, and ``collect all`` over the config's targets.

A :class:`Collector` holds what one command invocation shares across sources: the lake, the
settings, one ``httpx.Client``, one request budget, one set of counters, the clock and the
sleeper, and an invocation id that ties the run's ``source_runs`` rows together. It builds
each API's session (GitHub with the configured credentials, or Stack Exchange) on demand.

:func:`collect_all` reads the targets of ``codex-metrics.toml`` (``[collect]``) and runs every
source: repositories, ecosystem searches, Stack Overflow tags, Copilot orgs and enterprises.
A failed target does not stop the others; a spent budget stops the run; a rate limit stops the
remaining targets of that API only.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import PackageNotFoundError, version

import httpx

from codex_metrics.collectors._auth import github_credentials
from codex_metrics.collectors._http import ApiSession, Clock, Sleeper, system_clock
from codex_metrics.collectors._limits import RequestBudget, RunStats
from codex_metrics.collectors._run import TargetResult
from codex_metrics.collectors.copilot import CopilotTarget, collect_copilot
from codex_metrics.collectors.ecosystem import collect_ecosystem
from codex_metrics.collectors.github import GitHubOptions, collect_github, github_session
from codex_metrics.collectors.stackexchange import (
    STACKEXCHANGE_API_URL,
    collect_stackoverflow,
    stackexchange_session,
)
from codex_metrics.config import Settings
from codex_metrics.errors import ConfigError
from codex_metrics.lake import Lake
from codex_metrics.privacy import KeyChoice, Pseudonymiser

__all__ = ["Collector", "collect_all", "open_collector"]


def _user_agent() -> str:
    try:
        return f"codex-metrics/{version('codex-metrics')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "codex-metrics"


@dataclass
class Collector:
    """What one collect command shares across its sources and targets."""

    lake: Lake
    settings: Settings
    client: httpx.Client
    budget: RequestBudget
    stats: RunStats = field(default_factory=RunStats)
    clock: Clock = system_clock
    sleep: Sleeper = time.sleep
    api_url: str | None = None
    stackexchange_url: str | None = None
    max_wait: float = 900.0
    invocation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    key_choice: KeyChoice | None = None
    _pseudonymiser: Pseudonymiser | None = None

    @property
    def pseudonymise(self) -> Pseudonymiser:
        """The lake's pseudonymiser (its key is generated on first use when none is set)."""
        if self._pseudonymiser is None:
            self._pseudonymiser, self.key_choice = Pseudonymiser.for_lake(
                self.settings, self.lake.hidden_dir
            )
        return self._pseudonymiser

    def github(self, *, owner: str | None = None) -> ApiSession:
        """A GitHub session with the configured credentials (App or token)."""
        return github_session(
            self.client,
            api_url=self.api_url or self.settings.collect.github_api_url,
            token=github_credentials(self.settings, owner=owner),
            budget=self.budget,
            stats=self.stats,
            clock=self.clock,
            sleep=self.sleep,
            max_wait=self.max_wait,
            user_agent=_user_agent(),
        )

    def stackexchange(self) -> ApiSession:
        """A Stack Exchange session (its key goes in the query, not a header)."""
        return stackexchange_session(
            self.client,
            api_url=self.stackexchange_url or STACKEXCHANGE_API_URL,
            budget=self.budget,
            stats=self.stats,
            clock=self.clock,
            sleep=self.sleep,
            max_wait=self.max_wait,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


def open_collector(
    lake: Lake,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    api_url: str | None = None,
    stackexchange_url: str | None = None,
    max_requests: int | None = None,
    max_wait: float | None = None,
    clock: Clock = system_clock,
    sleep: Sleeper = time.sleep,
) -> Collector:
    """A :class:`Collector` from the settings (command-line values first)."""
    collect = settings.collect
    return Collector(
        lake=lake,
        settings=settings,
        client=client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0)),
        budget=RequestBudget(max_requests if max_requests is not None else collect.request_budget),
        clock=clock,
        sleep=sleep,
        api_url=api_url,
        stackexchange_url=stackexchange_url,
        max_wait=max_wait if max_wait is not None else collect.max_wait_seconds,
    )


def collect_all(
    collector: Collector,
    *,
    options: GitHubOptions | None = None,
    since: date | None = None,
) -> list[TargetResult]:
    """Every target of ``[collect]`` in the config (see the module docstring).

    Raises:
        ConfigError: the config names no target at all.
    """
    c = collector.settings.collect
    if not (
        c.repos or c.stackoverflow_tags or c.copilot_orgs or c.copilot_enterprises or c.ecosystem
    ):
        where = collector.settings.config_file or "codex-metrics.toml"
        raise ConfigError(
            f"{where}: [collect] names no target; add repos, stackoverflow_tags, copilot_orgs, "
            "copilot_enterprises or ecosystem = true (docs/collectors.md)"
        )
    results: list[TargetResult] = []
    run = collector.invocation_id

    def stopped() -> bool:
        return any(r.stopped_by == "budget" for r in results)

    github_limited = False
    if c.repos:
        owner = c.repos[0].split("/")[0]  # a GitHub App acts as its installation there
        got = collect_github(
            collector.lake, collector.github(owner=owner), c.repos,
            pseudonym=collector.pseudonymise, options=options, invocation_id=run,
        )  # fmt: skip
        results += got
        github_limited = any(r.stopped_by == "rate_limit" for r in got)
    if c.ecosystem and not stopped():
        results.append(
            collect_ecosystem(
                collector.lake, collector.github(), c.ecosystem_queries, invocation_id=run
            )
        )
    if c.stackoverflow_tags and not stopped():
        results += collect_stackoverflow(
            collector.lake, collector.stackexchange(), c.stackoverflow_tags,
            site=c.stackexchange_site, key=c.stackexchange_key, invocation_id=run,
        )  # fmt: skip
    targets = [CopilotTarget("org", o) for o in c.copilot_orgs]
    targets += [CopilotTarget("enterprise", e) for e in c.copilot_enterprises]
    for target in targets:
        if stopped() or github_limited:
            break
        result = collect_copilot(
            collector.lake, collector.github(owner=target.name), target,
            pseudonymise=collector.pseudonymise, since=since, invocation_id=run,
        )  # fmt: skip
        results.append(result)
        github_limited = result.stopped_by == "rate_limit"
    return results
