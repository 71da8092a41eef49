"""GitHub's per-user Copilot report rows and user-teams rows -> lake tables, vectorised.

A per-user row (``users-1-day``, ``users-28-day``: one JSON object per line, or wrapped in
``{..., "day_totals": [...]}`` as copilot-metrics-viewer's mocks are) becomes one
``copilot_user_daily`` row (totals, ``used_*`` flags, AI credits, adoption phase, CLI figures)
and ``usage_daily`` rows: a ``total`` row from its top-level counters and one row per element
of each ``totals_by_*`` array, named by ``breakdown`` (DESIGN.md: a metric reads one breakdown,
never sums across them). A counter the vendor left out is null in ``copilot_user_daily`` and 0
in ``usage_daily``; a missing top-level counter is the sum of the row's ``totals_by_feature``.
User-teams rows (``user-teams-1-day``) become ``team_members`` rows for their day.

Logins become pseudonyms (the caller's ``pseudonymise``; each distinct login is hashed once);
the numeric ``user_id`` is used only when a row has no login, and is never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codex_metrics.lake.schema import BREAKDOWN_DIMENSIONS, USAGE_COUNTERS, UTC_TS
from codex_metrics.telemetry.ingest._copilot_common import (
    ALIASES,
    BREAKDOWN_ARRAYS,
    breakdown_item,
    counter_fields,
    entity_columns,
)
from codex_metrics.telemetry.ingest._records import Coverage, IngestOptions, ParsedBatch
from codex_metrics.telemetry.ingest._rows import counter, day_field, field

__all__ = [
    "USED_FLAGS",
    "USER_ROW",
    "USER_TEAM_ROW",
    "has_identity",
    "missing_identity",
    "pseudonymise_column",
    "team_batches",
    "user_batches",
]

_S, _I64, _F64, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
USED_FLAGS = (
    "chat agent cli copilot_coding_agent copilot_cloud_agent copilot_code_review_active "
    "copilot_code_review_passive"
).split()
_IDENTITY = [field("user_id", _I64), field("user_login", _S), day_field("day", required=True)]
_ENTITY = [field("organization_id", _S, coerce=True), field("enterprise_id", _S, coerce=True)]
_CLI = pa.struct(
    [
        counter("session_count"),
        counter("request_count"),
        counter("prompt_count"),
        field(
            "token_usage",
            pa.struct([counter("prompt_tokens_sum"), counter("output_tokens_sum")]),
        ),
        field("last_known_cli_version", pa.struct([field("cli_version", _S, coerce=True)])),
    ]
)
#: One per-user report row, as far as the lake uses it (other fields are ignored).
USER_ROW = pa.schema(
    [
        *_IDENTITY,
        *_ENTITY,
        day_field("report_start_day"),
        day_field("report_end_day"),
        *counter_fields(),
        *(field(f"used_{f}", _B) for f in USED_FLAGS),
        counter("ai_credits_used", _F64),
        field(
            "ai_adoption_phase",
            pa.struct(
                [
                    field("phase", _S, coerce=True),
                    field("phase_number", _I64),
                    field("version", _S, coerce=True),
                ]
            ),
        ),
        field("totals_by_cli", _CLI),
        *(
            field(array, pa.list_(breakdown_item(b, versions=b == "ide")))
            for b, array in BREAKDOWN_ARRAYS.items()
        ),
    ]
)
#: One user-teams report row.
USER_TEAM_ROW = pa.schema(
    [*_IDENTITY, *_ENTITY, field("team_id", _I64), field("slug", _S, coerce=True)]
)


def has_identity(table: pa.Table) -> bool:
    """Whether every row names its user (``user_login`` or ``user_id``)."""
    both = pc.and_(pc.is_null(table.column("user_login")), pc.is_null(table.column("user_id")))
    return not pc.any(both).as_py()


def missing_identity(row: Mapping[str, Any]) -> str | None:
    """The slow-path twin of :func:`has_identity`."""
    if row.get("user_login") is None and row.get("user_id") is None:
        return "names neither user_login nor user_id"
    return None


def pseudonymise_column(
    values: pa.ChunkedArray | pa.Array, pseudonymise: Callable[[str], str], cache: dict[str, str]
) -> pa.Array:
    """Pseudonyms of a string column, hashing each distinct value once (``cache`` carries over)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    encoded = arr.dictionary_encode()
    mapped = []
    for value in encoded.dictionary.to_pylist():
        if value not in cache:
            cache[value] = pseudonymise(value)
        mapped.append(cache[value])
    return pa.DictionaryArray.from_arrays(encoded.indices, pa.array(mapped, _S)).cast(_S)


def _identity(table: pa.Table) -> pa.ChunkedArray:
    ids = pc.binary_join_element_wise("github-id:", table.column("user_id").cast(_S), "")
    return pc.coalesce(table.column("user_login"), ids)


def _with_context(table: pa.Table, context: Mapping[str, Any]) -> pa.Table:
    """Fill row fields from the wrapping document (report days, entity ids)."""
    for name in ("organization_id", "enterprise_id", "report_start_day", "report_end_day"):
        if context.get(name) is not None and name in table.column_names:
            filled = pc.coalesce(table.column(name), pa.scalar(str(context[name]), _S))
            table = table.set_column(table.schema.get_field_index(name), name, filled)
    return table


def _counter(source: Any, name: str) -> Any:
    value = pc.struct_field(source, name) if not isinstance(source, pa.Table) else source[name]
    if name in ALIASES:
        alias = (
            pc.struct_field(source, ALIASES[name])
            if not isinstance(source, pa.Table)
            else source[ALIASES[name]]
        )
        value = pc.coalesce(value, alias)
    return value


def _list_sums(lists: pa.ChunkedArray, name: str, n: int) -> pa.Array:
    """Per row, the sum of ``name`` over the row's list elements (null: no element has it)."""
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists)
    values = _counter(flat, name)
    sums = pa.table({"p": parents, "v": values}).group_by("p").aggregate([("v", "sum")])
    out = np.full(n, np.nan)
    present = np.zeros(n, dtype=bool)
    valid = sums.filter(pc.is_valid(sums["v_sum"]))
    idx = valid["p"].to_numpy()
    out[idx] = valid["v_sum"].to_numpy()
    present[idx] = True
    return pa.array(out, _F64, mask=~present).cast(_I64)


def _user_daily(raw: pa.Table, base: dict[str, Any], context: Mapping[str, Any]) -> pa.Table:
    n = raw.num_rows
    cli = raw.column("totals_by_cli")
    phase = raw.column("ai_adoption_phase")
    cols: dict[str, Any] = {
        "developer_id": base["developer_id"],
        "org": base["org"],
        "entity_type": base["entity_type"],
        "organization_id": raw.column("organization_id"),
        "enterprise_id": raw.column("enterprise_id"),
        **{c: _counter(raw, c) for c in USAGE_COUNTERS},
        "cli_session_count": pc.struct_field(cli, "session_count"),
        "cli_request_count": pc.struct_field(cli, "request_count"),
        "cli_prompt_count": pc.struct_field(cli, "prompt_count"),
        "cli_prompt_tokens_sum": pc.struct_field(cli, ["token_usage", "prompt_tokens_sum"]),
        "cli_output_tokens_sum": pc.struct_field(cli, ["token_usage", "output_tokens_sum"]),
        **{f"used_{f}": raw.column(f"used_{f}") for f in USED_FLAGS},
        "ai_credits_used": raw.column("ai_credits_used"),
        "ai_adoption_phase": pc.struct_field(phase, "phase"),
        "ai_adoption_phase_number": pc.struct_field(phase, "phase_number").cast(pa.int32()),
        "ai_adoption_phase_version": pc.struct_field(phase, "version"),
        "cli_version": pc.struct_field(cli, ["last_known_cli_version", "cli_version"]),
        "ide_versions": _ide_versions(raw.column("totals_by_ide")),
        "report_start_day": base["report_start_day"],
        "report_end_day": base["report_end_day"],
        "report_created_at": _timestamps(context.get("created_at"), n),
        "fetched_at": base["fetched_at"],
        "day": base["day"],
    }
    return pa.table(cols)


def _timestamps(value: Any, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, UTC_TS)
    try:
        return pa.array([str(value)] * n, _S).cast(UTC_TS)
    except pa.ArrowInvalid:
        return pa.nulls(n, UTC_TS)


def _ide_versions(ides: pa.ChunkedArray) -> pa.Array:
    """``totals_by_ide[].last_known_*`` as one list of version structs per row."""
    arr = ides.combine_chunks()
    flat = pc.list_flatten(arr)
    ide_v = pc.struct_field(flat, "last_known_ide_version")
    plugin = pc.struct_field(flat, "last_known_plugin_version")
    sampled = pc.coalesce(
        pc.struct_field(ide_v, "sampled_at"), pc.struct_field(plugin, "sampled_at")
    )
    try:
        sampled_ts = sampled.cast(UTC_TS)
    except pa.ArrowInvalid:  # an unparseable sample time is not worth failing a file
        sampled_ts = pa.nulls(len(sampled), UTC_TS)
    values = pa.StructArray.from_arrays(
        [
            pc.struct_field(flat, "ide"),
            pc.struct_field(ide_v, "ide_version"),
            pc.struct_field(plugin, "plugin"),
            pc.struct_field(plugin, "plugin_version"),
            sampled_ts,
        ],
        names=["ide", "ide_version", "plugin", "plugin_version", "sampled_at"],
    )
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=pc.is_null(arr))


def _usage(raw: pa.Table, base: dict[str, Any]) -> pa.Table:
    n = raw.num_rows
    keys = ("developer_id", "org", "entity_type", "report_start_day", "report_end_day", "day")
    parts = []
    total: dict[str, Any] = {k: base[k] for k in keys}
    total["breakdown"] = pa.array(["total"] * n, _S)
    for c in USAGE_COUNTERS:
        top = _counter(raw, c)
        if top.null_count:  # a counter left out: the sum of the row's features
            top = pc.coalesce(top, _list_sums(raw.column("totals_by_feature"), c, n))
        total[c] = pc.fill_null(top, 0)
    for flag in ("chat", "agent", "cli"):
        total[f"used_{flag}"] = raw.column(f"used_{flag}")
    total["fetched_at"] = base["fetched_at"]
    parts.append(pa.table(total))
    for breakdown, array in BREAKDOWN_ARRAYS.items():
        lists = raw.column(array)
        flat = pc.list_flatten(lists)
        parents = pc.list_parent_indices(lists)
        m = len(flat)
        rows: dict[str, Any] = {k: pc.take(base[k], parents) for k in keys}
        rows["breakdown"] = pa.array([breakdown] * m, _S)
        for dim in BREAKDOWN_DIMENSIONS[breakdown]:
            rows[dim] = pc.struct_field(flat, dim)
        for c in USAGE_COUNTERS:
            rows[c] = pc.fill_null(_counter(flat, c), 0)
        rows["fetched_at"] = pc.take(base["fetched_at"], parents)
        parts.append(pa.table(rows))
    return pa.concat_tables(parts, promote_options="default")


def user_batches(
    raw: pa.Table,
    options: IngestOptions,
    cache: dict[str, str],
    context: Mapping[str, Any] | None = None,
) -> Iterator[ParsedBatch]:
    """The lake rows of checked per-user rows, one batch per scope (org or enterprise).

    Raises:
        ValueError: a row names no entity and no ``--org`` was given.
    """
    context = context or {}
    raw = _with_context(raw, context)
    n = raw.num_rows
    if n == 0:
        return
    entity, org = entity_columns(
        raw.column("organization_id"), raw.column("enterprise_id"), options
    )
    day = raw.column("day")
    base = {
        "developer_id": pseudonymise_column(_identity(raw), options.pseudonymise, cache),
        "org": org,
        "entity_type": entity,
        "day": day.cast(pa.date32()),
        "report_start_day": pc.coalesce(raw.column("report_start_day"), day).cast(pa.date32()),
        "report_end_day": pc.coalesce(raw.column("report_end_day"), day).cast(pa.date32()),
        "fetched_at": pa.array(np.full(n, int(options.fetched_at.timestamp() * 1e6)), _I64).cast(
            UTC_TS
        ),
    }
    users, usage = _user_daily(raw, base, context), _usage(raw, base)
    scopes = pc.binary_join_element_wise(entity, org, "/")
    for scope in pc.unique(scopes).to_pylist():
        mask = pc.equal(scopes, scope)
        u = users.filter(mask) if len(pc.unique(scopes)) > 1 else users
        usage_scope = pc.binary_join_element_wise(usage["entity_type"], usage["org"], "/")
        d = usage.filter(pc.equal(usage_scope, scope)) if u is not users else usage
        yield ParsedBatch(
            scope=scope,
            tables={"copilot_user_daily": u, "usage_daily": d},
            coverage=[Coverage(scope, pc.min(u["report_start_day"]).as_py(),
                               pc.max(u["report_end_day"]).as_py())],
        )  # fmt: skip


def team_batches(
    raw: pa.Table, options: IngestOptions, cache: dict[str, str]
) -> Iterator[ParsedBatch]:
    """``team_members`` rows of checked user-teams rows, one batch per scope."""
    if raw.num_rows == 0:
        return
    entity, org = entity_columns(
        raw.column("organization_id"), raw.column("enterprise_id"), options
    )
    team = pc.coalesce(raw.column("slug"), raw.column("team_id").cast(_S))
    table = pa.table(
        {
            "developer_id": pseudonymise_column(_identity(raw), options.pseudonymise, cache),
            "team": team,
            "org": org,
            "day": raw.column("day").cast(pa.date32()),
        }
    )
    scopes = pc.binary_join_element_wise(entity, org, "/")
    for scope in pc.unique(scopes).to_pylist():
        yield ParsedBatch(
            scope=scope, tables={"team_members": table.filter(pc.equal(scopes, scope))}
        )
