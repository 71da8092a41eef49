"""One collect target (a repository, a tag, an org) as one recorded run with one result.

:func:`target_run` wraps a target's work in :func:`codex_metrics.lake.source_run`, so every
target writes its ``source_runs`` row (running, then ok, partial or error) with rows written,
requests that cost rate limit, 304s, the tightest bucket and its reset. A request budget or a
rate limit that stops the work half way leaves the rows already committed and marks the run
``partial``; any other collector error marks it ``error``. Neither escapes: the caller moves
on to the next target (or stops, when :attr:`TargetResult.stops_run` says the others cannot
run either) and the CLI prints one line per target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from codex_metrics.collectors._limits import RunStats, Usage
from codex_metrics.errors import BudgetExhaustedError, CollectorError, RateLimitedError
from codex_metrics.lake import Lake, RunRecord, WriteReport, source_run

__all__ = ["OBSERVED_TABLES", "TargetResult", "TargetRun", "target_run"]

Status = Literal["ok", "partial", "error"]
#: Tables partitioned by the day they were read: a run vouches for those days.
OBSERVED_TABLES = frozenset({"repo_snapshots", "ecosystem_counts"})


@dataclass
class TargetResult:
    """What collecting one target did (one line of ``collect`` output, one ``source_runs`` row)."""

    source: str
    scope: str
    status: Status = "ok"
    rows: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    rate_limit_resource: str | None = None
    rate_limit_remaining: int | None = None
    rate_limit_reset_at: datetime | None = None
    message: str | None = None
    stopped_by: Literal["budget", "rate_limit"] | None = None

    @property
    def stops_run(self) -> bool:
        """A budget or rate-limit stop: the next targets of the same API cannot run either."""
        return self.stopped_by is not None

    @property
    def rows_written(self) -> int:
        """Rows committed, all tables."""
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        """A flat record for tables, CSV and JSON."""
        return {
            "source": self.source,
            "scope": self.scope,
            "status": self.status,
            "rows_written": self.rows_written,
            "tables": ", ".join(f"{t}={n}" for t, n in sorted(self.rows.items())),
            "requests": self.usage.requests,
            "not_modified": self.usage.not_modified,
            "rate_limit_points": self.usage.points,
            "rate_limit_remaining": self.rate_limit_remaining,
            "rate_limit_resource": self.rate_limit_resource,
            "rate_limit_reset_at": self.rate_limit_reset_at,
            "message": self.message,
        }


@dataclass
class TargetRun:
    """Handed to a target's work: count what it commits, note what it read."""

    record: RunRecord
    result: TargetResult

    def wrote(self, table: str, report: WriteReport | None) -> None:
        """Count a commit's rows (``report`` ``None``: nothing was written).

        The run's day range (``data_first_day``..``data_last_day``, which gap detection reads
        as the days a source vouches for) is the days it *observed*: a snapshot's day, not the
        2012 day an old issue was opened.
        """
        if report is None:
            return
        rows = report.rows_written
        self.result.rows[table] = self.result.rows.get(table, 0) + rows
        self.record.wrote(table, rows, list(report.days) if table in OBSERVED_TABLES else [])

    def read(self, path: str) -> None:
        """Note an API path read (no query string: it may hold keys or signatures)."""
        clean = path.split("?", 1)[0]
        if clean not in self.record.inputs:
            self.record.inputs.append(clean)


@contextmanager
def target_run(
    lake: Lake,
    stats: RunStats,
    *,
    source: str,
    scope: str,
    command: str,
    parameters: dict[str, Any] | None = None,
    invocation_id: str | None = None,
    bucket: Callable[[str], bool] | None = None,
) -> Iterator[TargetRun]:
    """Run one target's work as a recorded run; see the module docstring.

    Args:
        lake: the lake the run writes.
        stats: the run's counters (what this target spends is measured from them).
        source: ``github``, ``stackexchange``, ``copilot-report``.
        scope: the target (``owner/name``, a tag, ``org:acme``).
        command: the command, for ``source_runs`` (no tokens, no paths).
        parameters: the options worth recording (never credentials).
        invocation_id: shared by the targets of one command.
        bucket: which rate-limit buckets to report (default: the tightest of any).
    """
    result = TargetResult(source, scope)
    try:
        with (
            stats.measure() as usage,
            source_run(
                lake,
                source=source,
                scope=scope,
                run_kind="collect",
                command=command,
                parameters=parameters,
                invocation_id=invocation_id,
            ) as record,
        ):
            result.usage = usage
            run = TargetRun(record, result)
            try:
                yield run
            except (BudgetExhaustedError, RateLimitedError) as exc:
                result.status, result.message = "partial", str(exc)
                result.stopped_by = (
                    "budget" if isinstance(exc, BudgetExhaustedError) else "rate_limit"
                )
                record.partial, record.error = True, str(exc).splitlines()[0][:500]
                if isinstance(exc, RateLimitedError):
                    result.rate_limit_reset_at = exc.reset_at
                    result.rate_limit_resource = exc.resource
            finally:
                _limits_into(record, result, stats, bucket, usage)
    except CollectorError as exc:
        result.status, result.message = "error", str(exc)


def _limits_into(
    record: RunRecord,
    result: TargetResult,
    stats: RunStats,
    bucket: Callable[[str], bool] | None,
    usage: Usage,
) -> None:
    tight = stats.tightest(bucket)
    if tight is not None:
        result.rate_limit_remaining = tight.remaining
        result.rate_limit_resource = result.rate_limit_resource or tight.resource
        result.rate_limit_reset_at = result.rate_limit_reset_at or tight.reset_at
    record.requests_used = usage.points
    record.requests_not_modified = usage.not_modified
    record.rate_limit_remaining = result.rate_limit_remaining
    record.rate_limit_resource = result.rate_limit_resource
    record.rate_limit_reset_at = result.rate_limit_reset_at
