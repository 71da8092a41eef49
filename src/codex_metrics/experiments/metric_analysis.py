"""One metric, one treatment arm against the control: the lifts, guardrail and options.

Ratio and mean metrics compare per-arm sufficient statistics (CUPED-adjusted when the
pre-period allows); quantile metrics compare developer-clustered quantiles
(:mod:`.quantiles`). Both then share the Welch tests, the relative lift, guardrails as
non-inferiority tests, confidence sequences and the Bayesian view.

Two rules keep the numbers honest:

* Fieller's interval is a statement about a ratio of *rates*; CUPED-adjusted arm values
  (R − θ·X) are not rates, so with CUPED the relative lift's Fieller interval (and its point
  estimate) is computed on the unadjusted arms, and the method says so (``fieller-unadjusted``).
* Confidence sequences are tuned by a planned sample size; the caller must give one (the
  experiment's ``planned_developers``, or ``--planned-developers``), never the current n.
"""

from __future__ import annotations

from dataclasses import replace

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.bayesian import bayesian_effect
from codex_metrics.experiments.cuped import CupedRatioStats, cuped_adjust
from codex_metrics.experiments.frequentist import ArmComparison, Effect, compare, relative_effect
from codex_metrics.experiments.guardrails import NonInferiority, non_inferiority
from codex_metrics.experiments.metric_source import MetricInfo
from codex_metrics.experiments.quantiles import QuantileClusteredStats
from codex_metrics.experiments.results import AnalysisOptions, MetricAnalysis, Role
from codex_metrics.experiments.sequential import sequential_effect
from codex_metrics.experiments.status import Status, status_message
from codex_metrics.experiments.sufficient_stats import ArmStatistic

__all__ = ["compare_arms", "quantile_analysis", "ratio_analysis", "unavailable"]

NAN = float("nan")


def _sequential(
    result: ArmComparison,
    a: ArmStatistic,
    b: ArmStatistic,
    options: AnalysisOptions,
    planned: int | None,
) -> ArmComparison:
    if planned is None:
        raise ParameterError(
            "--planned-developers",
            "sequential analysis needs the planned number of developers (N* of the confidence "
            "sequences); the experiment declares none, so pass --planned-developers N",
        )
    return replace(
        result,
        absolute=sequential_effect(a, b, planned_developers=planned, alpha=options.alpha),
        relative=sequential_effect(
            a, b, planned_developers=planned, kind="relative", alpha=options.alpha
        ),
    )


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

    Raises:
        ParameterError: ``options.sequential`` without ``planned_developers``.
    """
    a: ArmStatistic = control.post
    b: ArmStatistic = treatment.post
    applied, reduction = False, 0.0
    if options.cuped and control.n >= 2 and treatment.n >= 2:
        res = cuped_adjust(control, treatment)
        if res.status is Status.OK:
            a, b, applied, reduction = res.control, res.treatment, True, res.variance_reduction
    result = compare(a, b, alpha=options.alpha)
    if options.relative_ci == "fieller":
        fieller = relative_effect(control.post, treatment.post, alpha=options.alpha, ci="fieller")
        if applied:
            fieller = replace(fieller, method="fieller-unadjusted")
        result = replace(result, relative=fieller)
    if options.sequential:
        result = _sequential(result, a, b, options, planned_developers)
    return result, a, b, applied, reduction


def unavailable(
    name: str, role: Role, exc: Exception | None, options: AnalysisOptions, arm: str = ""
) -> MetricAnalysis:
    """A row for a metric the lake could not compute."""
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
        alpha=options.alpha,
        arm=arm,
    )


def _sequential_non_inferiority(
    test: NonInferiority,
    a: ArmStatistic,
    b: ArmStatistic,
    options: AnalysisOptions,
    planned: int,
) -> NonInferiority:
    """Peeking-safe guardrail: the confidence sequence's p-value for "lift = margin".

    The two-sided always-valid p-value is conservative for the one-sided question; it only
    counts when the estimate is on the safe side of the margin.
    """
    bound = -test.margin if test.higher_is_better else test.margin
    seq = sequential_effect(
        a, b, planned_developers=planned, kind="relative", alpha=options.alpha, test_value=bound
    )
    safe = seq.estimate > bound if test.higher_is_better else seq.estimate < bound
    harmful_side = seq.ci_low if test.higher_is_better else seq.ci_high
    return replace(test, relative=seq, bound=harmful_side, p_value=seq.p_value if safe else 1.0)


def _finish(
    result: MetricAnalysis,
    a: ArmStatistic,
    b: ArmStatistic,
    margin: float,
    options: AnalysisOptions,
    planned: int | None,
) -> MetricAnalysis:
    """Guardrail test and Bayesian view on the arms as compared."""
    if result.role is Role.GUARDRAIL and result.comparison is not None:
        test = non_inferiority(
            a, b, margin=margin, higher_is_better=result.higher_is_better, alpha=options.alpha
        )
        if options.sequential and test.relative.ok and planned is not None:
            test = _sequential_non_inferiority(test, a, b, options, planned)
        result = replace(result, guardrail=test, p_value=test.p_value)
    if options.bayesian and result.comparison is not None:
        post = bayesian_effect(
            a, b, prior=options.prior, higher_is_better=result.higher_is_better, alpha=options.alpha
        )
        result = replace(result, bayesian=post)
    return result


def ratio_analysis(
    info: MetricInfo,
    role: Role,
    margin: float,
    control: CupedRatioStats,
    treatment: CupedRatioStats,
    *,
    options: AnalysisOptions,
    planned: int | None,
    arms: tuple[str, str],
) -> tuple[MetricAnalysis, ArmStatistic, ArmStatistic]:
    """The analysis of a ratio or mean metric (before multiplicity adjustment)."""
    comparison, a, b, applied, reduction = compare_arms(
        control, treatment, options=options, planned_developers=planned
    )
    unadjusted = compare(control.post, treatment.post, alpha=options.alpha) if applied else None
    result = MetricAnalysis(
        info.name,
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
        control_arm=arms[0],
        arm=arms[1],
        unadjusted=unadjusted or comparison,
    )
    return _finish(result, a, b, margin, options, planned), a, b


def _too_few(stats: QuantileClusteredStats, kind: str) -> Effect:
    status = Status.QUANTILE_TOO_FEW_EVENTS
    return Effect.failed(kind, status, method="welch")  # type: ignore[arg-type]


def quantile_analysis(
    info: MetricInfo,
    role: Role,
    margin: float,
    control: QuantileClusteredStats | None,
    treatment: QuantileClusteredStats | None,
    *,
    options: AnalysisOptions,
    planned: int | None,
    arms: tuple[str, str],
) -> MetricAnalysis:
    """The analysis of a developer-clustered quantile (no CUPED, no slices)."""
    base = {
        "alpha": options.alpha,
        "kind": "quantile",
        "control_arm": arms[0],
        "arm": arms[1],
    }
    if control is None or treatment is None:
        status = Status.EMPTY_ARM
        failed = Effect.failed("absolute", status, method="welch")
        comparison = ArmComparison(
            NAN, NAN, 0, 0, failed, Effect.failed("relative", status, method="welch")
        )
        return MetricAnalysis(
            info.name,
            role,
            info.unit,
            info.higher_is_better,
            comparison,
            NAN,
            status=status,
            message=status_message(status),
            **base,  # type: ignore[arg-type]
        )
    comparison = compare(control, treatment, alpha=options.alpha)
    if control.too_few_events or treatment.too_few_events:
        weak = control if control.too_few_events else treatment
        comparison = replace(
            comparison, absolute=_too_few(weak, "absolute"), relative=_too_few(weak, "relative")
        )
    else:
        if options.relative_ci == "fieller":
            comparison = replace(
                comparison,
                relative=relative_effect(control, treatment, alpha=options.alpha, ci="fieller"),
            )
        if options.sequential:
            comparison = _sequential(comparison, control, treatment, options, planned)
    result = MetricAnalysis(
        info.name,
        role,
        info.unit,
        info.higher_is_better,
        comparison,
        comparison.absolute.p_value,
        status=comparison.absolute.status,
        message=comparison.absolute.message,
        unadjusted=comparison,
        quantiles=(control, treatment),
        **base,  # type: ignore[arg-type]
    )
    if not comparison.absolute.ok:
        return result
    return _finish(result, control, treatment, margin, options, planned)
