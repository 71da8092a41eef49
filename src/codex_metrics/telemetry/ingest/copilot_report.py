"""``ingest copilot-report`` and ``ingest copilot-legacy``: read any layout, dispatch by keys.

A Copilot file is read as JSON first and as documents on separate lines second (the tolerance
of copilot-metrics-viewer's parser); NDJSON whose first line is a per-user or user-teams row is
streamed in chunks instead. What each object is comes from its keys (``user_id``/``user_login``
make a per-user row, ``team_id``/``slug`` with them a user-teams row, ``day_totals`` an entity
report or the viewer's wrapper of user rows), so one command reads every report GitHub's
usage-metrics API delivers. copilot-metrics-viewer's pre-aggregated ``user_totals`` export is
refused with a message saying what it is; so is any other vendor file (seats, legacy metrics,
download links), naming the command that reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codex_metrics.errors import InputFormatError
from codex_metrics.telemetry.ingest._kinds import kind_of, wrong_kind_message
from codex_metrics.telemetry.ingest._reading import Document, load_documents, sniff
from codex_metrics.telemetry.ingest._records import (
    IngestOptions,
    ParsedBatch,
    Reject,
    document_rows,
    read_rows,
)
from codex_metrics.telemetry.ingest._rows import RowError
from codex_metrics.telemetry.ingest.copilot_entity import entity_batches
from codex_metrics.telemetry.ingest.copilot_legacy import legacy_batches
from codex_metrics.telemetry.ingest.copilot_users import (
    USER_ROW,
    USER_TEAM_ROW,
    has_identity,
    missing_identity,
    team_batches,
    user_batches,
)

__all__ = ["parse_copilot_legacy", "parse_copilot_report"]

#: Kinds that belong to another command (or to none): a file of them is refused whole.
KINDS_ELSEWHERE = ("legacy", "usage_api", "seats", "otlp", "viewer_user_totals", "download_links")

_HEADER_KEYS = ("report_start_day", "report_end_day", "report_day", "organization_id",
                "enterprise_id", "created_at")  # fmt: skip


class _Failures:
    """Bad elements: raise at once, or collect them with ``--skip-bad-lines``."""

    def __init__(self, path: Path, options: IngestOptions) -> None:
        self.path, self.options = path, options
        self.rejects: list[Reject] = []

    def __call__(self, line: int | None, field: str | None, message: str, obj: Any) -> None:
        if not self.options.skip_bad_lines:
            raise InputFormatError(self.path, message, line=line, field=field)
        self.rejects.append(Reject(line, field, message, json.dumps(obj, default=str)[:20_000]))

    def batch(self) -> Iterator[ParsedBatch]:
        if self.rejects:
            yield ParsedBatch(scope="", rejects=self.rejects)


def _entity_error(path: Path, exc: ValueError, line: int | None = None) -> InputFormatError:
    return InputFormatError(path, str(exc), line=line)


def _user_rows(
    path: Path,
    options: IngestOptions,
    cache: dict[str, str],
    rows: list[tuple[Any, str, int | None]] | None,
    context: dict[str, Any] | None = None,
) -> Iterator[ParsedBatch]:
    for table, rejects in read_rows(
        path, USER_ROW, options, documents=rows, accept=missing_identity, doubt=_no_identity
    ):
        try:
            yield from user_batches(table, options, cache, context)
        except ValueError as exc:
            raise _entity_error(path, exc) from None
        if rejects:
            yield ParsedBatch(scope="", rejects=rejects)


def _no_identity(table: Any) -> bool:
    return not has_identity(table)


def _no_team(row: dict[str, Any]) -> str | None:
    if row.get("slug") is None and row.get("team_id") is None:
        return "names neither slug nor team_id"
    return missing_identity(row)


def _team_rows(
    path: Path,
    options: IngestOptions,
    cache: dict[str, str],
    rows: list[tuple[Any, str, int | None]] | None,
) -> Iterator[ParsedBatch]:
    for table, rejects in read_rows(path, USER_TEAM_ROW, options, documents=rows, accept=_no_team):
        try:
            yield from team_batches(table, options, cache)
        except ValueError as exc:
            raise _entity_error(path, exc) from None
        if rejects:
            yield ParsedBatch(scope="", rejects=rejects)


def _document(
    path: Path, doc: Document, options: IngestOptions, cache: dict[str, str], fail: _Failures
) -> Iterator[ParsedBatch]:
    value = doc.value
    line = doc.line if doc.several else None
    kind = kind_of(value)
    if kind == "entity" and isinstance(value, dict):
        try:
            yield from entity_batches(value, options, where="$", line=line, fail=fail)
        except RowError as exc:
            raise InputFormatError(path, exc.message, line=line, field=exc.field) from None
        return
    if kind == "user_wrapper" and isinstance(value, dict):
        context = {k: value.get(k) for k in _HEADER_KEYS}
        rows = document_rows(doc, value.get("day_totals") or [], ".day_totals")
        yield from _user_rows(path, options, cache, rows, context)
        return
    if kind in ("user_row", "user_team_row") and isinstance(value, dict):
        rows = [(value, "$", line)]
        reader = _user_rows if kind == "user_row" else _team_rows
        yield from reader(path, options, cache, rows)
        return
    if isinstance(value, list) and kind not in KINDS_ELSEWHERE:
        yield from _array(path, value, line, options, cache, fail)
        return
    keys = list(value) if isinstance(value, dict) else None
    raise InputFormatError(path, wrong_kind_message(kind, "copilot-report", keys), line=line)


def _array(
    path: Path,
    items: list[Any],
    line: int | None,
    options: IngestOptions,
    cache: dict[str, str],
    fail: _Failures,
) -> Iterator[ParsedBatch]:
    """A JSON array: entity objects, wrapped reports, per-user rows or user-teams rows."""
    users: list[tuple[Any, str, int | None]] = []
    teams: list[tuple[Any, str, int | None]] = []
    for i, item in enumerate(items):
        where = f"$[{i}]"
        kind = kind_of(item)
        if kind == "entity":
            try:
                yield from entity_batches(item, options, where=where, line=line, fail=fail)
            except RowError as exc:
                raise InputFormatError(path, exc.message, line=line, field=exc.field) from None
        elif kind == "user_wrapper":
            context = {k: item.get(k) for k in _HEADER_KEYS}
            rows = [(r, f"{where}.day_totals[{j}]", line)
                    for j, r in enumerate(item.get("day_totals") or [])]  # fmt: skip
            yield from _user_rows(path, options, cache, rows, context)
        elif kind == "user_row":
            users.append((item, where, line))
        elif kind == "user_team_row":
            teams.append((item, where, line))
        else:
            keys = list(item) if isinstance(item, dict) else None
            message = wrong_kind_message(kind, "copilot-report", keys)
            fail(line, where, message, item)
    if users:
        yield from _user_rows(path, options, cache, users)
    if teams:
        yield from _team_rows(path, options, cache, teams)


def parse_copilot_report(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
    """Batches of any Copilot usage-metrics report file: entity, per-user or user-teams.

    Raises:
        InputFormatError: a bad or truncated file, a bad value (file, line or JSON path and
            field), or a file of another kind (saying what it is).
    """
    found = sniff(path)
    if found.layout == "empty":
        raise InputFormatError(path, "the file is empty")
    cache: dict[str, str] = {}
    if found.layout == "lines":
        kind = kind_of(found.first)
        if kind == "user_row":
            yield from _user_rows(path, options, cache, None)
            return
        if kind == "user_team_row":
            yield from _team_rows(path, options, cache, None)
            return
        if kind not in ("entity", "user_wrapper"):
            keys = list(found.first or {})
            raise InputFormatError(path, wrong_kind_message(kind, "copilot-report", keys), line=1)
    fail = _Failures(path, options)
    for doc in load_documents(path):
        yield from _document(path, doc, options, cache, fail)
    yield from fail.batch()


def parse_copilot_legacy(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
    """Batches of a legacy Copilot Metrics API export (an array of day objects).

    Raises:
        InputFormatError: a bad file or value, or a file of another kind.
    """
    fail = _Failures(path, options)
    days: list[tuple[Any, str, int | None]] = []
    for doc in load_documents(path):
        value = doc.value
        line = doc.line if doc.several else None
        items = value if isinstance(value, list) else [value]
        kind = kind_of(value)
        if kind != "legacy":
            keys = list(value) if isinstance(value, dict) else None
            raise InputFormatError(
                path, wrong_kind_message(kind, "copilot-legacy", keys), line=line
            )
        prefix = "$" if isinstance(value, list) else ""
        days += [(item, f"{prefix}[{i}]" if prefix else "$", line) for i, item in enumerate(items)]
    yield from legacy_batches(days, options, fail=fail)
    yield from fail.batch()
