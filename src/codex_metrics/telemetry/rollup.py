"""Roll event-grain suggestions up into the daily grain (``usage_daily``).

One definition serves every event source (simulator, Codex OTel, own telemetry): the counters
follow GitHub's Copilot usage-metrics report, and one grouping-sets pass produces every
breakdown GitHub's per-user report has (total, ide, feature, language x feature,
language x model, model x feature). Lines deleted are not observed in event telemetry and are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from codex_metrics.lake.schema import (
    BREAKDOWN_DIMENSIONS,
    EDITORS,
    FEATURES,
    LANGUAGES,
    USAGE_FEATURE_NAMES,
)

__all__ = ["EventCodes", "rollup_usage_daily", "rollup_usage_daily_codes"]

_FEATURE_CASE = (
    "CASE feature "
    + " ".join(f"WHEN '{ours}' THEN '{theirs}'" for ours, theirs in USAGE_FEATURE_NAMES.items())
    + " ELSE feature END"
)

_SQL = f"""
WITH ev AS (
    SELECT developer_id::VARCHAR AS developer_id, org::VARCHAR AS org,
           CAST(timestamp AT TIME ZONE 'UTC' AS DATE) AS day,
           editor::VARCHAR AS ide, {_FEATURE_CASE} AS feature, language::VARCHAR AS language,
           model_version::VARCHAR AS model, status::VARCHAR = 'ok' AS shown, accepted,
           lines_suggested, lines_accepted,
           feature::VARCHAR <> 'code_completion' AS prompted,
           feature::VARCHAR IN ('chat_inline', 'chat_panel') AS chat,
           feature::VARCHAR = 'agent_edit' AS agent, feature::VARCHAR = 'cli' AS cli
    FROM {{relation}}
)
SELECT day, developer_id, org,
       CASE
         WHEN GROUPING(ide) = 0 THEN 'ide'
         WHEN GROUPING(language) = 0 AND GROUPING(feature) = 0 THEN 'language_feature'
         WHEN GROUPING(language) = 0 AND GROUPING(model) = 0 THEN 'language_model'
         WHEN GROUPING(model) = 0 AND GROUPING(feature) = 0 THEN 'model_feature'
         WHEN GROUPING(feature) = 0 THEN 'feature'
         ELSE 'total'
       END AS breakdown,
       ide, feature, language, model,
       count(*) FILTER (WHERE prompted)::BIGINT AS user_initiated_interaction_count,
       count(*) FILTER (WHERE shown)::BIGINT AS code_generation_activity_count,
       count(*) FILTER (WHERE accepted)::BIGINT AS code_acceptance_activity_count,
       coalesce(sum(lines_suggested) FILTER (WHERE shown), 0)::BIGINT AS loc_suggested_to_add_sum,
       0::BIGINT AS loc_suggested_to_delete_sum,
       coalesce(sum(lines_accepted), 0)::BIGINT AS loc_added_sum,
       0::BIGINT AS loc_deleted_sum,
       CASE WHEN GROUPING(ide, feature, language, model) = 15 THEN bool_or(chat) END AS used_chat,
       CASE WHEN GROUPING(ide, feature, language, model) = 15 THEN bool_or(agent) END AS used_agent,
       CASE WHEN GROUPING(ide, feature, language, model) = 15 THEN bool_or(cli) END AS used_cli,
       NULL::DATE AS report_start_day, NULL::DATE AS report_end_day, NULL::TIMESTAMPTZ AS fetched_at
FROM ev
GROUP BY GROUPING SETS (
    (day, developer_id, org),
    (day, developer_id, org, ide),
    (day, developer_id, org, feature),
    (day, developer_id, org, language, feature),
    (day, developer_id, org, language, model),
    (day, developer_id, org, model, feature)
)
"""


def rollup_usage_daily(con: duckdb.DuckDBPyConnection, relation: str) -> pa.Table:
    """Return ``usage_daily`` rows (with a ``day`` column) for the suggestions in ``relation``.

    Args:
        con: a DuckDB connection where ``relation`` (a table, view or registered Arrow table
            with the ``suggestions`` columns) is visible.
        relation: its name.
    """
    return con.sql(_SQL.format(relation=relation)).to_arrow_table()


@dataclass(frozen=True)
class EventCodes:
    """Integer-coded suggestions of one day, as the simulator holds them before writing.

    ``developer`` indexes ``developer_ids``; ``org`` and ``editor`` are per developer; feature,
    language and model are per event and index ``FEATURES``, ``LANGUAGES`` and ``models``.
    """

    developer: np.ndarray
    developer_ids: pa.Array | list[str]
    developer_org: np.ndarray
    developer_editor: np.ndarray
    orgs: list[str]
    feature: np.ndarray
    language: np.ndarray
    model: np.ndarray
    models: tuple[str, ...]
    shown: np.ndarray
    accepted: np.ndarray
    lines_suggested: np.ndarray
    lines_accepted: np.ndarray


def rollup_usage_daily_codes(ev: EventCodes) -> pa.Table:
    """The same roll-up as :func:`rollup_usage_daily`, vectorised over integer codes (no ``day``).

    The simulator uses this on each block-day because it is an order of magnitude faster than
    grouping strings; a test checks that both give identical rows.
    """
    github_features = [USAGE_FEATURE_NAMES[f] for f in FEATURES]
    dims = {
        "feature": (ev.feature, github_features),
        "language": (ev.language, list(LANGUAGES)),
        "model": (ev.model, list(ev.models)),
    }
    prompted = ev.feature != 0
    chat = (ev.feature == 1) | (ev.feature == 2)
    parts = []
    for breakdown, dim_names in BREAKDOWN_DIMENSIONS.items():
        event_dims = [d for d in dim_names if d != "ide"]
        key = ev.developer.astype(np.int64)
        for name in event_dims:
            codes, values = dims[name]
            key = key * len(values) + codes
        uniq, inv = np.unique(key, return_inverse=True)

        def total(
            weights: np.ndarray | None, inv: np.ndarray = inv, size: int = uniq.size
        ) -> np.ndarray:
            return np.bincount(inv, weights=weights, minlength=size).astype(np.int64)

        cols: dict[str, pa.Array | np.ndarray] = {}
        rest = uniq.copy()
        decoded: dict[str, np.ndarray] = {}
        for name in reversed(event_dims):
            size = len(dims[name][1])
            decoded[name] = rest % size
            rest = rest // size
        dev = rest
        cols["developer_id"] = pa.DictionaryArray.from_arrays(
            pa.array(dev.astype(np.int32)), pa.array(ev.developer_ids, pa.string())
        )
        cols["org"] = pa.DictionaryArray.from_arrays(
            pa.array(ev.developer_org[dev].astype(np.int32)), pa.array(ev.orgs)
        )
        cols["breakdown"] = pa.array([breakdown] * uniq.size, pa.string())
        for name in ("ide", "feature", "language", "model"):
            if name == "ide" and "ide" in dim_names:
                cols[name] = pa.DictionaryArray.from_arrays(
                    pa.array(ev.developer_editor[dev].astype(np.int32)), pa.array(EDITORS)
                )
            elif name in decoded:
                cols[name] = pa.DictionaryArray.from_arrays(
                    pa.array(decoded[name].astype(np.int32)), pa.array(dims[name][1])
                )
            else:
                cols[name] = pa.nulls(uniq.size, pa.string())
        cols["user_initiated_interaction_count"] = total(prompted.astype(np.float64))
        cols["code_generation_activity_count"] = total(ev.shown.astype(np.float64))
        cols["code_acceptance_activity_count"] = total(ev.accepted.astype(np.float64))
        cols["loc_suggested_to_add_sum"] = total(
            np.where(ev.shown, ev.lines_suggested, 0).astype(np.float64)
        )
        cols["loc_suggested_to_delete_sum"] = np.zeros(uniq.size, dtype=np.int64)
        cols["loc_added_sum"] = total(ev.lines_accepted.astype(np.float64))
        cols["loc_deleted_sum"] = np.zeros(uniq.size, dtype=np.int64)
        for flag, mask in (
            ("used_chat", chat),
            ("used_agent", ev.feature == 3),
            ("used_cli", ev.feature == 4),
        ):
            cols[flag] = (
                total(mask.astype(np.float64)) > 0
                if breakdown == "total"
                else pa.nulls(uniq.size, pa.bool_())
            )
        parts.append(pa.table(cols))
    out = pa.concat_tables(_unify(parts))
    n = out.num_rows
    return (
        out.append_column("report_start_day", pa.nulls(n, pa.date32()))
        .append_column("report_end_day", pa.nulls(n, pa.date32()))
        .append_column("fetched_at", pa.nulls(n, pa.timestamp("us", tz="UTC")))
    )


def _unify(parts: list[pa.Table]) -> list[pa.Table]:
    """Give every part the same column types (null columns become dictionary strings)."""
    target = {}
    for p in parts:
        for f in p.schema:
            if not pa.types.is_null(f.type) and (
                f.name not in target or pa.types.is_dictionary(f.type)
            ):
                target[f.name] = f.type
    schema = pa.schema([(name, target[name]) for name in parts[0].column_names])
    return [p.cast(schema) for p in parts]
