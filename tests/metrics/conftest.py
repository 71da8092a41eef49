"""Fixtures for the metric tests: hand-made lakes for the traps, one Spark session, a parity lake.

Hand-made rows fill every required column with a neutral default, so a test states only the
columns its trap is about.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from codex_metrics.lake import Lake, Replacement
from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
from codex_metrics.lake.tables import TABLES
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate

MONDAY = date(2025, 3, 3)

_DEFAULTS: dict[str, dict[str, Any]] = {
    "suggestions": {
        "org": "org-a",
        "session_id": 1,
        "feature": "code_completion",
        "language": "python",
        "editor": "vscode",
        "model_version": "model-a",
        "status": "ok",
        "latency_ms": 100.0,
        "chars_suggested": 10,
        "lines_suggested": 1,
        "accepted": False,
        "chars_accepted": 0,
        "lines_accepted": 0,
        "keystrokes_saved": 0,
        "is_fallback": False,
        "failure_mode": "none",
    },
    "usage_daily": {
        "org": "org-a",
        "user_initiated_interaction_count": 0,
        "code_generation_activity_count": 0,
        "code_acceptance_activity_count": 0,
        "loc_suggested_to_add_sum": 0,
        "loc_suggested_to_delete_sum": 0,
        "loc_added_sum": 0,
        "loc_deleted_sum": 0,
    },
    "typing": {"org": "org-a", "chars_typed": 0, "lines_typed": 0},
    "tasks": {
        "org": "org-a",
        "task_kind": "coding",
        "with_ai": True,
        "duration_s": 60.0,
        "outcome": "success",
        "tests_passed": 1,
        "tests_total": 1,
    },
    "surveys": {"org": "org-a", "satisfaction": 3},
    "developers": {"org": "org-a"},
    "seats": {"org": "org-a", "plan": "business"},
    "team_members": {"org": "org-a"},
    "assignments": {"experiment_id": "exp-1"},
}


def rows_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of ``table`` with defaults filled in (and ``day`` for day tables)."""
    spec = TABLES[table]
    defaults = _DEFAULTS.get(table, {})
    full = []
    for i, row in enumerate(rows):
        r = {**defaults, **row}
        if table == "suggestions":
            r.setdefault("event_id", i + 1)
            r.setdefault(
                "timestamp",
                datetime.combine(r["day"], datetime.min.time(), UTC) + timedelta(hours=12),
            )
        if table == "tasks":
            r.setdefault("task_id", i + 1)
            r.setdefault("started_at", datetime.combine(r["day"], datetime.min.time(), UTC))
        if table == "surveys":
            r.setdefault("response_id", i + 1)
            r.setdefault("submitted_at", datetime.combine(r["day"], datetime.min.time(), UTC))
        if table == "assignments":
            r.setdefault("assigned_at", datetime(2025, 1, 1, tzinfo=UTC))
        full.append(r)
    fields = [pa.field(c.name, c.type) for c in spec.columns if c.name not in BOOKKEEPING_COLUMNS]
    if spec.partitioning == "day":
        fields.append(pa.field("day", pa.date32()))
    schema = pa.schema(fields)
    return pa.table(
        {f.name: pa.array([r.get(f.name) for r in full], f.type) for f in schema}, schema=schema
    )


def assert_same_rows(left: pa.Table, right: pa.Table, what: str) -> None:
    """Same columns and rows; floats within 1e-9 relative (summation order differs by engine)."""
    assert left.column_names == right.column_names, what
    assert left.num_rows == right.num_rows, what
    for name in left.column_names:
        a, b = left.column(name).to_pylist(), right.column(name).to_pylist()
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if isinstance(x, float) or isinstance(y, float):
                assert x is not None and y is not None or x is y, f"{what} {name}[{i}]: {x} vs {y}"
                if x is not None:
                    assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (
                        f"{what} {name}[{i}]: {x} vs {y}"
                    )
            else:
                assert x == y, f"{what} {name}[{i}]: {x!r} vs {y!r}"


def write(lake: Lake, table: str, rows: list[dict[str, Any]], *, scope: str = "test") -> None:
    """Write hand-made rows to ``lake``."""
    lake.write_table(table, rows_table(table, rows), source="test", scope=scope)


@pytest.fixture()
def lake(tmp_path: Path) -> Lake:
    return Lake.open(tmp_path / "lake")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole test session (JVM start-up is the slow part)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark tests need Java 17 (apt-get install openjdk-17-jre-headless)")
    from codex_metrics.metrics import local_spark_session

    session = local_spark_session(master="local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def parity_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A simulated lake of > 100,000 suggestion events with the traps mixed in.

    * a missing day: every day table's partition of the 5th day is deleted;
    * nulls and zero denominators: an extra source adds a day where one developer's requests
      all failed (nothing shown), tasks without a model, surveys with unanswered items;
    * a slice with no rows: the tests filter on a language nobody uses (``cobol``).
    """
    lake = Lake.open(tmp_path_factory.mktemp("parity") / "lake")
    simulate(lake, build_config("baseline", developers=280, days=21, seed=11))
    missing = MONDAY + timedelta(days=4)
    for name, spec in TABLES.items():
        if spec.partitioning == "day" and lake.table_dir(name).is_dir():
            lake.commit(name, [], Replacement("simulator", None, frozenset({missing})))
    extra_day = MONDAY + timedelta(days=2)
    write(
        lake,
        "suggestions",
        [
            {
                "event_id": 9_000_000_000 + i,
                "developer_id": "dev-all-errors",
                "day": extra_day,
                "status": "error" if i % 2 else "timeout",
                "latency_ms": 5000.0,
                "chars_suggested": 0,
                "lines_suggested": 0,
                "failure_mode": "service_error",
                "language": "ruby",
            }
            for i in range(6)
        ],
        scope="traps",
    )
    write(
        lake,
        "tasks",
        [
            {
                "task_id": 9_000_000_000 + i,
                "developer_id": "dev-all-errors",
                "day": extra_day,
                "task_kind": "agent",
                "with_ai": True,
                "model_version": None,
                "duration_s": 4000.0 + i,
                "outcome": "timeout",
            }
            for i in range(3)
        ],
        scope="traps",
    )
    write(
        lake,
        "surveys",
        [
            {
                "response_id": 9_000_000_000 + i,
                "developer_id": "dev-all-errors",
                "day": extra_day,
                "satisfaction": 4,
                "nps": None if i else 10,
                "flow": None,
                "trust": 2,
            }
            for i in range(2)
        ],
        scope="traps",
    )
    return lake
