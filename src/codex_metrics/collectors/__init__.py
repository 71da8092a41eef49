"""Collectors: public signals and vendor reports fetched over HTTP into the lake, daily.

* :mod:`~codex_metrics.collectors.github`: repository snapshots, star history, issues, PRs,
  comments (``collect github``);
* :mod:`~codex_metrics.collectors.ecosystem`: GitHub search totals of assistant adoption
  (``collect ecosystem``);
* :mod:`~codex_metrics.collectors.stackexchange`: questions per month and tag
  (``collect stackoverflow``);
* :mod:`~codex_metrics.collectors.copilot`: Copilot usage-metrics report downloads, archived
  raw and handed to the ingest parsers (``collect copilot``);
* :func:`collect_all`: every target of ``codex-metrics.toml``.

All of them go through one HTTP layer (:class:`ApiSession`): an injected ``httpx.Client``,
conditional requests cached in ``<lake>/.codex-metrics/http-cache/`` (saved only after the rows
are committed), ``Link`` pagination, primary and secondary rate limits, jittered retries, a
request budget per run, and an injected clock and sleeper. docs/collectors.md gives each
source's permissions and cost in requests.
"""

from codex_metrics.collectors._auth import (
    GitHubAppToken,
    RsaPrivateKey,
    StaticToken,
    TokenSource,
    app_jwt,
    github_credentials,
)
from codex_metrics.collectors._cache import CacheEntry, HttpCache
from codex_metrics.collectors._github_http import GitHubPolicy
from codex_metrics.collectors._http import ApiResponse, ApiSession
from codex_metrics.collectors._limits import Bucket, RequestBudget, RunStats, Usage, Wait
from codex_metrics.collectors._run import TargetResult
from codex_metrics.collectors.copilot import (
    COPILOT_API_VERSION,
    FIRST_REPORT_DAY,
    CopilotTarget,
    collect_copilot,
    ingest_report_file,
)
from codex_metrics.collectors.ecosystem import DEFAULT_QUERIES, collect_ecosystem
from codex_metrics.collectors.github import (
    GitHubOptions,
    collect_github,
    collect_repository,
    github_session,
)
from codex_metrics.collectors.runner import Collector, collect_all, open_collector
from codex_metrics.collectors.stackexchange import (
    STACKEXCHANGE_API_URL,
    StackExchangePolicy,
    collect_stackoverflow,
    stackexchange_session,
)

__all__ = [
    "COPILOT_API_VERSION",
    "DEFAULT_QUERIES",
    "FIRST_REPORT_DAY",
    "STACKEXCHANGE_API_URL",
    "ApiResponse",
    "ApiSession",
    "Bucket",
    "CacheEntry",
    "Collector",
    "CopilotTarget",
    "GitHubAppToken",
    "GitHubOptions",
    "GitHubPolicy",
    "HttpCache",
    "RequestBudget",
    "RsaPrivateKey",
    "RunStats",
    "StackExchangePolicy",
    "StaticToken",
    "TargetResult",
    "TokenSource",
    "Usage",
    "Wait",
    "app_jwt",
    "collect_all",
    "collect_copilot",
    "collect_ecosystem",
    "collect_github",
    "collect_repository",
    "collect_stackoverflow",
    "github_credentials",
    "github_session",
    "ingest_report_file",
    "open_collector",
    "stackexchange_session",
]
