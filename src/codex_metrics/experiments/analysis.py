"""Analyse an experiment in the lake: the library call behind ``codex-metrics ab analyze``.

Default (one shared pass over the lake for every ratio metric, two for the quantile metrics):
per-arm sufficient statistics, the delta method, CUPED with each developer's pre-period,
developer-clustered quantiles, SRM over every arm and per slice, every treatment arm against
the control, Holm over primary and guardrail metrics of every treatment arm together, BH over
secondary metrics and over slices, guardrails as non-inferiority tests, eval pass-rate deltas,
and a verdict that names the arm to ship or none. Options add always-valid sequential
intervals, a Poisson bootstrap, a developer random-effects model, capping and a Bayesian view.
Bad data (an empty arm, zero variance, a metric the lake cannot compute) becomes a row with a
status code; the batch always finishes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import duckdb

from codex_metrics.errors import CodexMetricsError, ParameterError
from codex_metrics.experiments.bootstrap import poisson_bootstrap
from codex_metrics.experiments.capping import cap_applies
from codex_metrics.experiments.cuped import CupedRatioStats
from codex_metrics.experiments.design import ExperimentDesign, load_experiment
from codex_metrics.experiments.frequentist import ArmComparison
from codex_metrics.experiments.guardrails import guardrail_outcome
from codex_metrics.experiments.lake_stats import (
    assignment_counts,
    developer_arrays,
    eval_delta,
    experiment_end,
    metric_statistics,
)
from codex_metrics.experiments.metric_analysis import (
    compare_arms,
    quantile_analysis,
    ratio_analysis,
    unavailable,
)
from codex_metrics.experiments.metric_source import (
    MetricInfo,
    is_eval_metric,
    metric_exists,
    metric_info,
    prefetch,
)
from codex_metrics.experiments.mixed import mixed_model_effect
from codex_metrics.experiments.multiple_testing import benjamini_hochberg, holm
from codex_metrics.experiments.quantile_stats import QuantileRequest, quantile_statistics
from codex_metrics.experiments.report_notes import report_notes
from codex_metrics.experiments.results import (
    AnalysisOptions,
    AssignmentHealth,
    ExperimentReport,
    MetricAnalysis,
    Role,
    SliceResult,
)
from codex_metrics.experiments.srm import srm_by_slice, srm_check
from codex_metrics.experiments.verdict import decide

__all__ = ["analyze_experiment", "compare_arms"]

NAN = float("nan")
RawSlice = tuple[str, str, str, str, ArmComparison]


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


def _filters(design: ExperimentDesign, name: str) -> tuple[tuple[str, str], ...]:
    return design.metric_filters.get(name, ())


def _ratio_metric(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    info: MetricInfo,
    role: Role,
    margin: float,
    options: AnalysisOptions,
    planned: int | None,
) -> tuple[list[MetricAnalysis], list[RawSlice]]:
    cap = options.cap if options.cap is not None and cap_applies(info.unit) else None
    filters = design.filters_of(info.name) or None
    try:
        stats = metric_statistics(
            con,
            design,
            info.name,
            slices=options.slices and role is Role.PRIMARY,
            pre_period=options.cuped,
            filters=filters,
            cap=cap,
        )
    except (CodexMetricsError, duckdb.Error) as exc:
        return [unavailable(info.name, role, exc, options, t.name) for t in design.treatments], []
    empty = CupedRatioStats.from_arrays([], [], [], [])
    ctl = design.control.name
    control = stats.overall.get(ctl, empty)
    arrays = None
    if options.bootstrap or (options.mixed and role is Role.PRIMARY):
        arrays = developer_arrays(con, design, info.name, filters=filters, cap=cap)
    results, slices = [], []
    for arm in design.treatments:
        result, _, _ = ratio_analysis(
            info,
            role,
            margin,
            control,
            stats.overall.get(arm.name, empty),
            options=options,
            planned=planned,
            arms=(ctl, arm.name),
        )
        result = replace(result, cap=stats.cap, filters=_filters(design, info.name))
        if arrays is not None and options.bootstrap:
            boot = poisson_bootstrap(
                arrays[ctl],
                arrays[arm.name],
                n_resamples=options.bootstrap_resamples,
                alpha=options.alpha,
                seed=options.seed,
            )
            result = replace(result, bootstrap=boot)
        if arrays is not None and options.mixed and role is Role.PRIMARY:
            mixed = mixed_model_effect(
                arrays[ctl],
                arrays[arm.name],
                max_developers=options.mixed_max_developers,
                seed=options.seed,
            )
            result = replace(result, mixed=mixed)
        results.append(result)
        for (dim, value), by_arm in sorted(stats.slices.items()):
            a, b = by_arm.get(ctl, empty), by_arm.get(arm.name, empty)
            # Each slice's confidence sequence is tuned at the slice's own size.
            cmp, *_ = compare_arms(a, b, options=options, planned_developers=int(a.n + b.n) or 2)
            slices.append((info.name, arm.name, dim, value, cmp))
    return results, slices


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


def _quantiles(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    infos: list[MetricInfo],
    options: AnalysisOptions,
) -> tuple[dict, Exception | None]:
    requests = [
        QuantileRequest(i.name, float(i.level or 0.5), design.filters_of(i.name) or None)
        for i in infos
    ]
    if not requests:
        return {}, None
    try:
        stats = quantile_statistics(
            con, design, requests, small_sample=options.small_sample_quantiles
        )
        return stats, None
    except (CodexMetricsError, duckdb.Error) as exc:
        return {}, exc


def analyze_experiment(
    con: duckdb.DuckDBPyConnection,
    experiment_id: str,
    options: AnalysisOptions | None = None,
) -> ExperimentReport:
    """Analyse ``experiment_id`` with ``options`` and return the full report.

    Raises:
        DataNotFoundError: the experiment is not in the lake.
        ParameterError: an option is out of range, ``options.metrics`` names an undeclared
            metric, or ``sequential`` without a planned number of developers.
    """
    options = options or AnalysisOptions()
    design = load_experiment(con, experiment_id)
    planned = options.planned_developers or design.planned_developers
    if options.sequential and planned is None:
        raise ParameterError(
            "--planned-developers",
            f"{experiment_id} declares no planned_developers, which tune the sequential "
            "intervals; pass --planned-developers N (the developers you expect at the end)",
        )
    counts = assignment_counts(con, design)
    health = AssignmentHealth(
        counts,
        srm_check(counts.developers, design.weights),
        srm_by_slice({f"{d}={v}": c for (d, v), c in counts.by_slice.items()}, design.weights),
    )
    roles = [r for r in _roles(design, options.metrics) if not is_eval_metric(r[0])]
    infos: dict[str, MetricInfo | Exception] = {}
    for name, _, _ in roles:
        try:
            infos[name] = metric_info(name)
        except CodexMetricsError as exc:
            infos[name] = exc
    windows = [(design.start, experiment_end(design))]
    if options.cuped and design.pre_period_start and design.pre_period_start < design.start:
        windows.append((design.pre_period_start, design.start))
    shared = [
        n
        for n, i in infos.items()
        if isinstance(i, MetricInfo) and i.kind == "ratio" and not design.filters_of(n)
    ]
    prefetch(con, [n for n in shared if metric_exists(n)], windows)
    quantile_infos = [
        i for i in infos.values() if isinstance(i, MetricInfo) and i.kind == "quantile"
    ]
    quantile_stats, quantile_error = _quantiles(con, design, quantile_infos, options)
    results: list[MetricAnalysis] = []
    raw_slices: list[RawSlice] = []
    for name, role, margin in roles:
        info = infos[name]
        if not isinstance(info, MetricInfo):
            results += [unavailable(name, role, info, options, t.name) for t in design.treatments]
        elif info.kind == "quantile":
            arms = quantile_stats.get(name, {})
            for arm in design.treatments:
                if quantile_error is not None:
                    results.append(unavailable(name, role, quantile_error, options, arm.name))
                    continue
                result = quantile_analysis(
                    info,
                    role,
                    margin,
                    arms.get(design.control.name),
                    arms.get(arm.name),
                    options=options,
                    planned=planned,
                    arms=(design.control.name, arm.name),
                )
                results.append(replace(result, filters=_filters(design, name)))
        else:
            rows, metric_slices = _ratio_metric(con, design, info, role, margin, options, planned)
            results += rows
            raw_slices += metric_slices
    results = _adjust(results, options.alpha)
    slice_p = benjamini_hochberg([s[4].absolute.p_value for s in raw_slices])
    slices = tuple(
        SliceResult(metric, dim, value, cmp, float(p), arm)
        for (metric, arm, dim, value, cmp), p in zip(raw_slices, slice_p, strict=True)
    )
    evals = {arm.name: eval_delta(con, design, arm) for arm in design.treatments}
    evals_by_arm = {k: v for k, v in evals.items() if v is not None}
    eval_margins = [g.margin for g in design.guardrails if is_eval_metric(g.metric)]
    verdict = decide(
        results,
        health.srm,
        counts=counts,
        evals=evals_by_arm,
        eval_guardrail=eval_margins[0] if eval_margins else None,
        treatments=[a.name for a in design.treatments],
    )
    return ExperimentReport(
        design=design,
        options=options,
        health=health,
        metrics=tuple(results),
        slices=slices,
        evals=evals.get(design.treatment.name),
        verdict=verdict,
        generated_at=datetime.now(UTC),
        notes=report_notes(design, options, counts, results),
        evals_by_arm=evals_by_arm,
    )
