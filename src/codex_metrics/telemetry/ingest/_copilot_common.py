"""Vocabulary shared by the Copilot usage-metrics parsers: counters, breakdowns, entities.

GitHub's per-user and entity reports carry the same seven counters at the top level and in
each ``totals_by_*`` array; older files name two of them ``generated_loc_sum`` and
``accepted_loc_sum``. Every report is for an *entity*, an organization or an enterprise: a row
is stored under ``org`` (``--org``, else the vendor's id) and the lake scope
``<entity_type>/<org>``, so an org's and its enterprise's reports never replace each other, and
metrics read one of them per developer-day (org rows first, see docs/data-sources.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from codex_metrics.lake.schema import BREAKDOWN_DIMENSIONS, USAGE_COUNTERS
from codex_metrics.telemetry.ingest._records import IngestOptions
from codex_metrics.telemetry.ingest._rows import counter, field

__all__ = [
    "ALIASES",
    "BREAKDOWN_ARRAYS",
    "as_day",
    "breakdown_item",
    "counter_fields",
    "entity_columns",
    "python_counters",
    "python_entity",
    "scope_of",
]

#: Older field names of two counters (schema drift seen in public parsers).
ALIASES = {"loc_suggested_to_add_sum": "generated_loc_sum", "loc_added_sum": "accepted_loc_sum"}
#: usage_daily breakdown -> the report array holding it.
BREAKDOWN_ARRAYS = {b: f"totals_by_{b}" for b in BREAKDOWN_DIMENSIONS if b != "total"}
_S = pa.string()


def counter_fields() -> list[pa.Field]:
    """The seven counters and their older aliases, as row-schema fields."""
    return [counter(n) for n in (*USAGE_COUNTERS, *ALIASES.values())]


def breakdown_item(breakdown: str, *, versions: bool = False) -> pa.DataType:
    """The struct of one element of a ``totals_by_*`` array."""
    dims = [field(d, _S) for d in BREAKDOWN_DIMENSIONS[breakdown]]
    extra: list[pa.Field] = []
    if versions:
        extra = [
            field("last_known_ide_version", pa.struct([field("ide_version", _S),
                                                        field("sampled_at", _S)])),
            field(
                "last_known_plugin_version",
                pa.struct([field("plugin", _S), field("plugin_version", _S),
                           field("sampled_at", _S)]),
            ),
        ]  # fmt: skip
    return pa.struct([*dims, *counter_fields(), *extra])


def scope_of(entity_type: str, org: str) -> str:
    """The lake scope of an entity's rows."""
    return f"{entity_type}/{org}"


def entity_columns(
    organization_id: pa.ChunkedArray, enterprise_id: pa.ChunkedArray, options: IngestOptions
) -> tuple[pa.Array, pa.Array]:
    """``entity_type`` and ``org`` per row: org reports carry ``organization_id``.

    ``--entity`` and ``--org`` override what the rows say.

    Raises:
        ValueError: a row names no entity and ``--org`` was not given.
    """
    if options.entity_type is not None:
        org_row = pa.array([options.entity_type == "org"] * len(organization_id))
    else:
        org_row = pc.is_valid(organization_id)
    entity = pc.if_else(org_row, "org", "enterprise")
    if options.org is not None:
        org = pa.array([options.org] * len(organization_id), _S)
    else:
        org = pc.if_else(org_row, organization_id, enterprise_id)
        org = pc.coalesce(org, organization_id, enterprise_id)
        if org.null_count:
            raise ValueError("names neither organization_id nor enterprise_id; pass --org NAME")
    return pa.chunked_array([entity]) if not isinstance(entity, pa.ChunkedArray) else entity, (
        org if isinstance(org, pa.ChunkedArray) else pa.chunked_array([org])
    )


def python_entity(
    obj: dict[str, Any], parent: dict[str, Any], options: IngestOptions
) -> tuple[str, str] | None:
    """``(entity_type, org)`` of a JSON object (or its parent document); ``None``: unknown."""

    def pick(key: str) -> str | None:
        value = obj.get(key, parent.get(key))
        return None if value is None else str(value)

    organization, enterprise = pick("organization_id"), pick("enterprise_id")
    entity = options.entity_type or ("org" if organization is not None else "enterprise")
    org = options.org or (organization if entity == "org" else enterprise)
    org = org or organization or enterprise
    return None if org is None else (entity, org)


def python_counters(obj: dict[str, Any]) -> dict[str, int | None]:
    """The seven counters of a JSON object, older aliases folded in."""
    out: dict[str, int | None] = {}
    for name in USAGE_COUNTERS:
        value = obj.get(name)
        if value is None and name in ALIASES:
            value = obj.get(ALIASES[name])
        out[name] = value
    return out


def as_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` string (already checked) as a date."""
    return None if value is None else date.fromisoformat(value)
