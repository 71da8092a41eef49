"""The Copilot seats export (``GET /orgs/{org}/copilot/billing/seats``) -> a ``seats`` snapshot.

A file is one response page ``{"total_seats": N, "seats": [...]}``, an array of pages, pages on
separate lines, or a bare array of seat objects. All seats of a file form the snapshot of the
day the file was fetched (``--fetched-at``, else the raw archive's time, else the file's
modification time): seat analyses read the latest snapshot at or before each day. The export
does not name its organization, so ``--org`` says whose seats they are. An enterprise export
can list a person once per organization that assigned a seat; the snapshot keeps one seat per
person, the one with the latest activity.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from codex_metrics.errors import InputFormatError
from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
from codex_metrics.lake.tables import TABLES
from codex_metrics.telemetry.ingest._copilot_common import scope_of
from codex_metrics.telemetry.ingest._kinds import kind_of, wrong_kind_message
from codex_metrics.telemetry.ingest._reading import load_documents
from codex_metrics.telemetry.ingest._records import Coverage, IngestOptions, ParsedBatch, Reject
from codex_metrics.telemetry.ingest._rows import RowError, check_row, day_field, field

__all__ = ["SEAT", "parse_seats"]

_S = pa.string()
#: One seat object, as far as the lake uses it.
SEAT = pa.schema(
    [
        field("created_at", _S, required=True),
        field("last_activity_at", _S),
        field("last_activity_editor", _S, coerce=True),
        field("plan_type", _S, coerce=True),
        day_field("pending_cancellation_date"),
        field("assignee", pa.struct([field("login", _S, coerce=True), field("id", _S, coerce=True)]),
              required=True),
    ]
)  # fmt: skip


def _timestamp(value: str | None, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        return pa.scalar(value).cast(pa.timestamp("us", tz="UTC")).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise RowError(where, f"{value!r} is not a timestamp") from None


def _seat_objects(path: Path) -> Iterator[tuple[Any, str, int | None]]:
    for doc in load_documents(path):
        line = doc.line if doc.several else None
        value = doc.value
        pages = value if isinstance(value, list) and kind_of(value) == "seats" else [value]
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and "assignee" in v for v in value)
        ):
            yield from ((s, f"$[{i}]", line) for i, s in enumerate(value))
            continue
        for p, page in enumerate(pages):
            if kind_of(page) != "seats":
                keys = list(page) if isinstance(page, dict) else None
                message = wrong_kind_message(kind_of(page), "seats", keys)
                raise InputFormatError(path, message, line=line)
            prefix = f"$[{p}]" if page is not value else "$"
            seats = page.get("seats") or []
            if not isinstance(seats, list):
                raise InputFormatError(path, "must be an array", line=line, field=f"{prefix}.seats")
            yield from ((s, f"{prefix}.seats[{i}]", line) for i, s in enumerate(seats))


def parse_seats(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
    """The ``seats`` snapshot of a seats export, on the day it was fetched.

    Raises:
        InputFormatError: no ``--org``, another kind of file, or a bad seat (JSON path, field).
    """
    if not options.org:
        raise InputFormatError(
            path, "a seats export does not name its organization; pass --org ORG"
        )
    rejects: list[Reject] = []
    best: dict[str, dict[str, Any]] = {}
    for obj, where, line in _seat_objects(path):
        try:
            seat = check_row(obj, SEAT, prefix=where)
            who = seat["assignee"]["login"] or seat["assignee"]["id"]
            if who is None:
                raise RowError(f"{where}.assignee.login", "is missing")
            row = {
                "developer_id": options.pseudonymise(str(who)),
                "org": options.org,
                "assigned_at": _timestamp(seat["created_at"], f"{where}.created_at"),
                "last_activity_at": _timestamp(
                    seat["last_activity_at"], f"{where}.last_activity_at"
                ),
                "plan": (seat["plan_type"] or "unknown").lower(),
                "pending_cancellation_date": seat["pending_cancellation_date"],
                "last_activity_editor": seat["last_activity_editor"],
            }
        except RowError as exc:
            if not options.skip_bad_lines:
                raise InputFormatError(path, exc.message, line=line, field=exc.field) from None
            rejects.append(Reject(line, exc.field, exc.message, str(obj)[:20_000]))
            continue
        kept = best.get(row["developer_id"])
        if kept is None or _activity(kept) <= _activity(row):
            best[row["developer_id"]] = row
    day = options.fetched_at.date()
    rows = list(best.values())
    tables = {"seats": _table(rows, day)} if rows else {}
    scope = scope_of(options.entity_type or "org", options.org)
    yield ParsedBatch(scope, tables, rejects, coverage=[Coverage(scope, day, day)])


def _activity(row: dict[str, Any]) -> float:
    stamp = row["last_activity_at"]
    return stamp.timestamp() if stamp is not None else float("-inf")


def _table(rows: list[dict[str, Any]], day: date) -> pa.Table:
    cols = {}
    for c in TABLES["seats"].columns:
        if c.name in BOOKKEEPING_COLUMNS:
            continue
        values = [r.get(c.name) for r in rows]
        if c.name == "pending_cancellation_date":
            cols[c.name] = pa.array(values, _S).cast(pa.date32())
        else:
            cols[c.name] = pa.array(values, c.type)
    cols["day"] = pa.array([day] * len(rows), pa.date32())
    return pa.table(cols)
