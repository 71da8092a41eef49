"""The ingest pipeline: parse a file in one streaming pass, commit it, archive it, record it.

For one file: hash it and stage a compressed copy; run its parser, staging every table's rows
in uncommitted Parquet files (day by day, in bounded memory); if any row is bad the parser
raises, every staged file is deleted and nothing is visible. Otherwise each (table, scope) is
committed in one Delta commit: ``merge`` (newest wins by the table's key, ordered by report end
day, fetched_at, ingested_at) where the lake already holds rows of that source, scope and days,
a plain add where it does not; snapshot tables (seats, team membership of a day, a developers
roster) replace their day. Then the raw file joins the archive (``--reprocess`` re-derives
everything from there) and a ``source_runs`` row records the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from codex_metrics.errors import InputFormatError
from codex_metrics.lake import Lake, Replacement, WriteReport, source_run
from codex_metrics.telemetry.ingest._records import (
    Coverage,
    EntityType,
    IngestOptions,
    ParsedBatch,
    Reject,
    SlowPathNeeded,
    utc_now,
)
from codex_metrics.telemetry.ingest._staging import Stage
from codex_metrics.telemetry.ingest.archive import (
    RAW_DIR,
    ArchiveEntry,
    archive_entries,
    find_entry,
    stage_file,
)
from codex_metrics.telemetry.ingest.codex_otel import parse_otel_logs
from codex_metrics.telemetry.ingest.copilot_report import (
    parse_copilot_legacy,
    parse_copilot_report,
)
from codex_metrics.telemetry.ingest.people_csv import parse_developers, parse_survey
from codex_metrics.telemetry.ingest.seats import parse_seats

__all__ = ["FORMATS", "Format", "IngestReport", "Parser", "ingest_file", "reprocess"]

Parser = Callable[[Path, IngestOptions], Iterator[ParsedBatch]]


@dataclass(frozen=True)
class Format:
    """An ingest command: its parser, the lake source of its rows, tables replaced per day.

    :data:`FORMATS` holds the vendor formats this package parses. A layer above may add its own
    (the CLI adds ``experiment`` and ``assignments``, whose parsers live in the experiment
    engine) by passing ``formats`` to :func:`ingest_file` and :func:`reprocess`.
    """

    command: str
    source: str
    parse: Parser
    tables: tuple[str, ...]
    replaces: tuple[str, ...] = ()


FORMATS: dict[str, Format] = {
    f.command: f
    for f in (
        Format(
            "copilot-report",
            "copilot-report",
            parse_copilot_report,
            ("copilot_user_daily", "usage_daily", "copilot_entity_daily", "team_members"),
            replaces=("team_members",),
        ),
        Format("copilot-legacy", "copilot-legacy", parse_copilot_legacy, ("copilot_entity_daily",)),
        Format(
            "codex-otel", "codex-otel", parse_otel_logs, ("codex_requests", "codex_tool_events")
        ),
        Format("seats", "copilot-seats", parse_seats, ("seats",), replaces=("seats",)),
        Format(
            "developers",
            "developers-csv",
            parse_developers,
            ("developers",),
            replaces=("developers",),
        ),
        Format("survey", "survey-csv", parse_survey, ("surveys",)),  # fmt: skip
    )
}


@dataclass
class IngestReport:
    """What ingesting one file did."""

    path: Path
    command: str
    source: str
    scopes: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    rejects_file: Path | None = None
    archive: Path | None = None
    fetched_at: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None
    versions: dict[str, int | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (CLI JSON output)."""
        return {
            "file": str(self.path),
            "command": self.command,
            "source": self.source,
            "scopes": self.scopes,
            "rows": self.rows,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "archive": str(self.archive) if self.archive else None,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "versions": self.versions,
        }


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _overlaps(lake: Lake, table: str, source: str, scope: str, days: set[date | None]) -> bool:
    snapshot = lake.snapshot(sources="all")
    return any(
        f.source == source
        and f.scope == scope
        and f.day in days
        or f.source is None
        and f.day in days
        for f in snapshot.tables[table].files
    )


def _commit(lake: Lake, fmt: Format, stage: Stage) -> WriteReport:
    pending = stage.writer.pending
    days = set(pending.days)
    replace_day = stage.table in fmt.replaces
    with lake.lock(f"ingest-{stage.table}", what=f"ingesting into {stage.table}"):
        merge = not replace_day and _overlaps(lake, stage.table, fmt.source, stage.scope, days)
        try:
            return lake.commit(
                stage.table,
                [replace(pending, mode="merge" if merge else "replace")],
                Replacement(fmt.source, stage.scope, frozenset(days)),
                info={"operation_detail": f"ingest {fmt.command}"},
            )
        finally:
            stage.writer.release()


def _parse_all(
    lake: Lake, fmt: Format, path: Path, options: IngestOptions, ingested_at: datetime
) -> tuple[dict[tuple[str, str], Stage], list[Reject], list[Coverage]]:
    """Parse and stage the file; read it again line by line if the fast reader had doubts."""
    try:
        return _stage_all(lake, fmt, path, options, ingested_at)
    except SlowPathNeeded:
        return _stage_all(lake, fmt, path, replace(options, fast=False), ingested_at)


def _stage_all(
    lake: Lake, fmt: Format, path: Path, options: IngestOptions, ingested_at: datetime
) -> tuple[dict[tuple[str, str], Stage], list[Reject], list[Coverage]]:
    stages: dict[tuple[str, str], Stage] = {}
    rejects: list[Reject] = []
    coverage: list[Coverage] = []
    try:
        for batch in fmt.parse(path, options):
            rejects += batch.rejects
            coverage += batch.coverage
            for table, data in batch.tables.items():
                if data.num_rows == 0:
                    continue
                key = (table, batch.scope)
                if key not in stages:
                    stages[key] = Stage(lake, table, fmt.source, batch.scope, ingested_at)
                stages[key].add(data)
        for stage in stages.values():
            stage.finish()
    except BaseException:
        for stage in stages.values():
            stage.writer.abort()
        raise
    return stages, rejects, coverage


def ingest_file(
    lake: Lake,
    path: Path,
    command: str,
    options: IngestOptions,
    *,
    fetched_at: datetime | None = None,
    invocation_id: str | None = None,
    parameters: dict[str, Any] | None = None,
    from_archive: ArchiveEntry | None = None,
    formats: Mapping[str, Format] | None = None,
) -> IngestReport:
    """Validate, commit and archive one file; record a ``source_runs`` row.

    Args:
        lake: the lake.
        path: the file (plain, gzip or zstd).
        command: a key of :data:`FORMATS` (``copilot-report``, ``codex-otel``, ...).
        options: parser options; its ``fetched_at`` is replaced by the resolved one.
        fetched_at: ``--fetched-at``; default: the archive's record of this file, else the
            file's modification time.
        invocation_id: shared by the files of one command (``source_runs.invocation_id``).
        parameters: the options to record with the archive and the run (no secrets).
        from_archive: the archive record of ``path`` when reprocessing it (nothing is staged;
            its rejects file is rewritten).
        formats: the formats ``command`` is looked up in (default :data:`FORMATS`).

    Raises:
        InputFormatError: a bad file; nothing is written.
    """
    fmt = (formats or FORMATS)[command]
    raw = lake.hidden_dir / RAW_DIR
    parameters = {**recorded_options(options), **(parameters or {})}
    if not path.is_file():
        raise InputFormatError(path, "no such file")
    # Hash and compress the raw file on a second thread while the parser reads it (both
    # release the GIL); the fetch time an earlier archive recorded is needed before parsing
    # only when --fetched-at is not given.
    with ThreadPoolExecutor(max_workers=1) as pool:
        archiving = pool.submit(stage_file, path, raw) if from_archive is None else None
        staged = None
        try:
            if fetched_at is None and archiving is not None:
                staged = archiving.result()
            known = find_entry(raw, command, staged.digest) if staged else from_archive
            when = fetched_at or (known.fetched if known else None) or _mtime(path)
            opts = replace(options, fetched_at=when)
            stages, rejects, coverage = _parse_all(lake, fmt, path, opts, utc_now())
            if archiving is not None and staged is None:
                staged = archiving.result()
                known = find_entry(raw, command, staged.digest)
        except BaseException:
            if archiving is not None:
                with suppress(BaseException):
                    archiving.result().drop()
            raise
    if options.before_commit is not None and stages:
        try:
            options.before_commit()
        except BaseException:
            for stage in stages.values():
                stage.writer.abort()
            if staged:
                staged.drop()
            raise
    report = IngestReport(path, command, fmt.source, fetched_at=when, rejected=len(rejects))
    report.scopes = sorted({s.scope for s in stages.values()} | {c.scope for c in coverage})
    days = [d for s in stages.values() for d in s.writer.pending.days if d is not None]
    days += [d for c in coverage for d in (c.first_day, c.last_day) if d is not None]
    report.first_day, report.last_day = (min(days), max(days)) if days else (None, None)
    with source_run(
        lake,
        source=fmt.source,
        scope=",".join(report.scopes) or "default",
        run_kind="ingest",
        command=f"ingest {fmt.command}",
        parameters=parameters,
        invocation_id=invocation_id,
    ) as record:
        record.inputs = [path.name]
        record.rows_rejected = len(rejects)
        for stage in stages.values():
            result = _commit(lake, fmt, stage)
            report.rows[stage.table] = report.rows.get(stage.table, 0) + stage.writer.rows
            report.versions[stage.table] = result.version
            record.wrote(stage.table, stage.writer.rows)
        record.data_first_day, record.data_last_day = report.first_day, report.last_day
    entry = known
    if staged:
        entry = known or ArchiveEntry(command, path.name, staged.digest, staged.size,
                                      when.isoformat(), utc_now().isoformat())  # fmt: skip
        entry.options = dict(parameters or {})
        staged.keep(entry, raw)
    if entry is not None:
        entry.scopes, entry.rejected = report.scopes, len(rejects)
        entry.save(raw)
        report.archive = entry.data_path(raw)
        report.rejects_file = entry.save_rejects(raw, rejects)
    return report


def recorded_options(options: IngestOptions) -> dict[str, Any]:
    """The options a file was read with, as kept in its archive record (for ``--reprocess``)."""
    return {
        "org": options.org,
        "entity": options.entity_type,
        "map": dict(options.column_map),
        "skip_bad_lines": options.skip_bad_lines,
    }


def reprocess(
    lake: Lake,
    options: IngestOptions,
    *,
    commands: Iterable[str] | None = None,
    on_file: Callable[[ArchiveEntry], None] | None = None,
    formats: Mapping[str, Format] | None = None,
) -> list[IngestReport]:
    """Re-ingest every archived file (of some commands) with today's parsers.

    The rows the archived commands' sources wrote are removed first (one commit per table),
    then each file is read with the options recorded in its archive and its recorded fetch
    time, in fetch order: the lake ends as if the files had been ingested again today.
    ``formats`` are the formats the archived commands are looked up in (default
    :data:`FORMATS`); archives of a command not among them are left alone.
    """
    known = formats or FORMATS
    raw = lake.hidden_dir / RAW_DIR
    entries = [e for e in archive_entries(raw, commands) if e.command in known]
    for command in sorted({e.command for e in entries}):
        fmt = known[command]
        for table in fmt.tables:
            lake.commit(table, [], Replacement(fmt.source, None, None), info={"reprocess": True})
    reports = []
    for entry in entries:
        if on_file:
            on_file(entry)
        recorded = entry.options
        entity: EntityType | None = recorded.get("entity")
        opts = replace(
            options,
            org=recorded.get("org"),
            entity_type=entity,
            column_map=dict(recorded.get("map") or {}),
            skip_bad_lines=bool(recorded.get("skip_bad_lines")),
        )
        report = ingest_file(
            lake, entry.data_path(raw), entry.command, opts, parameters=recorded,
            from_archive=entry, formats=known,
        )  # fmt: skip
        reports.append(report)
    return reports
