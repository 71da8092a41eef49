"""Clustered quantiles against gbstats 0.8.0, from a hand-typed event table.

Three developers per arm, 30 code-completion latencies each (ms), plus chat requests the
metric's feature filter must leave out. Our lake query computes n, n*, the order statistics and
the per-developer cluster sums; this test computes the same inputs independently with numpy
(``np.quantile`` is type 7, GrowthBook's PERCENTILE_CONT), runs gbstats'
``QuantileClusteredStatistic`` and ``TwoSidedTTest`` on them and requires agreement to 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from codex_metrics.experiments.design import load_experiment
from codex_metrics.experiments.frequentist import compare
from codex_metrics.experiments.quantile_stats import QuantileRequest, quantile_statistics
from codex_metrics.experiments.quantiles import QuantileClusteredStats
from codex_metrics.experiments.status import Status

from .events import open_lake, suggestion_rows, write_experiment, write_suggestions

# fmt: off
EVENTS = {
    "A": {
        "dev-a0": [212, 411, 384, 161, 179, 160, 277, 202, 302, 83, 455, 198, 292, 194, 172,
                   262, 314, 188, 193, 293, 135, 98, 253, 149, 80, 138, 165, 115, 99, 212],
        "dev-a1": [407, 231, 179, 315, 372, 224, 341, 438, 234, 173, 309, 294, 450, 137, 187,
                   171, 109, 277, 339, 180, 520, 392, 356, 318, 419, 134, 353, 351, 107, 309],
        "dev-a2": [321, 538, 292, 361, 432, 235, 491, 345, 466, 280, 627, 493, 333, 499, 683,
                   891, 166, 566, 459, 347, 220, 682, 194, 483, 698, 164, 313, 189, 411, 776],
    },
    "B": {
        "dev-b0": [486, 73, 133, 251, 389, 218, 122, 205, 175, 160, 122, 215, 206, 169, 158,
                   93, 139, 323, 161, 86, 345, 230, 507, 182, 140, 86, 343, 639, 117, 128],
        "dev-b1": [298, 146, 193, 186, 243, 382, 223, 350, 179, 260, 76, 107, 329, 165, 295,
                   290, 428, 332, 367, 209, 156, 153, 173, 126, 168, 211, 251, 187, 84, 213],
        "dev-b2": [346, 532, 413, 224, 215, 846, 452, 773, 897, 206, 375, 389, 409, 406, 342,
                   338, 146, 285, 213, 330, 245, 422, 466, 361, 362, 324, 247, 285, 241, 376],
    },
}
# fmt: on
Z = 1.959963984540054  # z_0.975, as in gbstats
FILTER = {"feature": ["code_completion"]}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    lake = open_lake(tmp_path_factory.mktemp("golden") / "lake")
    parts = [suggestion_rows(EVENTS["A"], model="model-a")]
    parts.append(suggestion_rows(EVENTS["B"], model="model-b", first_id=1000))
    # Slow chat requests of the same developers: the feature filter must exclude them.
    chat = {d: [9000.0, 12000.0] for arm in EVENTS.values() for d in arm}
    parts.append(suggestion_rows(chat, feature="chat_panel", first_id=5000))
    write_suggestions(lake, parts)
    write_experiment(
        lake,
        {arm: list(devs) for arm, devs in EVENTS.items()},
        filters=(("latency_p90_ms", "feature", "code_completion"),),
    )
    return lake


def numpy_inputs(arm: str, nu: float) -> dict[str, float]:
    """gbstats' inputs computed from the typed events, without the lake."""
    devs = [np.array(v, float) for v in EVENTS[arm].values()]
    values = np.concatenate(devs)
    n = values.size
    n_star = 100  # the smallest grid value: n = 90 is below every other one
    half = Z * math.sqrt(nu * (1 - nu) / n_star)
    q_hat, q_low, q_high = np.quantile(values, [nu, max(nu - half, 1e-8), min(nu + half, 1 - 1e-8)])
    s = np.array([(d <= q_hat).sum() for d in devs], float)
    c = np.array([d.size for d in devs], float)
    h = c / n
    return {
        "n": n,
        "n_star": n_star,
        "quantile_hat": q_hat,
        "quantile_lower": q_low,
        "quantile_upper": q_high,
        "main_sum": s.sum(),
        "main_sum_squares": (s * s).sum(),
        "denominator_sum": c.sum(),
        "denominator_sum_squares": (c * c).sum(),
        "main_denominator_sum_product": (s * c).sum(),
        "n_clusters": len(devs),
        "leverage_main_sum_squares": (s * s / (1 - h) ** 2).sum(),
        "leverage_main_denominator_sum_product": (s * c / (1 - h) ** 2).sum(),
        "leverage_denominator_sum_squares": (c * c / (1 - h) ** 2).sum(),
    }


@pytest.fixture(scope="module")
def ours(lake):
    con = lake.connect()
    design = load_experiment(con, "exp-golden")
    requests = [QuantileRequest(f"latency_p{round(q * 100)}_ms", q, FILTER) for q in (0.5, 0.9)]
    return quantile_statistics(con, design, requests, small_sample=False)


@pytest.mark.parametrize("nu", [0.5, 0.9])
@pytest.mark.parametrize("arm", ["A", "B"])
def test_lake_query_computes_the_inputs_numpy_computes(ours, arm, nu):
    stats = ours[f"latency_p{round(nu * 100)}_ms"][arm]
    expected = numpy_inputs(arm, nu)
    for field, value in expected.items():
        assert getattr(stats, field) == pytest.approx(value, rel=1e-9, abs=1e-9), field
    assert stats.nu == nu


def _gb(inputs: dict[str, float], nu: float):
    st = pytest.importorskip("gbstats.models.statistics")
    keep = {k: v for k, v in inputs.items() if not k.startswith("leverage")}
    return st.QuantileClusteredStatistic(nu=nu, **keep)


@pytest.mark.parametrize("kind", ["relative", "absolute"])
@pytest.mark.parametrize("nu", [0.5, 0.9])
def test_agrees_with_gbstats_quantile_clustered_statistic(ours, nu, kind):
    tests = pytest.importorskip("gbstats.frequentist.tests")
    a, b = (_gb(numpy_inputs(arm, nu), nu) for arm in "AB")
    ref = tests.TwoSidedTTest(
        a, b, tests.FrequentistConfig(alpha=0.05, difference_type=kind)
    ).compute_result()
    stats = ours[f"latency_p{round(nu * 100)}_ms"]
    assert stats["A"].variance == pytest.approx(a.variance, rel=1e-6)
    assert stats["B"].variance == pytest.approx(b.variance, rel=1e-6)
    effect = getattr(compare(stats["A"], stats["B"]), kind)
    assert effect.ok
    assert effect.estimate == pytest.approx(ref.expected, abs=1e-6)
    assert effect.se == pytest.approx(ref.uplift.stddev, abs=1e-6)
    assert [effect.ci_low, effect.ci_high] == pytest.approx(ref.ci, abs=1e-6)
    assert effect.p_value == pytest.approx(ref.p_value, abs=1e-6)


def test_the_small_sample_correction_divides_residuals_by_their_leverage(lake):
    con = lake.connect()
    design = load_experiment(con, "exp-golden")
    req = [QuantileRequest("latency_p90_ms", 0.9, FILTER)]
    plain = quantile_statistics(con, design, req, small_sample=False)["latency_p90_ms"]["A"]
    corrected = quantile_statistics(con, design, req)["latency_p90_ms"]["A"]
    x = numpy_inputs("A", 0.9)
    devs = [np.array(v, float) for v in EVENTS["A"].values()]
    s = np.array([(d <= x["quantile_hat"]).sum() for d in devs], float)
    c = np.array([d.size for d in devs], float)
    e = s - s.sum() / c.sum() * c
    hc3 = (e**2 / (1 - c / c.sum()) ** 2).sum() / c.sum() ** 2
    assert corrected.leverage_cluster_variance == pytest.approx(hc3, rel=1e-9)
    ratio = corrected.variance / plain.variance
    assert ratio == pytest.approx(hc3 / plain.cluster_variance, rel=1e-9) and ratio > 1


def test_too_few_events_for_p99_is_a_status_not_a_number(lake):
    from codex_metrics.experiments import AnalysisOptions, analyze_experiment

    report = analyze_experiment(lake.connect(), "exp-golden", AnalysisOptions(slices=False))
    p90 = report.metrics[0]
    assert p90.metric == "latency_p90_ms" and p90.kind == "quantile" and p90.status is Status.OK
    assert p90.label == "latency_p90_ms [feature=code_completion]"
    # 90 events per arm cannot bound a P99 (gbstats: n must exceed 3.84 * 0.99 / 0.01 = 380).
    p99 = QuantileClusteredStats(**(numpy_inputs("A", 0.99) | {"n_clusters": 3}), nu=0.99)
    assert p99.too_few_events
    from codex_metrics.experiments.metric_analysis import quantile_analysis
    from codex_metrics.experiments.metric_source import metric_info
    from codex_metrics.experiments.results import Role

    result = quantile_analysis(
        metric_info("latency_p99_ms"),
        Role.GUARDRAIL,
        0.05,
        p99,
        p99,
        options=AnalysisOptions(),
        planned=None,
        arms=("A", "B"),
    )
    assert result.status is Status.QUANTILE_TOO_FEW_EVENTS and math.isnan(result.p_value)
