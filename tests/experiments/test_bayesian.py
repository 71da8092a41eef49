"""The Bayesian view against gbstats 0.8.0 ``EffectBayesianABTest``, both priors, to 1e-6.

Golden numbers typed from gbstats on unadjusted statistics: the ratio metric of the notes' toy
data (§1.4) and a mean metric where lower is better (per-developer mean latencies, ms).
"""

from __future__ import annotations

import pytest

from codex_metrics.experiments import AnalysisOptions, BayesianPrior, analyze_experiment
from codex_metrics.experiments.bayesian import bayesian_effect
from codex_metrics.experiments.status import Status
from codex_metrics.experiments.sufficient_stats import MeanStats, RatioStats

from .simulated import experiment_id

TOL = 1e-6
LAT_A = [312.0, 287.5, 401.2, 356.8, 298.1, 330.4, 275.9, 342.0, 389.3, 305.6]
LAT_B = [281.4, 266.0, 352.7, 310.9, 270.3, 295.8, 258.1, 301.5, 344.2, 279.0]
PROPER, FLAT = BayesianPrior(0.0, 0.3), BayesianPrior.flat()

# (metric, prior, kind): expected, ci_low, ci_high, chance_to_win, risk_control, risk_treatment
GOLDEN = {
    ("ratio", "proper", "relative"): (
        0.2939919374302509, 0.16179158142701253, 0.4261922934334893,
        0.9999934563064412, 0.2939920300959126, 9.266566167268537e-08,
    ),
    ("ratio", "proper", "absolute"): (
        0.06835281299835688, 0.042677603922947824, 0.09402802207376593,
        0.9999999094875905, 0.0683528132113436, 2.1298671722385277e-10,
    ),
    ("ratio", "flat", "relative"): (
        0.30964467005076135, 0.1739706420285056, 0.44531869807301705,
        0.9999961464986337, 0.30964472483220895, 5.47814476012863e-08,
    ),
    ("ratio", "flat", "absolute"): (
        0.07093023255813952, 0.0447754276735347, 0.09708503744274433,
        0.9999999467598734, 0.0709302326836839, 1.255443837931637e-10,
    ),
    ("mean", "proper", "relative"): (
        -0.1002031236962777, -0.1924974752806056, -0.007908772111949805,
        0.98332792446943, 0.10048502395467912, 0.0002819002584014304,
    ),
    ("mean", "proper", "absolute"): (
        -32.94049221040557, -65.40724193509499, -0.4737424857161585,
        0.9766252725458742, 33.085509488614385, 0.1450172782088153,
    ),
    ("mean", "flat", "relative"): (
        -0.10273432763429138, -0.19618712037263733, -0.009281534895945465,
        0.98440434520559, 0.10299922632455964, 0.00026489869026825603,
    ),
    ("mean", "flat", "absolute"): (
        -33.89000000000004, -66.82135157428854, -0.9586484257115444,
        0.9781532626266329, 34.026285163167266, 0.13628516316721714,
    ),
}  # fmt: skip


def _arms(metric: str, toy_arms):
    if metric == "ratio":
        return (*toy_arms, True)
    return MeanStats.from_values(LAT_A), MeanStats.from_values(LAT_B), False


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_golden_values_of_gbstats(key, toy_arms):
    metric, prior, kind = key
    a, b, higher = _arms(metric, toy_arms)
    post = bayesian_effect(
        a, b, prior=PROPER if prior == "proper" else FLAT, higher_is_better=higher, kind=kind
    )
    got = (post.expected, post.ci_low, post.ci_high, post.chance_to_win, post.risk_control)
    assert got == pytest.approx(GOLDEN[key][:5], abs=TOL)
    assert post.risk_treatment == pytest.approx(GOLDEN[key][5], abs=TOL)


@pytest.mark.parametrize("metric", ["ratio", "mean"])
@pytest.mark.parametrize("prior", [PROPER, FLAT])
@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_live_gbstats_agrees(metric, prior, kind, toy_arms):
    tests = pytest.importorskip("gbstats.bayesian.tests")
    st = pytest.importorskip("gbstats.models.statistics")
    a, b, higher = _arms(metric, toy_arms)

    def gb(s):
        if isinstance(s, MeanStats):
            return st.SampleMeanStatistic(n=s.n, sum=s.sum, sum_squares=s.sum_squares)
        assert isinstance(s, RatioStats)
        mean = st.SampleMeanStatistic
        return st.RatioStatistic(
            n=s.n,
            m_statistic=mean(n=s.n, sum=s.num_sum, sum_squares=s.num_sum_squares),
            d_statistic=mean(n=s.n, sum=s.den_sum, sum_squares=s.den_sum_squares),
            m_d_sum_of_products=s.num_den_sum_products,
        )

    config = tests.EffectBayesianConfig(
        difference_type=kind,
        inverse=not higher,
        prior_effect=tests.GaussianPrior(prior.mean, prior.sd**2, prior.proper),
    )
    ref = tests.EffectBayesianABTest(gb(a), gb(b), config).compute_result()
    post = bayesian_effect(a, b, prior=prior, higher_is_better=higher, kind=kind)
    assert post.expected == pytest.approx(ref.expected, abs=1e-9)
    assert post.sd == pytest.approx(ref.uplift.stddev, abs=1e-9)
    assert [post.ci_low, post.ci_high] == pytest.approx(ref.ci, abs=1e-9)
    assert post.chance_to_win == pytest.approx(ref.chance_to_win, abs=1e-9)
    assert [post.risk_control, post.risk_treatment] == pytest.approx(ref.risk, abs=1e-9)


def test_the_proper_prior_shrinks_towards_zero_and_bad_data_is_a_status(toy_arms):
    flat = bayesian_effect(*toy_arms, prior=FLAT)
    proper = bayesian_effect(*toy_arms, prior=PROPER)
    assert 0 < proper.expected < flat.expected and proper.sd < flat.sd
    empty = bayesian_effect(RatioStats.from_arrays([], []), toy_arms[1])
    assert empty.status is Status.EMPTY_ARM
    with pytest.raises(Exception, match="--prior-sd"):
        BayesianPrior(0.0, 0.0)


def test_the_report_carries_the_bayesian_view(ab_lake):
    lake, _ = ab_lake
    con = lake.connect()
    opts = AnalysisOptions(bayesian=True, slices=False)
    report = analyze_experiment(con, experiment_id(con), opts)
    primary = report.metrics[0]
    assert primary.bayesian.chance_to_win > 0.99 and primary.bayesian.prior == PROPER
    latency = next(m for m in report.metrics if m.metric == "latency_mean_ms")
    assert latency.bayesian.chance_to_win > 0.99  # lower is better: B is faster
    p90 = next(m for m in report.metrics if m.metric == "latency_p90_ms")
    assert p90.bayesian.status is Status.OK and p90.bayesian.chance_to_win > 0.99
    assert any("prior N(0, 0.3²)" in n for n in report.notes)
