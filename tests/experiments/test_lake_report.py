"""End to end on a simulated ab_test lake: the report, its verdict, health and renderings."""

from __future__ import annotations

import json
import math

import pytest

from codex_metrics.errors import DataNotFoundError, ParameterError
from codex_metrics.experiments import (
    AnalysisOptions,
    Decision,
    GuardrailOutcome,
    Role,
    SrmLevel,
    Status,
    analyze_experiment,
    render_experiment_html,
    render_experiment_json,
    render_experiment_markdown,
)
from codex_metrics.experiments.metric_source import cached_developer_sums

from .simulated import SMALL, experiment_id, make_lake


@pytest.fixture(scope="module")
def report(ab_lake):
    lake, _ = ab_lake
    con = lake.connect()
    return analyze_experiment(con, experiment_id(con))


def test_default_report_ships_and_covers_the_truth(ab_lake, report):
    _, truth = ab_lake
    primary = report.metrics[0]
    assert primary.metric == "acceptance_rate_by_count" and primary.role is Role.PRIMARY
    effect = primary.comparison.absolute
    assert effect.ci_low <= truth["pooled_acceptance_difference"] <= effect.ci_high
    assert primary.cuped_applied and primary.variance_reduction > 0.3
    assert report.verdict.decision is Decision.SHIP
    assert "acceptance_rate_by_count improved" in report.verdict.reason
    latency = next(m for m in report.metrics if m.metric == "latency_mean_ms")
    assert latency.role is Role.GUARDRAIL and latency.guardrail_outcome is GuardrailOutcome.PASS
    # the simulated latency ratio is 0.85
    assert (
        latency.comparison.relative.ci_low
        < -0.15 + 0.05
        < latency.comparison.relative.ci_high + 0.05
    )
    # P90 completion latency: a clustered quantile guardrail on code completions only.
    p90 = next(m for m in report.metrics if m.metric == "latency_p90_ms")
    assert p90.kind == "quantile" and p90.role is Role.GUARDRAIL
    assert p90.filters == (("feature", "code_completion"),)
    assert p90.guardrail_outcome is GuardrailOutcome.PASS
    true_a, true_b = truth["completion_latency_p90_ms_a"], truth["completion_latency_p90_ms_b"]
    assert true_b / true_a == pytest.approx(0.85, abs=1e-4)  # B is 15% faster at every quantile
    assert p90.comparison.absolute.ci_low <= true_b - true_a <= p90.comparison.absolute.ci_high
    control, treatment = p90.quantiles
    assert control.n_clusters + treatment.n_clusters == report.design.planned_developers
    assert abs(control.quantile_hat - true_a) < 4 * control.se


def test_every_declared_metric_has_a_row_and_adjusted_p(report):
    names = [m.metric for m in report.metrics]
    assert names == list(report.design.all_metrics) and len(names) == 8
    for m in report.metrics:
        assert m.status is Status.OK, (m.metric, m.message)
        assert m.adjusted_p_value >= m.p_value - 1e-15
    holm_family = [m for m in report.metrics if m.role in (Role.PRIMARY, Role.GUARDRAIL)]
    smallest = min(holm_family, key=lambda m: m.p_value)
    assert smallest.adjusted_p_value == pytest.approx(len(holm_family) * smallest.p_value)


def test_assignment_health_and_slices(report):
    health = report.health
    assert health.srm.level is SrmLevel.OK and health.counts.crossover == 0
    assert health.counts.exposure_mismatch == 0 and health.counts.unassigned_active == 0
    assert sum(health.counts.developers.values()) == report.design.planned_developers
    dims = {s.dimension for s in report.slices}
    assert dims == {"language", "editor", "experience", "persona"}
    assert all(s.metric == "acceptance_rate_by_count" for s in report.slices)
    usable = [s for s in report.slices if s.comparison.absolute.ok]
    assert len(usable) >= 15
    assert all(s.adjusted_p_value >= s.comparison.absolute.p_value - 1e-15 for s in usable)
    # a slice with one arm empty is a row with a status, not a crash
    assert all(s.comparison.absolute.message for s in report.slices if s not in usable)


def test_renderings(report):
    md = render_experiment_markdown(report)
    assert "**Verdict: SHIP.**" in md and "| acceptance_rate_by_count | B | primary |" in md
    page = render_experiment_html(report)
    assert page.count('class="plotly-graph-div"') == 1 and 'aria-label="forest plot"' not in page
    doc = json.loads(render_experiment_json(report))
    assert doc["verdict"]["decision"] == "ship"
    assert doc["metrics"][0]["comparison"]["absolute"]["status"] == "ok"
    assert "NaN" not in render_experiment_json(report)


def test_srm_bug_is_caught_and_blocks_the_verdict(tmp_path):
    lake = make_lake(
        tmp_path / "srm", developers=400, days=10, seed=3, overrides={**SMALL, "ab.srm_bug": 0.5}
    )
    con = lake.connect()
    report = analyze_experiment(con, experiment_id(con), AnalysisOptions(slices=False))
    assert report.health.srm.level is SrmLevel.ALERT
    assert report.health.counts.unassigned_active > 20
    assert report.verdict.decision is Decision.UNTRUSTWORTHY
    assert "Sample-ratio mismatch" in report.verdict.reason


def test_options_sequential_bootstrap_mixed(ab_lake):
    lake, _ = ab_lake
    con = lake.connect()
    opts = AnalysisOptions(
        sequential=True,
        bootstrap=True,
        mixed=True,
        slices=False,
        metrics=("acceptance_rate_by_count", "latency_mean_ms"),
    )
    report = analyze_experiment(con, experiment_id(con), opts)
    primary = report.metrics[0]
    assert primary.comparison.absolute.method == "sequential"
    fixed = analyze_experiment(
        con, experiment_id(con), AnalysisOptions(slices=False, metrics=opts.metrics)
    )
    seq_width = primary.comparison.absolute.ci_high - primary.comparison.absolute.ci_low
    fixed_eff = fixed.metrics[0].comparison.absolute
    assert seq_width > fixed_eff.ci_high - fixed_eff.ci_low
    assert primary.bootstrap.status is Status.OK and primary.mixed is not None
    assert primary.mixed.status in (Status.OK, Status.MIXED_VARIANCE_COLLAPSED)
    assert report.metrics[1].mixed is None  # mixed model only for primary metrics
    assert any("Mixed model" in n for n in report.notes)


def test_misuse_raises(ab_lake):
    lake, _ = ab_lake
    con = lake.connect()
    with pytest.raises(DataNotFoundError, match="ab list"):
        analyze_experiment(con, "no-such-experiment")
    with pytest.raises(ParameterError, match="--metric"):
        analyze_experiment(con, experiment_id(con), AnalysisOptions(metrics=("keystrokes",)))


# Independent reference: the experiment metrics written by hand in plain SQL (numerator, denominator).
REFERENCE_SQL = {
    "acceptance_rate_by_count": (
        "count(*) FILTER (WHERE accepted)",
        "count(*) FILTER (WHERE status = 'ok')",
    ),
    "acceptance_rate_by_lines": (
        "sum(lines_accepted)",
        "sum(lines_suggested) FILTER (WHERE status = 'ok')",
    ),
    "latency_mean_ms": ("sum(latency_ms)", "count(*)"),
    "error_rate": ("count(*) FILTER (WHERE status IN ('error', 'timeout'))", "count(*)"),
    "edit_distance_mean": ("sum(edit_distance_10m)", "count(edit_distance_10m)"),
    "persistence_rate_10m": (
        "sum(chars_persisted_10m)",
        "sum(chars_accepted) FILTER (WHERE chars_persisted_10m IS NOT NULL)",
    ),
    "post_accept_failure_rate": (
        "count(*) FILTER (WHERE post_accept_failure)",
        "count(post_accept_failure)",
    ),
}


@pytest.mark.parametrize("metric", sorted(REFERENCE_SQL))
def test_catalogue_seam_agrees_with_hand_written_sql(ab_lake, metric):
    """The catalogue's per-developer sums equal plain SQL written independently."""
    lake, _ = ab_lake
    con = lake.connect()
    from datetime import UTC, datetime

    window = {"start": datetime(2025, 3, 6, tzinfo=UTC), "end": datetime(2025, 3, 17, tzinfo=UTC)}
    ours = cached_developer_sums(con, metric, **window).order("developer_id").fetchall()
    numerator, denominator = REFERENCE_SQL[metric]
    ref = con.sql(
        f"SELECT developer_id, coalesce({numerator}, 0)::DOUBLE, coalesce({denominator}, 0)::DOUBLE "
        'FROM suggestions WHERE "timestamp" >= $start AND "timestamp" < $end GROUP BY 1 ORDER BY 1',
        params=window,
    ).fetchall()
    ours = [r for r in ours if r[1] or r[2]]
    ref = [r for r in ref if r[1] or r[2]]
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        assert a[0] == b[0] and math.isclose(a[1], b[1]) and math.isclose(a[2], b[2])


def test_a_metric_the_lake_cannot_compute_is_a_row_not_a_crash(tmp_path):
    import pyarrow as pa

    lake = make_lake(tmp_path / "bad", developers=150, days=8, seed=5, overrides=SMALL)
    con = lake.connect()
    row = con.sql(
        "SELECT * EXCLUDE (source, ingested_at, run_id) FROM experiments"
    ).to_arrow_table()
    row = row.set_column(
        row.schema.get_field_index("secondary_metrics"),
        "secondary_metrics",
        pa.array([["no_such_metric", "edit_distance_mean"]], pa.list_(pa.string())),
    )
    lake.write_table("experiments", row, source="manual", scope="test")
    # A second source now sits beside the simulated world: read both explicitly.
    both = lake.connect(sources="all")
    report = analyze_experiment(both, experiment_id(con), AnalysisOptions(slices=False))
    bad = next(m for m in report.metrics if m.metric == "no_such_metric")
    assert bad.status is Status.METRIC_UNAVAILABLE and "no_such_metric" in bad.message
    assert bad.comparison is None and math.isnan(bad.adjusted_p_value)
    assert next(m for m in report.metrics if m.metric == "edit_distance_mean").status is Status.OK
    assert "no_such_metric" in render_experiment_markdown(report)
    assert (
        json.loads(render_experiment_json(report))["metrics"][-2]["status"] == "metric_unavailable"
    )


def test_the_one_scan_prefetch_changes_no_number(ab_lake, report, monkeypatch):
    """The report reads every metric and window in one scan; metric by metric gives the same."""
    from codex_metrics.experiments import analysis

    lake, _ = ab_lake
    monkeypatch.setattr(analysis, "prefetch", lambda *args, **kwargs: False)
    con = lake.connect()
    one_by_one = analyze_experiment(con, experiment_id(con))
    for a, b in zip(report.metrics, one_by_one.metrics, strict=True):
        assert a.metric == b.metric
        for field in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            assert math.isclose(
                getattr(a.comparison.absolute, field),
                getattr(b.comparison.absolute, field),
                rel_tol=1e-9,
                abs_tol=1e-12,
            ), (a.metric, field)


def test_prefetch_is_used_by_the_report(ab_lake):
    from codex_metrics.experiments import metric_source

    lake, _ = ab_lake
    con = lake.connect()
    analyze_experiment(con, experiment_id(con))
    assert len(metric_source._PREFETCHED.get(con, {})) >= 7
