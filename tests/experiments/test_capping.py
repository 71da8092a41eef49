"""Capping: developer means winsorised at a percentile of both arms pooled, rates untouched."""

from __future__ import annotations

import numpy as np
import pytest

from codex_metrics.errors import ParameterError
from codex_metrics.experiments import AnalysisOptions, analyze_experiment
from codex_metrics.experiments.capping import cap_applies

from .events import open_lake, suggestion_rows, write_experiment, write_suggestions

# Per-developer latencies (ms); dev-b4 is the heavy tail that dominates arm B's mean.
EVENTS = {
    "A": {
        "dev-a0": [210, 250, 230, 190],
        "dev-a1": [300, 280, 320],
        "dev-a2": [260, 240, 255, 270, 250],
        "dev-a3": [180, 200, 220],
        "dev-a4": [330, 310, 350, 300],
    },
    "B": {
        "dev-b0": [200, 220, 210],
        "dev-b1": [260, 250, 240, 270],
        "dev-b2": [190, 205, 215],
        "dev-b3": [280, 300, 290, 310],
        "dev-b4": [9000, 12000, 7000],
    },
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    lake = open_lake(tmp_path_factory.mktemp("cap") / "lake")
    write_suggestions(
        lake,
        [
            suggestion_rows(EVENTS["A"], model="model-a"),
            suggestion_rows(EVENTS["B"], model="model-b", first_id=100),
        ],
    )
    write_experiment(
        lake,
        {a: list(d) for a, d in EVENTS.items()},
        primary=("latency_mean_ms",),
        guardrails=(("error_rate", 0.1),),
    )
    return lake


def _capped(arm: str, cap: float) -> tuple[float, float]:
    """Arm value and per-developer variance after capping, computed with numpy."""
    sums = np.array([[min(np.mean(v), cap) * len(v), len(v)] for v in EVENTS[arm].values()])
    m, d = sums[:, 0], sums[:, 1]
    r = m.sum() / d.sum()
    resid = m - r * d
    return r, float(np.var(resid, ddof=1) / d.mean() ** 2)


def test_developer_means_are_capped_at_the_pooled_percentile(lake):
    report = analyze_experiment(
        lake.connect(), "exp-golden", AnalysisOptions(cap=0.9, slices=False)
    )
    latency = report.metrics[0]
    means = [np.mean(v) for arm in EVENTS.values() for v in arm.values()]
    cap = float(np.quantile(means, 0.9))  # type 7 over both arms' developers
    assert latency.cap.post_cap == pytest.approx(cap)
    assert latency.cap.capped_developers == 1 and latency.cap.percentile == 0.9
    (ra, va), (rb, vb) = _capped("A", cap), _capped("B", cap)
    c = latency.comparison
    assert c.control_mean == pytest.approx(ra) and c.treatment_mean == pytest.approx(rb)
    assert c.absolute.se == pytest.approx(np.sqrt(va / 5 + vb / 5))
    # Rates are bounded: the error-rate guardrail is not capped.
    assert report.metrics[1].cap is None and not cap_applies("ratio") and cap_applies("ms")
    assert any("winsorised at the pooled P90" in n for n in report.notes)


def test_capping_tames_the_heavy_tail_and_is_off_by_default(lake):
    con = lake.connect()
    plain = analyze_experiment(con, "exp-golden", AnalysisOptions(slices=False)).metrics[0]
    capped = analyze_experiment(con, "exp-golden", AnalysisOptions(cap=0.9, slices=False)).metrics[
        0
    ]
    assert plain.cap is None
    assert plain.comparison.treatment_mean > 1500  # one developer makes B look 6x slower
    assert capped.comparison.treatment_mean < 600
    assert capped.comparison.absolute.se < plain.comparison.absolute.se / 5


def test_a_cap_outside_the_upper_half_is_refused():
    for bad in (0.4, 1.0, 99):
        with pytest.raises(ParameterError, match="--cap"):
            AnalysisOptions(cap=bad)
