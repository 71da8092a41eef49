"""Analyse an experiment in the lake: the library call behind ``codex-metrics ab analyze``.

Default (one pass over the lake per metric): per-arm sufficient statistics, the delta method,
CUPED with each developer's pre-period, SRM overall and per slice, Holm over primary and
guardrail metrics, BH over secondary metrics and over slices, guardrails as non-inferiority
tests, eval pass-rate deltas, and a verdict. Options add always-valid sequential intervals,
a Poisson bootstrap and a developer random-effects model. Bad data (an empty arm, zero
variance, a metric the lake cannot compute) becomes a row with a status code; the batch
always finishes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import duckdb
import numpy as np

from codex_metrics.errors import CodexMetricsError, ParameterError
from codex_metrics.experiments.bootstrap import poisson_bootstrap
from codex_metrics.experiments.cuped import CupedRatioStats, cuped_adjust
from codex_metrics.experiments.design import ExperimentDesign, load_experiment
from codex_metrics.experiments.frequentist import ArmComparison, compare
from codex_metrics.experiments.guardrails import (
    NonInferiority,
    guardrail_outcome,
    non_inferiority,
)
from codex_metrics.experiments.lake_stats import (
    assignment_counts,
    developer_arrays,
    eval_delta,
    experiment_end,
    metric_statistics,
)
from codex_metrics.experiments.metric_source import metric_exists, metric_info, prefetch
from codex_metrics.experiments.mixed import mixed_model_effect
from codex_metrics.experiments.multiple_testing import benjamini_hochberg, holm
from codex_metrics.experiments.results import (
    AnalysisOptions,
    AssignmentHealth,
    ExperimentReport,
    MetricAnalysis,
    Role,
    SliceResult,
)
from codex_metrics.experiments.sequential import sequential_effect
from codex_metrics.experiments.srm import srm_by_slice, srm_check
from codex_metrics.experiments.status import Status, status_message
from codex_metrics.experiments.sufficient_stats import ArmStatistic
from codex_metrics.experiments.verdict import decide

__all__ = ["analyze_experiment", "compare_arms"]

NAN = float("nan")


def compare_arms(
    control: CupedRatioStats,
    treatment: CupedRatioStats,
    *,
    options: AnalysisOptions,
    planned_developers: int | None = None,
) -> tuple[ArmComparison, ArmStatistic, ArmStatistic, bool, float]:
    """Compare two arms' statistics with the analysis options.

    Returns:
        The comparison, the (possibly adjusted) arms, whether CUPED applied, and its
        variance reduction.
    """
    a: ArmStatistic = control.post
    b: ArmStatistic = treatment.post
    applied, reduction = False, 0.0
    if options.cuped and control.n >= 2 and treatment.n >= 2:
        res = cuped_adjust(control, treatment)
        if res.status is Status.OK:
            a, b, applied, reduction = res.control, res.treatment, True, res.variance_reduction
    result = compare(a, b, alpha=options.alpha, relative_ci=options.relative_ci)
    if options.sequential:
        planned = planned_developers or int(control.n + treatment.n)
        result = replace(
            result,
            absolute=sequential_effect(a, b, planned_developers=planned, alpha=options.alpha),
            relative=sequential_effect(
                a, b, planned_developers=planned, kind="relative", alpha=options.alpha
            ),
        )
    return result, a, b, applied, reduction


def _roles(design: ExperimentDesign, only: tuple[str, ...] | None) -> list[tuple[str, Role, float]]:
    margins = {g.metric: g.margin for g in design.guardrails}
    out: list[tuple[str, Role, float]] = []
    for name in design.all_metrics:
        role = (
            Role.PRIMARY
            if name in design.primary_metrics
            else Role.GUARDRAIL
            if name in margins
            else Role.SECONDARY
        )
        out.append((name, role, margins.get(name, NAN)))
    if only:
        unknown = [m for m in only if m not in {n for n, _, _ in out}]
        if unknown:
            raise ParameterError(
                "--metric",
                f"{', '.join(unknown)} not declared by {design.experiment_id}; "
                f"declared: {', '.join(design.all_metrics)}",
            )
        out = [row for row in out if row[0] in only]
    return out


def _sequential_non_inferiority(
    test: NonInferiority,
    a: ArmStatistic,
    b: ArmStatistic,
    design: ExperimentDesign,
    options: AnalysisOptions,
) -> NonInferiority:
    """Peeking-safe guardrail: the confidence sequence's p-value for "lift = margin".

    The two-sided always-valid p-value is conservative for the one-sided question; it only
    counts when the estimate is on the safe side of the margin.
    """
    bound = -test.margin if test.higher_is_better else test.margin
    planned = design.planned_developers or int(a.n + b.n)
    seq = sequential_effect(
        a, b, planned_developers=planned, kind="relative", alpha=options.alpha, test_value=bound
    )
    safe = seq.estimate > bound if test.higher_is_better else seq.estimate < bound
    harmful_side = seq.ci_low if test.higher_is_better else seq.ci_high
    return replace(test, relative=seq, bound=harmful_side, p_value=seq.p_value if safe else 1.0)


def _unavailable(name: str, role: Role, exc: Exception | None, alpha: float) -> MetricAnalysis:
    message = status_message(Status.METRIC_UNAVAILABLE) + (f": {exc}" if exc else "")
    return MetricAnalysis(
        name,
        role,
        "",
        True,
        None,
        NAN,
        status=Status.METRIC_UNAVAILABLE,
        message=message,
        alpha=alpha,
    )


def _analyse_metric(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    name: str,
    role: Role,
    margin: float,
    options: AnalysisOptions,
) -> tuple[MetricAnalysis, list[tuple[str, str, ArmComparison]]]:
    ctl, trt = design.control.name, design.treatment.name
    try:
        info = metric_info(name)
        stats = metric_statistics(
            con,
            design,
            name,
            slices=options.slices and role is Role.PRIMARY,
            pre_period=options.cuped,
        )
    except (CodexMetricsError, duckdb.Error) as exc:
        return _unavailable(name, role, exc, options.alpha), []
    empty = CupedRatioStats.from_arrays([], [], [], [])
    control, treatment = stats.overall.get(ctl, empty), stats.overall.get(trt, empty)
    comparison, a, b, applied, reduction = compare_arms(
        control, treatment, options=options, planned_developers=design.planned_developers
    )
    result = MetricAnalysis(
        name,
        role,
        info.unit,
        info.higher_is_better,
        comparison,
        comparison.absolute.p_value,
        cuped_applied=applied,
        variance_reduction=reduction,
        status=comparison.absolute.status,
        message=comparison.absolute.message,
        alpha=options.alpha,
    )
    if role is Role.GUARDRAIL:
        test = non_inferiority(
            a, b, margin=margin, higher_is_better=info.higher_is_better, alpha=options.alpha
        )
        if options.sequential and test.relative.ok:
            test = _sequential_non_inferiority(test, a, b, design, options)
        result = replace(result, guardrail=test, p_value=test.p_value)
    mixed_here = options.mixed and role is Role.PRIMARY
    if options.bootstrap or mixed_here:
        arrays = developer_arrays(con, design, name)
        if options.bootstrap:
            boot = poisson_bootstrap(
                arrays[ctl],
                arrays[trt],
                n_resamples=options.bootstrap_resamples,
                alpha=options.alpha,
                seed=options.seed,
            )
            result = replace(result, bootstrap=boot)
        if mixed_here:
            mixed = mixed_model_effect(
                arrays[ctl],
                arrays[trt],
                max_developers=options.mixed_max_developers,
                seed=options.seed,
            )
            result = replace(result, mixed=mixed)
    slices = []
    for (dim, value), arms in sorted(stats.slices.items()):
        cmp, *_ = compare_arms(arms.get(ctl, empty), arms.get(trt, empty), options=options)
        slices.append((dim, value, cmp))
    return result, slices


def _adjust(results: list[MetricAnalysis], alpha: float) -> list[MetricAnalysis]:
    family = [i for i, m in enumerate(results) if m.role in (Role.PRIMARY, Role.GUARDRAIL)]
    secondary = [i for i, m in enumerate(results) if m.role is Role.SECONDARY]
    adjusted = list(results)
    for idx, method in ((family, holm), (secondary, benjamini_hochberg)):
        ps = method([results[i].p_value for i in idx])
        for i, p in zip(idx, ps, strict=True):
            m = replace(results[i], adjusted_p_value=float(p))
            if m.guardrail is not None:
                m = replace(
                    m, guardrail_outcome=guardrail_outcome(m.guardrail, float(p), alpha=alpha)
                )
            adjusted[i] = m
    return adjusted


def analyze_experiment(
    con: duckdb.DuckDBPyConnection,
    experiment_id: str,
    options: AnalysisOptions | None = None,
) -> ExperimentReport:
    """Analyse ``experiment_id`` with ``options`` and return the full report.

    Raises:
        DataNotFoundError: the experiment is not in the lake.
        ParameterError: an option is out of range or ``options.metrics`` names an undeclared
            metric.
    """
    options = options or AnalysisOptions()
    if not 0 < options.alpha < 1:
        raise ParameterError("--alpha", f"must be in (0, 1), got {options.alpha}")
    design = load_experiment(con, experiment_id)
    counts = assignment_counts(con, design)
    health = AssignmentHealth(
        counts,
        srm_check(counts.developers, design.weights),
        srm_by_slice({f"{d}={v}": c for (d, v), c in counts.by_slice.items()}, design.weights),
    )
    results: list[MetricAnalysis] = []
    raw_slices: list[tuple[str, str, str, ArmComparison]] = []
    roles = _roles(design, options.metrics)
    windows = [(design.start, experiment_end(design))]
    if (
        options.cuped
        and design.pre_period_start is not None
        and design.pre_period_start < design.start
    ):
        windows.append((design.pre_period_start, design.start))
    prefetch(con, [name for name, _, _ in roles if metric_exists(name)], windows)
    for name, role, margin in roles:
        result, metric_slices = _analyse_metric(con, design, name, role, margin, options)
        results.append(result)
        raw_slices += [(name, *s) for s in metric_slices]
    results = _adjust(results, options.alpha)
    slice_p = benjamini_hochberg([s[3].absolute.p_value for s in raw_slices])
    slices = tuple(
        SliceResult(metric, dim, value, cmp, float(p))
        for (metric, dim, value, cmp), p in zip(raw_slices, slice_p, strict=True)
    )
    notes = []
    if len(design.arms) > 2:
        notes.append(
            f"The experiment declares {len(design.arms)} arms; this report compares the first "
            f"treatment arm ({design.treatment.name}) with the control ({design.control.name})."
        )
    if options.mixed:
        notes.append(
            f"Mixed model fitted for primary count-ratio metrics on at most "
            f"{options.mixed_max_developers} random developers per arm (60,000 outcome rows); "
            "it estimates a developer-conditional effect, not the pooled-rate lift."
        )
    if np.isfinite(health.srm.p_value) and counts.unassigned_active:
        notes.append(
            f"{counts.unassigned_active} developers were served the treatment model without an "
            "assignment record: check assignment logging."
        )
    return ExperimentReport(
        design=design,
        options=options,
        health=health,
        metrics=tuple(results),
        slices=slices,
        evals=eval_delta(con, design),
        verdict=decide(results, health.srm),
        generated_at=datetime.now(UTC),
        notes=tuple(notes),
    )
