"""``codex-metrics collect``: fetch GitHub, Stack Overflow and Copilot signals into the lake.

Each command opens the lake, builds one collector (an HTTP client, a request budget, the
configured credentials) and calls one library function; every target prints one line and
writes one ``source_runs`` row. Exit codes: 0 when every target is ok, 3 when some stopped
early (budget, rate limit: run again to continue) or failed while others worked, 2 when
nothing could be collected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from codex_metrics.cli.exit_codes import ExitCode
from codex_metrics.cli.options import (
    DATA_FORMATS,
    DataFormatOption,
    LakeOption,
    OutputOption,
    open_lake,
    parse_choice,
    parse_day,
    settings_for,
)
from codex_metrics.cli.output import emit_rows, err_console, spinner
from codex_metrics.cli.state import STATE
from codex_metrics.errors import ParameterError

if TYPE_CHECKING:
    from codex_metrics.collectors import Collector, TargetResult

app = typer.Typer(
    rich_markup_mode=None,
    help="Collect public signals and Copilot reports into the lake, incrementally (run daily: "
    "docs/schedule.md). Credentials come from GITHUB_TOKEN or a GitHub App "
    "(docs/collectors.md lists the permissions and the cost in requests of each source).\n\n"
    "Example: codex-metrics collect github openai/codex --lake ./lake",
    no_args_is_help=True,
)

ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="API root (GitHub Enterprise Server: https://HOST/api/v3; default: the config, "
        "then https://api.github.com).",
        show_default=False,
    ),
]
MaxRequestsOption = Annotated[
    int | None,
    typer.Option(
        "--max-requests",
        help="Request budget of this run (default: [collect] request_budget, 5000); a run "
        "stopped by it keeps its rows and the next run continues.",
        show_default=False,
    ),
]
MaxWaitOption = Annotated[
    float | None,
    typer.Option(
        "--max-wait",
        help="Seconds this run may wait for rate limits to reset before stopping (default: "
        "[collect] max_wait_seconds, 900).",
        show_default=False,
    ),
]
NowOption = Annotated[
    str | None,
    typer.Option("--now", hidden=True, help="Pretend it is this UTC time (tests, replays)."),
]
_COLUMNS = (
    "source", "scope", "status", "rows_written", "tables", "requests", "not_modified",
    "rate_limit_points", "rate_limit_remaining", "rate_limit_reset_at",
)  # fmt: skip


def _collector(
    lake: Path | None,
    *,
    api_url: str | None = None,
    stackexchange_url: str | None = None,
    max_requests: int | None = None,
    max_wait: float | None = None,
    now: str | None = None,
) -> Collector:
    from codex_metrics.collectors import open_collector

    if max_requests is not None and max_requests < 1:
        raise ParameterError("--max-requests", "must be at least 1")
    kw: dict[str, Any] = {}
    if now is not None:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
        kw["clock"] = lambda: moment
    settings = settings_for(lake=lake)
    return open_collector(
        open_lake(lake, create=True),
        settings,
        api_url=api_url,
        stackexchange_url=stackexchange_url,
        max_requests=max_requests,
        max_wait=max_wait,
        **kw,
    )


def _finish(
    collector: Collector, results: list[TargetResult], fmt: str, output: Path | None
) -> None:
    """Print one row per target, the problems on stderr, and exit with the run's code."""
    collector.close()
    note = collector.key_choice.note() if collector.key_choice else None
    if note:
        err_console().print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    rows = [r.to_dict() for r in results]
    emit_rows(rows, fmt, output, title="collect", columns=_COLUMNS, document=rows,
              right=("rows_written", "requests", "not_modified", "rate_limit_points"))  # fmt: skip
    for r in results:
        if r.status != "ok" or (r.message and not STATE.quiet):
            typer.echo(f"{r.source} {r.scope}: {r.status}: {r.message}", err=True)
    statuses = {r.status for r in results}
    if statuses and statuses <= {"error"}:
        raise typer.Exit(ExitCode.USAGE)
    if statuses - {"ok"}:
        raise typer.Exit(ExitCode.INCOMPLETE)


@app.command("github")
def github(
    repos: Annotated[
        list[str], typer.Argument(help="Repositories as OWNER/REPO.", show_default=False)
    ],
    issues: Annotated[bool, typer.Option("--issues/--no-issues", help="Issues and PRs.")] = True,
    comments: Annotated[
        bool, typer.Option("--comments/--no-comments", help="Issue and review comments.")
    ] = True,
    reviews: Annotated[
        bool,
        typer.Option("--reviews/--no-reviews", help="PR reviews (one request per changed PR)."),
    ] = False,
    stars: Annotated[bool, typer.Option("--stars/--no-stars", help="Star history.")] = True,
    api_url: ApiUrlOption = None,
    max_requests: MaxRequestsOption = None,
    max_wait: MaxWaitOption = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
    now: NowOption = None,
) -> None:
    """Snapshot repositories, their star history, issues, PRs and comments (incrementally).

    A day with no change costs five conditional requests and no rate limit.

    Example: codex-metrics collect github openai/codex microsoft/vscode --max-requests 2000
    """
    from codex_metrics.collectors import GitHubOptions, collect_github

    parse_choice(output_format, "--format", DATA_FORMATS)
    c = _collector(lake, api_url=api_url, max_requests=max_requests, max_wait=max_wait, now=now)
    options = GitHubOptions(issues=issues, comments=comments, reviews=reviews, stars=stars)
    owner = repos[0].split("/")[0] if repos else None
    with spinner(f"collecting {len(repos)} repositor{'y' if len(repos) == 1 else 'ies'}"):
        results = collect_github(
            c.lake, c.github(owner=owner), repos, pseudonym=c.pseudonymise, options=options,
            invocation_id=c.invocation_id,
        )  # fmt: skip
    _finish(c, results, output_format, output)


@app.command("ecosystem")
def ecosystem(
    api_url: ApiUrlOption = None,
    max_requests: MaxRequestsOption = None,
    max_wait: MaxWaitOption = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
    now: NowOption = None,
) -> None:
    """Snapshot GitHub search totals of assistant adoption (queries: [[collect.ecosystem_queries]]).

    Repository and commit counts are GitHub's estimates; file counts (code search, needs a
    token) are capped samples of at most 4,000 repositories per query.

    Example: codex-metrics collect ecosystem --lake ./lake
    """
    from codex_metrics.collectors import collect_ecosystem

    parse_choice(output_format, "--format", DATA_FORMATS)
    c = _collector(lake, api_url=api_url, max_requests=max_requests, max_wait=max_wait, now=now)
    with spinner("searching GitHub"):
        result = collect_ecosystem(
            c.lake, c.github(), c.settings.collect.ecosystem_queries, invocation_id=c.invocation_id
        )
    _finish(c, [result], output_format, output)


@app.command("stackoverflow")
def stackoverflow(
    tags: Annotated[
        list[str], typer.Option("--tag", help="A tag (repeatable).", show_default=False)
    ],
    site: Annotated[
        str | None, typer.Option(help="Stack Exchange site.", show_default=False)
    ] = None,
    answer_months: Annotated[
        int,
        typer.Option(
            "--answer-months",
            help="Recent months that also get answered share and time to first answer.",
        ),
    ] = 2,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            help="API root (default: https://api.stackexchange.com/2.3).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    max_requests: MaxRequestsOption = None,
    max_wait: MaxWaitOption = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
    now: NowOption = None,
) -> None:
    """Count questions per month per tag (one cheap filter=total call per month).

    Example: codex-metrics collect stackoverflow --tag github-copilot --tag openai-codex
    """
    from codex_metrics.collectors import collect_stackoverflow

    parse_choice(output_format, "--format", DATA_FORMATS)
    c = _collector(lake, stackexchange_url=api_url, max_requests=max_requests, max_wait=max_wait,
                   now=now)  # fmt: skip
    conf = c.settings.collect
    with spinner(f"counting {len(tags)} tag(s)"):
        results = collect_stackoverflow(
            c.lake, c.stackexchange(), tags, site=site or conf.stackexchange_site,
            key=conf.stackexchange_key, answer_months=answer_months, invocation_id=c.invocation_id,
        )  # fmt: skip
    _finish(c, results, output_format, output)


@app.command("copilot")
def copilot(
    org: Annotated[
        str | None, typer.Option("--org", help="Organisation login.", show_default=False)
    ] = None,
    enterprise: Annotated[
        str | None, typer.Option("--enterprise", help="Enterprise slug.", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Backfill 1-day reports from this day (YYYY-MM-DD; GitHub "
            "keeps one year, from 2025-10-10).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    api_url: ApiUrlOption = None,
    max_requests: MaxRequestsOption = None,
    max_wait: MaxWaitOption = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
    now: NowOption = None,
) -> None:
    """Download Copilot usage-metrics reports (all files at once), archive and ingest them.

    Needs a token or GitHub App that may read the org's or enterprise's Copilot metrics (the
    Actions GITHUB_TOKEN cannot).

    Example: codex-metrics collect copilot --org acme --since 2026-01-01
    """
    from codex_metrics.collectors import CopilotTarget, collect_copilot

    parse_choice(output_format, "--format", DATA_FORMATS)
    if (org is None) == (enterprise is None):
        raise ParameterError(
            "--org/--enterprise", "give exactly one of --org ORG or --enterprise ENT"
        )
    target = CopilotTarget("org", org) if org else CopilotTarget("enterprise", str(enterprise))
    day = parse_day(since, "--since")
    c = _collector(lake, api_url=api_url, max_requests=max_requests, max_wait=max_wait, now=now)
    with spinner(f"collecting Copilot reports of {target.scope}"):
        result = collect_copilot(
            c.lake, c.github(owner=target.name), target, pseudonymise=c.pseudonymise, since=day,
            invocation_id=c.invocation_id,
        )  # fmt: skip
    _finish(c, [result], output_format, output)


@app.command("all")
def collect_all_command(
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Copilot: backfill 1-day reports from this day.", show_default=False
        ),
    ] = None,  # fmt: skip
    api_url: ApiUrlOption = None,
    stackexchange_url: Annotated[
        str | None,
        typer.Option("--stackexchange-url", help="Stack Exchange API root.", show_default=False),
    ] = None,
    max_requests: MaxRequestsOption = None,
    max_wait: MaxWaitOption = None,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
    now: NowOption = None,
) -> None:
    """Collect every target of codex-metrics.toml's [collect] section (the daily job).

    Example: codex-metrics --config codex-metrics.toml collect all --lake ./lake
    """
    from codex_metrics.collectors import collect_all

    parse_choice(output_format, "--format", DATA_FORMATS)
    day = parse_day(since, "--since")
    c = _collector(lake, api_url=api_url, stackexchange_url=stackexchange_url,
                   max_requests=max_requests, max_wait=max_wait, now=now)  # fmt: skip
    with spinner("collecting every configured target"):
        results = collect_all(c, since=day)
    _finish(c, results, output_format, output)
