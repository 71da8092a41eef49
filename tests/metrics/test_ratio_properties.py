"""Property: whatever the rows, a ratio is Σ numerator / Σ denominator, and slices add up."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codex_metrics.lake import Lake
from codex_metrics.metrics import DuckDBEngine, compute_metric, developer_sums

from .conftest import MONDAY, write

ROW = st.tuples(
    st.sampled_from(["dev-a", "dev-b", "dev-c"]),
    st.integers(0, 6),  # day offset in one ISO week
    st.sampled_from(["python", "go"]),
    st.sampled_from(["ok", "ok", "ok", "error", "timeout"]),
    st.booleans(),
    st.integers(0, 5),  # lines suggested
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, min_size=1, max_size=40))
def test_acceptance_is_the_ratio_of_sums_for_any_rows(rows: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake.open(Path(tmp) / "lake")
        write(
            lake,
            "suggestions",
            [
                {
                    "developer_id": dev,
                    "day": MONDAY + timedelta(days=d),
                    "language": lang,
                    "status": status,
                    "accepted": status == "ok" and acc,
                    "lines_suggested": lines,
                    "lines_accepted": lines if status == "ok" and acc else 0,
                }
                for dev, d, lang, status, acc, lines in rows
            ],
        )
        shown = sum(status == "ok" for _, _, _, status, _, _ in rows)
        accepted = sum(status == "ok" and acc for _, _, _, status, acc, _ in rows)
        engine = DuckDBEngine(lake)
        week = compute_metric("acceptance_rate_by_count", lake, grain="week", engine=engine)
        row = week.rows.to_pylist()[0]
        assert (row["numerator"], row["denominator"]) == (accepted, shown)
        if shown == 0:
            assert row["value"] is None and row["null_reason"] == "zero_denominator"
        else:
            assert row["value"] == accepted / shown
        # slices partition the rows: their numerators and denominators add up to the total
        by_lang = compute_metric(
            "acceptance_rate_by_count", lake, grain="week", by=["language"], engine=engine
        )
        assert sum(r["numerator"] for r in by_lang.rows.to_pylist()) == accepted
        assert sum(r["denominator"] for r in by_lang.rows.to_pylist()) == shown
        # and so do developers (the experiment engine's unit)
        per_dev = developer_sums(
            engine, "acceptance_rate_by_count", start=MONDAY, end=MONDAY + timedelta(days=7)
        )
        assert sum(per_dev.column("numerator").to_pylist()) == accepted
        assert sum(per_dev.column("denominator").to_pylist()) == shown
        # daily-grain metrics read usage_daily only: with no usage rows nothing is invented
        users = compute_metric("active_users", lake, grain="week", engine=engine)
        assert users.rows.num_rows == 0
