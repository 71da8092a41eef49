"""GitHub's enterprise and organization Copilot reports -> ``copilot_entity_daily``.

An entity report (``organization-1-day``, ``organization-28-day``, the enterprise variants) is a
JSON object with a ``day_totals`` array, an array of such objects (one per entity), or several
such documents on separate lines. Each ``day_totals`` element becomes a ``total`` row (the
counters, GitHub's own distinct active-user counts, ``pull_requests``, ``totals_by_cli``) and
one row per element of each ``totals_by_*`` array, named by ``breakdown``. Files are small (one
element per day), so they are checked row by row and every error names its JSON path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import pyarrow as pa

from codex_metrics.lake.schema import BREAKDOWN_DIMENSIONS, USAGE_COUNTERS, UTC_TS
from codex_metrics.lake.tables import TABLES
from codex_metrics.telemetry.ingest._copilot_common import (
    BREAKDOWN_ARRAYS,
    breakdown_item,
    counter_fields,
    python_counters,
    python_entity,
    scope_of,
)
from codex_metrics.telemetry.ingest._records import Coverage, IngestOptions, ParsedBatch
from codex_metrics.telemetry.ingest._rows import check_row, counter, day_field, field

__all__ = ["ENTITY_DAY", "entity_batches", "entity_table", "report_days"]

_S, _F64 = pa.string(), pa.float64()
_SPEC = TABLES["copilot_entity_daily"]
#: GitHub's distinct active-user counts of a day (daily/weekly/monthly, by kind).
ACTIVE_USER_FIELDS = tuple(
    c.name for c in _SPEC.columns if "active" in c.name and c.name.endswith("_users")
)
_PR = [c for c in _SPEC.columns if c.name.startswith("pr_") and c.name != "pr_summaries_created"]
_COMMENT = pa.struct(
    [field("comment_type", _S, coerce=True), counter("total_copilot_suggestions"),
     counter("total_copilot_applied_suggestions")]
)  # fmt: skip
_PR_FIELDS = [
    field(c.name[3:], pa.list_(_COMMENT))
    if pa.types.is_list(c.type)
    else counter(c.name[3:], _F64 if pa.types.is_floating(c.type) else pa.int64())
    for c in _PR
]
_CLI = pa.struct(
    [counter("session_count"), counter("request_count"), counter("prompt_count"),
     field("token_usage", pa.struct([counter("prompt_tokens_sum"), counter("output_tokens_sum")]))]
)  # fmt: skip
#: One ``day_totals`` element of an entity report, as far as the lake uses it.
ENTITY_DAY = pa.schema(
    [
        day_field("day", required=True),
        field("organization_id", _S, coerce=True),
        field("enterprise_id", _S, coerce=True),
        *counter_fields(),
        *(counter(name) for name in ACTIVE_USER_FIELDS),
        field("pull_requests", pa.struct(_PR_FIELDS)),
        field("totals_by_cli", _CLI),
        *(field(a, pa.list_(breakdown_item(b))) for b, a in BREAKDOWN_ARRAYS.items()),
    ]
)
_HEADER = pa.schema(
    [day_field("report_start_day"), day_field("report_end_day"), day_field("report_day"),
     field("organization_id", _S, coerce=True), field("enterprise_id", _S, coerce=True),
     field("created_at", _S, coerce=True)]
)  # fmt: skip


def report_days(header: Mapping[str, Any], days: list[str]) -> tuple[date, date]:
    """The days a report covers: its declared start and end (1-day files: the day)."""
    start = header.get("report_start_day") or header.get("report_day") or min(days)
    end = header.get("report_end_day") or header.get("report_day") or max(days)
    return date.fromisoformat(start), date.fromisoformat(end)


def _base(row: dict[str, Any], entity: tuple[str, str]) -> dict[str, Any]:
    return {
        "entity_type": entity[0],
        "org": entity[1],
        "organization_id": row.get("organization_id"),
        "enterprise_id": row.get("enterprise_id"),
        "day": date.fromisoformat(row["day"]),
    }


def _total_row(row: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    out = {**base, "breakdown": "total", **python_counters(row)}
    out.update({name: row.get(name) for name in ACTIVE_USER_FIELDS})
    prs = row.get("pull_requests") or {}
    for c in _PR:
        out[c.name] = prs.get(c.name[3:])
    cli = row.get("totals_by_cli") or {}
    usage = cli.get("token_usage") or {}
    out.update(
        cli_session_count=cli.get("session_count"),
        cli_request_count=cli.get("request_count"),
        cli_prompt_count=cli.get("prompt_count"),
        cli_prompt_tokens_sum=usage.get("prompt_tokens_sum"),
        cli_output_tokens_sum=usage.get("output_tokens_sum"),
    )
    return out


def day_rows(row: dict[str, Any], entity: tuple[str, str]) -> list[dict[str, Any]]:
    """The lake rows of one checked ``day_totals`` element (total, then each breakdown)."""
    base = _base(row, entity)
    rows = [_total_row(row, base)]
    for breakdown, array in BREAKDOWN_ARRAYS.items():
        for item in row.get(array) or []:
            dims = {d: item.get(d) for d in BREAKDOWN_DIMENSIONS[breakdown]}
            counters = {c: v for c, v in python_counters(item).items() if c in USAGE_COUNTERS}
            rows.append({**base, "breakdown": breakdown, **dims, **counters})
    return rows


def entity_table(
    rows: list[dict[str, Any]],
    *,
    start: date,
    end: date,
    created_at: Any,
    options: IngestOptions,
) -> pa.Table:
    """``copilot_entity_daily`` rows (with ``day``) from plain dictionaries."""
    schema = _SPEC.arrow_schema()
    fields = [f for f in schema if f.name not in ("source", "scope", "ingested_at", "run_id")]
    created = None
    if created_at is not None:
        try:
            created = pa.scalar(str(created_at)).cast(UTC_TS).as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            created = None
    extra = {
        "report_start_day": start,
        "report_end_day": end,
        "report_created_at": created,
        "fetched_at": options.fetched_at,
    }
    full = [{**r, **extra} for r in rows]
    columns = {f.name: pa.array([r.get(f.name) for r in full], f.type) for f in fields}
    columns["day"] = pa.array([r["day"] for r in full], pa.date32())
    return pa.table(columns)


def entity_batches(
    obj: dict[str, Any],
    options: IngestOptions,
    *,
    where: str,
    line: int | None,
    fail: Any,
) -> Iterator[ParsedBatch]:
    """The batches of one entity object ``{..., "day_totals": [...]}`` found at ``where``.

    ``fail(line, field, message, text)`` reports a bad element (raises, or records a reject).
    """
    header = check_row(obj, _HEADER, prefix=where)
    by_entity: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i, element in enumerate(obj.get("day_totals") or []):
        path = f"{where}.day_totals[{i}]"
        try:
            row = check_row(element, ENTITY_DAY, prefix=path)
        except ValueError as exc:
            fail(line, getattr(exc, "field", path), getattr(exc, "message", str(exc)), element)
            continue
        entity = python_entity(row, header, options)
        if entity is None:
            fail(line, path, "names neither organization_id nor enterprise_id; pass --org", element)
            continue
        by_entity.setdefault(entity, []).extend(day_rows(row, entity))
    for entity, rows in by_entity.items():
        days = sorted({r["day"].isoformat() for r in rows})
        start, end = report_days(header, days)
        scope = scope_of(*entity)
        table = entity_table(
            rows, start=start, end=end, created_at=header.get("created_at"), options=options
        )
        yield ParsedBatch(
            scope=scope,
            tables={"copilot_entity_daily": table},
            coverage=[Coverage(scope, start, end)],
        )
