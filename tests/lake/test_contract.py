"""The table contract of wave 2: names, bookkeeping, keys, enums, no stored text, real fields fit."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pytest

from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS, USAGE_COUNTERS, Column, TableSpec
from codex_metrics.lake.tables import TABLES
from codex_metrics.lake.tables_operations import OPERATIONS_TABLES
from codex_metrics.lake.tables_sources import ENTITY_BREAKDOWN_DIMENSIONS, SOURCE_TABLES

WAVE_1 = {
    *("developers", "team_members", "seats", "experiments", "assignments", "suggestions"),
    *("typing", "tasks", "surveys", "usage_daily", "eval_results"),
    "latency_histograms_daily",  # the quantile API's daily roll-up (issue 13)
}
WAVE_2_SOURCES = {
    *("copilot_user_daily", "copilot_entity_daily", "codex_requests", "codex_tool_events"),
    *("repo_snapshots", "star_history", "issues", "issue_comments", "so_question_counts"),
    "ecosystem_counts",
}
WAVE_2_OPERATIONS = {"source_runs", "annotations", "alert_events", "analysis_results", "eval_runs"}

# Names that say "this column holds what a person or a model wrote"; a string column whose name
# has one of these words is text the lake must never store (numeric token counts are fine).
TEXT_WORDS = {"prompt", "completion", "argument", "arguments", "output", "body"}
FORBIDDEN_NAMES = {"prompt", "completion_text", "arguments", "output", "tool_output", "body"}
PERSON_COLUMNS = {"developer_id", "author", "created_by"}

SPECS = list(TABLES.values())
ids = [s.name for s in SPECS]


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or (pa.types.is_list(t) and pa.types.is_string(t.value_type))


def stores_text(column: Column) -> bool:
    """Whether a column's name and type say it holds prompt, completion or tool text."""
    if column.name in FORBIDDEN_NAMES:
        return True
    return is_text(column.type) and bool(TEXT_WORDS & set(column.name.split("_")))


def test_wave_2_tables_are_declared_in_their_groups() -> None:
    assert {s.name for s in SOURCE_TABLES} == WAVE_2_SOURCES
    assert {s.name for s in OPERATIONS_TABLES} == WAVE_2_OPERATIONS
    # Every table of the lake is one the contract names: a new one is added here on purpose.
    assert set(TABLES) == WAVE_1 | WAVE_2_SOURCES | WAVE_2_OPERATIONS
    assert len(TABLES) == len(WAVE_1) + len(SOURCE_TABLES) + len(OPERATIONS_TABLES)


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_columns_end_with_bookkeeping_and_are_unique(spec: TableSpec) -> None:
    names = spec.column_names
    assert names[-len(BOOKKEEPING_COLUMNS) :] == BOOKKEEPING_COLUMNS
    assert len(set(names)) == len(names), f"{spec.name} declares a column twice"
    assert "day" not in names, "day is the partition value, never a stored column"
    assert spec.partitioning in ("day", None)


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_key_and_newest_by_name_columns(spec: TableSpec) -> None:
    columns = {c.name: c for c in spec.columns}
    assert spec.key and set(spec.key) <= set(columns), f"{spec.name}: key {spec.key}"
    assert len(set(spec.key)) == len(spec.key)
    # Dimension columns of a key may be null (usage_daily), but not all of them.
    assert any(not columns[k].nullable for k in spec.key)
    assert set(spec.newest_by) <= set(columns) and spec.newest_by[-1] == "ingested_at"


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_enums_name_string_columns_with_lower_case_values(spec: TableSpec) -> None:
    types = {c.name: c.type for c in spec.columns}
    for name, values in spec.enums.items():
        assert name in types and pa.types.is_string(types[name]), f"{spec.name}.{name}"
        assert values and len(set(values)) == len(values)
        assert all(re.fullmatch(r"[a-z0-9_.]+", v) for v in values), f"{spec.name}.{name}"


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_every_column_and_table_says_what_it_is(spec: TableSpec) -> None:
    assert len(spec.doc.split()) >= 8
    for c in spec.columns:
        assert c.doc.strip(), f"{spec.name}.{c.name} has no doc"
        # docs/schema.md renders docs in a Markdown table, where a pipe breaks the row.
        assert "|" not in c.doc, f"{spec.name}.{c.name}"
    for c in spec.columns:
        if c.name in PERSON_COLUMNS:
            assert "seudonym" in c.doc, f"{spec.name}.{c.name} must say it is pseudonymised"


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_no_column_stores_prompt_completion_or_tool_text(spec: TableSpec) -> None:
    assert [c.name for c in spec.columns if stores_text(c)] == []


def test_the_text_rule_catches_text_and_spares_token_counts() -> None:
    assert stores_text(Column("prompt", pa.string(), "x"))
    assert stores_text(Column("tool_arguments", pa.string(), "x"))
    assert stores_text(Column("completion_text", pa.string(), "x"))
    assert not stores_text(Column("prompt_tokens_total", pa.int64(), "x"))
    assert not stores_text(Column("output_tokens", pa.int64(), "x"))


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_reader_schema_adds_day_only_to_partitioned_tables(spec: TableSpec) -> None:
    schema = spec.reader_schema()
    for c in spec.columns:
        if pa.types.is_timestamp(c.type):
            assert (c.type.unit, c.type.tz) == ("us", "UTC"), f"{spec.name}.{c.name}"
    if spec.partitioning == "day":
        assert schema.names[-1] == "day" and schema.field("day").type == pa.date32()
        assert spec.partition_columns == ["day"]
    else:
        assert "day" not in schema.names and spec.partition_columns == []
    assert len(schema) == len(spec.columns) + (spec.partitioning == "day")


def test_product_records_never_select_or_flip_the_source() -> None:
    # --source selects data a metric counts; an alert or a source run written on a simulated
    # lake must not make it look like real data.
    assert all(not s.selects_source for s in OPERATIONS_TABLES)
    assert all(s.selects_source for s in SOURCE_TABLES)


def test_copilot_tables_share_usage_daily_counters_and_newest_wins() -> None:
    usage = TABLES["usage_daily"]
    for name in ("copilot_user_daily", "copilot_entity_daily"):
        spec = TABLES[name]
        assert spec.newest_by == usage.newest_by == ("report_end_day", "fetched_at", "ingested_at")
        counters = {c.name: c for c in spec.columns if c.name in USAGE_COUNTERS}
        assert set(counters) == set(USAGE_COUNTERS)
        assert all(c.nullable and c.type == pa.int64() for c in counters.values())


def test_entity_breakdowns_are_named_by_the_dimensions_they_set() -> None:
    spec = TABLES["copilot_entity_daily"]
    assert spec.enums["breakdown"] == tuple(ENTITY_BREAKDOWN_DIMENSIONS)
    for breakdown, dims in ENTITY_BREAKDOWN_DIMENSIONS.items():
        assert set(dims) <= set(spec.key)
        assert breakdown == ("_".join(dims) if dims else "total")


# The Codex catalogue (shared/fixtures/codex-otel/EVENT_ATTRIBUTES_FROM_SOURCE.md) -> columns,
# typed by hand: the ingest's declarative mapping relies on these docs naming their attribute.
CODEX_ATTRIBUTES = {
    "codex_requests": {
        "conversation.id": "conversation_id",
        "user.email": "developer_id",
        "app.version": "client_version",
        "service.name": "service_name",
        "model": "model_version",
        "attempt": "attempt",
        "http.response.status_code": "http_status",
        "duration_ms": "duration_ms",
        "input_token_count": "input_tokens",
        "cached_token_count": "cached_input_tokens",
        "output_token_count": "output_tokens",
        "reasoning_token_count": "reasoning_tokens",
        "tool_token_count": "tool_tokens",
    },
    "codex_tool_events": {
        "tool_name": "tool_name",
        "call_id": "call_id",
        "decision": "decision",
        "source": "decision_source",
        "success": "success",
        "duration_ms": "duration_ms",
        "mcp_server": "mcp_server",
        "outcome": "sandbox_outcome",
    },
}


@pytest.mark.parametrize("table", sorted(CODEX_ATTRIBUTES))
def test_codex_columns_cite_their_catalogue_attribute(table: str) -> None:
    docs = {c.name: c.doc for c in TABLES[table].columns}
    for attribute, column in CODEX_ATTRIBUTES[table].items():
        assert f"`{attribute}`" in docs[column], f"{table}.{column} should cite `{attribute}`"
    assert TABLES["codex_tool_events"].enums["decision"][:3] == (
        "approved",
        "approved_execpolicy_amendment",
        "approved_for_session",
    )


FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "copilot-metrics"
NEW_API = FIXTURES / "new-api"
requires_fixtures = pytest.mark.skipif(
    not NEW_API.is_dir() and not os.environ.get("CI"),
    reason=f"recorded Copilot reports not found under {NEW_API}",
)
# Fields that are not columns of their own: identity (pseudonymised into developer_id or kept
# as org), the partition day, and the breakdown arrays (rows of usage_daily or of the entity
# table's breakdowns).
NOT_COLUMNS = {"user_id", "user_login", "day", "created_at"}


def leaf_columns(row: dict[str, object]) -> set[str]:
    """The column names the contract promises for one recorded report row."""
    wanted = set()
    for key, value in row.items():
        if key in NOT_COLUMNS or (key.startswith("totals_by_") and key != "totals_by_cli"):
            continue
        if key == "totals_by_cli":
            assert isinstance(value, dict)
            usage = value.get("token_usage", {})
            assert isinstance(usage, dict)
            leaves = [k for k in value if k not in ("token_usage", "last_known_cli_version")]
            wanted |= {f"cli_{k}" for k in leaves + [k for k in usage if k.endswith("_sum")]}
        elif key == "pull_requests":
            assert isinstance(value, dict)
            wanted |= {f"pr_{k}" for k in value}
        elif key == "ai_adoption_phase":
            wanted |= {"ai_adoption_phase", "ai_adoption_phase_number", "ai_adoption_phase_version"}
        else:
            wanted.add(key)
    return wanted


@requires_fixtures
@pytest.mark.parametrize(
    ("table", "files"),
    [
        (
            "copilot_user_daily",
            ["organization-users-28-day-report.json", "organization-users-1-day-report.json"],
        ),
        (
            "copilot_entity_daily",
            [
                "organization-28-day-report.json",
                "organization-1-day-report.json",
                "enterprise-28-day-report.json",
            ],
        ),
    ],
)
def test_every_recorded_copilot_field_has_a_column(table: str, files: list[str]) -> None:
    columns = set(TABLES[table].column_names)
    for name in files:
        report = json.loads((NEW_API / name).read_text())
        rows = report["day_totals"]
        assert rows, name
        for row in rows:
            missing = leaf_columns(row) - columns
            assert not missing, f"{name}: no column for {sorted(missing)}"
        assert (
            {"report_start_day", "report_end_day"}
            <= set(report)
            <= columns
            | {
                "day_totals",
                "created_at",
            }
        )
