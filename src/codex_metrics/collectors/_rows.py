"""Turning API items into lake rows, and reading back what the lake already holds.

Row builders read only the fields they know (a field GitHub adds tomorrow is ignored, a field
an older server omits becomes null) and fail on a missing *required* field with the URL and
the field's name. People become pseudonyms with the lake's keyed hash before a row exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

import duckdb
import pyarrow as pa

from codex_metrics.errors import ResponseFormatError
from codex_metrics.lake import Lake, WriteReport, table_spec

__all__ = [
    "Pseudonym",
    "day_of",
    "is_bot",
    "parse_time",
    "require",
    "rows_table",
    "scope_rows",
    "write_rows",
]

Pseudonym = Callable[[str], str]


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` or an offset) or epoch seconds as a UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def require(item: Mapping[str, Any], name: str, url: str) -> Any:
    """``item[name]``, or a :class:`ResponseFormatError` naming the field and the URL."""
    value = item.get(name) if isinstance(item, Mapping) else None
    if value is None:
        raise ResponseFormatError(
            f"an item lacks the field {name!r} the API documents; the server may be an old "
            "GitHub Enterprise Server or a proxy changed the answer",
            url=url,
        )
    return value


def is_bot(user: Mapping[str, Any] | None) -> bool:
    """GitHub's ``type`` says Bot, or the login ends in ``[bot]``."""
    if not user:
        return False
    return str(user.get("type", "")).lower() == "bot" or str(user.get("login", "")).endswith(
        "[bot]"
    )


def rows_table(table: str, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with the table's declared columns (plus ``day``)."""
    spec = table_spec(table)
    schema = spec.arrow_schema()
    fields = [pa.field(f.name, f.type, nullable=True) for f in schema]
    if spec.partitioning == "day":
        fields.append(pa.field("day", pa.date32()))
    keep = pa.schema(fields)
    return pa.Table.from_pylist(
        [{f.name: r.get(f.name) for f in keep} for r in rows],
        schema=keep,
    ).drop_columns([c for c in ("source", "scope", "ingested_at", "run_id")])


def _not_older(row: Mapping[str, Any], held: Mapping[str, Any], order: Sequence[str]) -> bool:
    """Whether ``row`` is at least as new as ``held`` by every ordering column (nulls oldest)."""
    for c in order:
        a, b = row.get(c), held.get(c)
        if a is None and b is not None:
            return False
        if a is not None and b is not None and a < b:
            return False
    return True


def _newest_per_key(table: str, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One row per key and day: the newest by ``newest_by`` (later rows win ties).

    A day-partitioned table's key holds within a day (the lake merges day by day).
    """
    spec = table_spec(table)
    order = [c for c in spec.newest_by if c != "ingested_at"]
    keys = ("day", *spec.key) if spec.partitioning == "day" else spec.key
    best: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        key = tuple(row.get(k) for k in keys)
        held = best.get(key)
        if held is None or _not_older(row, held, order):
            best[key] = row
    return list(best.values())


def write_rows(
    lake: Lake,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    source: str,
    scope: str,
) -> WriteReport | None:
    """Upsert ``rows`` by the table's key for (source, scope); ``None`` when there are none.

    Days that hold no row of (source, scope) yet are written in one ``replace`` commit (nothing
    to merge: a first collection of thousands of days stays fast); days that do are merged by
    key, newest wins, in a second commit. Duplicates within ``rows`` keep the newest.
    """
    if not rows:
        return None
    rows = _newest_per_key(table, rows)
    snapshot = lake.snapshot(sources="all")
    held = snapshot.tables.get(table)
    taken = {
        f.day
        for f in (held.files if held is not None else ())
        if not f.homogeneous or (f.source == source and f.scope == scope)
    }
    fresh = [r for r in rows if r.get("day") not in taken]
    touched = [r for r in rows if r.get("day") in taken]
    total = WriteReport(table=table)
    parts: tuple[tuple[list[Mapping[str, Any]], Literal["replace", "merge"]], ...] = (
        (fresh, "replace"),
        (touched, "merge"),
    )
    for part, mode in parts:
        if not part:
            continue
        report = lake.write_table(
            table, rows_table(table, part), source=source, scope=scope, mode=mode
        )
        total.version = report.version
        total.rows_written += report.rows_written
        total.rows_removed += report.rows_removed
        total.files_published += report.files_published
        total.days = sorted({*total.days, *report.days})
    return total


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scope_rows(
    lake: Lake, table: str, *, source: str, scope: str, sql: str, params: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the current rows of (source, scope) in ``table``, named ``t``.

    Reads only the files holding that scope (the statistics say which), so a collector asking
    what it wrote before does not open the whole lake.
    """
    held = lake.snapshot(sources="all").tables.get(table)
    files = [
        f
        for f in (held.files if held is not None else ())
        if not f.homogeneous or (f.source == source and f.scope == scope)
    ]
    if not files:
        return []
    paths = ", ".join(_quote(str(lake.table_dir(table) / f.path)) for f in files)
    day = "* REPLACE (CAST(day AS DATE) AS day)" if table_spec(table).partitioning == "day" else "*"
    con = duckdb.connect()
    try:
        con.execute(
            f"CREATE VIEW t AS SELECT {day} FROM read_parquet([{paths}], hive_partitioning = "
            f"true, union_by_name = true) WHERE source = {_quote(source)} AND scope = "
            f"{_quote(scope)}"
        )
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def day_of(ts: datetime) -> date:
    """The UTC day of a timestamp."""
    return ts.astimezone(UTC).date()
