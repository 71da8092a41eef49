"""Each modelled behaviour comes back out of the data with the right sign and about the right size."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from codex_metrics.lake import Lake
from codex_metrics.telemetry.truth import load_truth


def test_latency_lowers_acceptance_by_the_configured_log_odds(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    df = con.execute(
        "SELECT hash(developer_id) AS dev, language, accepted::INT AS y, log2(latency_ms) AS x "
        "FROM suggestions WHERE feature = 'code_completion' AND status = 'ok' AND hash(developer_id) % 4 = 0 USING SAMPLE 80000 ROWS (reservoir, 7)"
    ).df()
    dev_codes = df["dev"].astype("category").cat.codes.to_numpy()
    lang_codes = df["language"].astype("category").cat.codes.to_numpy()
    n = len(df)
    dummies = sp.hstack(
        [
            sp.csr_matrix((np.ones(n), (np.arange(n), dev_codes))),
            sp.csr_matrix((np.ones(n), (np.arange(n), lang_codes)))[:, 1:],
        ]
    )
    x = sp.hstack([sp.csr_matrix(df["x"].to_numpy()[:, None]), dummies]).tocsr()
    model = LogisticRegression(C=1e4, max_iter=3000, fit_intercept=False).fit(x, df["y"].to_numpy())
    slope = model.coef_[0][0]
    configured = load_truth(baseline_lake)["parameters"]["acceptance.latency_effect"]
    assert slope < 0
    assert slope == pytest.approx(configured, abs=0.12)


def test_ai_speedup_shrinks_with_experience(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    rows = dict(
        con.execute(
            "SELECT d.experience_level, 1 - exp(avg(ln(duration_s)) FILTER (WHERE with_ai) - avg(ln(duration_s)) FILTER (WHERE NOT with_ai)) "
            "FROM tasks t JOIN developers d USING (developer_id) WHERE task_kind = 'coding' GROUP BY 1"
        ).fetchall()
    )
    assert rows["junior"] > rows["mid"] > rows["senior"] > 0
    truth = load_truth(baseline_lake)["estimands"]["tasks"]["ai_speedup_by_experience"]
    assert rows["junior"] == pytest.approx(truth["junior (1 y)"], abs=0.08)
    assert rows["senior"] == pytest.approx(truth["senior (15 y)"], abs=0.08)


def test_personas_are_recoverable_by_clustering(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    df = con.execute(
        """SELECT developer_id, d.persona,
                  ln(count(*) / count(DISTINCT s.day)) AS events_per_active_day,
                  avg(accepted::INT) FILTER (WHERE status = 'ok') AS acceptance,
                  avg((feature <> 'code_completion')::INT) AS chat_share,
                  count(DISTINCT s.day) FILTER (WHERE isodow(s.day) <= 5) AS active_weekdays
           FROM suggestions s JOIN developers d USING (developer_id)
           WHERE d.adopted_at < DATE '2025-03-03' AND d.churned_at IS NULL
           GROUP BY ALL HAVING count(*) >= 50"""
    ).df()
    features = StandardScaler().fit_transform(
        df[["events_per_active_day", "acceptance", "chat_share", "active_weekdays"]]
    )
    labels = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(features)
    assert adjusted_rand_score(df["persona"], labels) > 0.5


def test_latency_lowers_satisfaction(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    df = con.execute(
        """WITH lat AS (SELECT developer_id, ln(median(latency_ms)) AS log_latency, avg(accepted::INT) AS acceptance
                        FROM suggestions WHERE feature = 'code_completion' AND status = 'ok' GROUP BY 1)
           SELECT avg(satisfaction) AS sat, any_value(log_latency) AS log_latency, any_value(acceptance) AS acceptance
           FROM surveys JOIN lat USING (developer_id) GROUP BY developer_id"""
    ).df()
    x = np.column_stack([np.ones(len(df)), df["log_latency"], df["acceptance"]])
    coef, *_ = np.linalg.lstsq(x, df["sat"].to_numpy(), rcond=None)
    assert coef[1] < -0.3  # slower assistants, less satisfied developers (holding acceptance)
    assert coef[2] > 0


def test_ab_test_pooled_difference_matches_truth_within_3_se(ab_lake: Lake) -> None:
    con = ab_lake.connect()
    per_dev = con.execute(
        """SELECT a.arm, sum(s.accepted::INT) AS acc, count(*) AS shown
           FROM suggestions s JOIN assignments a USING (developer_id) JOIN experiments e USING (experiment_id)
           WHERE s.status = 'ok' AND s.timestamp >= e.start AND s.timestamp < e."end" GROUP BY a.arm, s.developer_id"""
    ).df()
    estimates, variances = {}, {}
    for arm, g in per_dev.groupby("arm"):
        m, d = g["acc"].to_numpy(float), g["shown"].to_numpy(float)
        rate = m.sum() / d.sum()
        n = len(g)
        # Delta method for a ratio of sums with per-developer clustering.
        resid = m - rate * d
        variances[arm] = n * resid.var(ddof=1) / d.sum() ** 2
        estimates[arm] = rate
    diff = estimates["B"] - estimates["A"]
    se = (variances["A"] + variances["B"]) ** 0.5
    truth = load_truth(ab_lake)["estimands"]["ab_test"]["pooled_acceptance_difference"]
    assert truth > 0
    assert abs(diff - truth) < 3 * se
    assert se < truth / 2  # the test has power: the check above is not vacuous


def test_srm_bug_drops_b_assignments(tmp_path) -> None:
    from tests.conftest import simulated_lake

    lake = simulated_lake(
        tmp_path / "srm",
        "ab_test",
        developers=3000,
        days=9,
        overrides={"ab.srm_bug": 0.1, "ab.pre_days": 2},
    )
    con = lake.connect()
    counts = dict(con.execute("SELECT arm, count(*) FROM assignments GROUP BY 1").fetchall())
    assert counts["B"] < 0.95 * counts["A"]
    planned = con.execute("SELECT planned_developers FROM experiments").fetchone()[0]
    assert counts["A"] + counts["B"] < planned


def test_rollout_adopters_are_less_experienced_as_configured(tmp_path) -> None:
    from tests.conftest import simulated_lake

    lake = simulated_lake(tmp_path / "rollout", "rollout", developers=3000, days=14)
    con = lake.connect()
    adopters, others = con.execute(
        "SELECT avg(experience_years) FILTER (WHERE adopted_at IS NOT NULL), avg(experience_years) FILTER (WHERE adopted_at IS NULL) FROM developers"
    ).fetchone()
    truth = load_truth(lake)["estimands"]["rollout"]
    assert adopters < others - 1.0  # juniors adopt first (experience_effect < 0)
    assert adopters == pytest.approx(truth["adopters_mean_experience_years"], abs=0.01)
    waves = con.execute(
        "SELECT count(DISTINCT adopted_at::DATE) FROM developers WHERE adopted_at >= DATE '2025-03-03'"
    ).fetchone()[0]
    assert waves > 4


def test_latency_regression_slows_and_lowers_acceptance(tmp_path) -> None:
    from tests.conftest import simulated_lake

    lake = simulated_lake(
        tmp_path / "reg",
        "latency_regression",
        developers=800,
        days=10,
        overrides={"regression.day": 5, "regression.factor": 3.0},
    )
    con = lake.connect()
    before, after, lat_before, lat_after = con.execute(
        "SELECT avg(accepted::INT) FILTER (WHERE day < DATE '2025-03-08'), avg(accepted::INT) FILTER (WHERE day >= DATE '2025-03-08'),"
        " median(latency_ms) FILTER (WHERE day < DATE '2025-03-08'), median(latency_ms) FILTER (WHERE day >= DATE '2025-03-08')"
        " FROM suggestions WHERE status = 'ok' AND feature = 'code_completion'"
    ).fetchone()
    assert lat_after / lat_before == pytest.approx(3.0, rel=0.1)
    assert after < before - 0.03
    truth = load_truth(lake)["estimands"]["latency_regression"]
    assert truth["after"]["acceptance_rate"] < truth["before"]["acceptance_rate"]
