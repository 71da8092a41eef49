"""The quantile API: the fixed latency grid, its error bound, and the daily roll-up."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_metrics.errors import MetricError
from codex_metrics.lake import Lake
from codex_metrics.metrics import (
    LATENCY_GRID,
    compute_metric,
    developer_latency_histograms,
    histogram_quantile,
    histogram_quantiles,
)
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate

ALPHA = LATENCY_GRID.relative_error  # 1%: the stated bound


@given(st.floats(min_value=LATENCY_GRID.min_ms, max_value=LATENCY_GRID.max_ms))
def test_every_value_is_within_the_bound_of_its_representative(x):
    bucket = LATENCY_GRID.bins([x])
    r = LATENCY_GRID.representative(bucket)[0]
    assert abs(r - x) / x <= ALPHA * (1 + 1e-9)
    assert LATENCY_GRID.upper_edge(bucket - 1)[0] < x * (1 + 1e-12)
    assert x <= LATENCY_GRID.upper_edge(bucket)[0] * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=0.05, max_value=1e6), min_size=1, max_size=400),
    st.floats(min_value=0, max_value=1),
)
def test_a_histogram_quantile_is_within_the_bound_of_the_exact_one(values, q):
    x = np.asarray(values)
    bins, counts = np.unique(LATENCY_GRID.bins(x), return_counts=True)
    approx = histogram_quantile(bins, counts, q)
    exact = float(np.quantile(x, q))  # type 7, as metrics show and DuckDB quantile_cont
    assert abs(approx - exact) <= ALPHA * exact * (1 + 1e-9)


def test_the_bound_is_tight_and_values_outside_the_range_are_clamped():
    # The worst case sits at a bucket's upper edge: the representative is 1 - alpha of it.
    edge = LATENCY_GRID.upper_edge([500])[0]
    r = LATENCY_GRID.representative(LATENCY_GRID.bins([edge * (1 - 1e-12)]))[0]
    assert (edge - r) / edge == pytest.approx(ALPHA, rel=1e-6)
    assert LATENCY_GRID.bins([0.0, -5.0])[0] == LATENCY_GRID.first_bin
    assert LATENCY_GRID.bins([1e12])[0] == LATENCY_GRID.last_bin
    assert math.isnan(histogram_quantile([], [], 0.9))
    with pytest.raises(MetricError):
        histogram_quantile([1], [1], 1.5)


@pytest.fixture(scope="module")
def sim_lake(tmp_path_factory) -> Lake:
    lake = Lake.open(tmp_path_factory.mktemp("quantile-api") / "lake")
    simulate(
        lake, build_config("ab_test", developers=150, days=6, seed=3, overrides={"ab.pre_days": 3})
    )
    return lake


def test_the_rollup_holds_the_same_counts_as_the_events(sim_lake):
    rolled = developer_latency_histograms(sim_lake, "latency_p90_ms", read_from="rollup")
    scanned = developer_latency_histograms(sim_lake, "latency_p90_ms", read_from="events")
    assert rolled.num_rows > 1000 and rolled.equals(scanned)
    total = sim_lake.connect().execute("SELECT count(*) FROM suggestions").fetchall()[0][0]
    assert sum(rolled.column("requests").to_pylist()) == total
    assert rolled.column_names == [
        "day",
        "developer_id",
        "org",
        "feature",
        "model",
        "latency_bin",
        "requests",
    ]


def test_daily_p90_from_the_rollup_is_within_1_percent_of_metrics_show(sim_lake):
    exact = compute_metric("latency_p90_ms", sim_lake, grain="day").rows.to_pylist()
    approx = histogram_quantiles(developer_latency_histograms(sim_lake), (0.9,), by=("day",))
    by_day = {r["day"]: r for r in approx.to_pylist()}
    assert len(exact) == len(by_day) == 6
    for row in exact:
        est = by_day[row["period"]]
        assert est["requests"] == row["n"]
        assert abs(est["p90"] - row["value"]) <= ALPHA * row["value"]


def test_filters_and_windows(sim_lake):
    cc = developer_latency_histograms(
        sim_lake,
        since=date(2025, 3, 4),
        until=date(2025, 3, 5),
        filters={"feature": ["code_completion"]},
    )
    assert set(cc.column("feature").to_pylist()) == {"code_completion"}
    assert {d.isoformat() for d in cc.column("day").to_pylist()} == {"2025-03-04", "2025-03-05"}
    # The roll-up does not carry the language: auto reads events, rollup says why it cannot.
    py = developer_latency_histograms(sim_lake, filters={"language": ["python"]})
    assert py.num_rows > 0
    with pytest.raises(MetricError, match="read_from='events'"):
        developer_latency_histograms(sim_lake, filters={"language": ["python"]}, read_from="rollup")
    with pytest.raises(MetricError, match="not a latency percentile"):
        developer_latency_histograms(sim_lake, "acceptance_rate_by_count")
