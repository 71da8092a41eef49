"""The experiment report's data: what ``analyze_experiment`` returns and the renderers read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.bayesian import BayesianPrior, BayesianResult
from codex_metrics.experiments.bootstrap import BootstrapResult
from codex_metrics.experiments.capping import CapInfo, check_percentile
from codex_metrics.experiments.design import ExperimentDesign
from codex_metrics.experiments.frequentist import ArmComparison, RelativeCI
from codex_metrics.experiments.guardrails import GuardrailOutcome, NonInferiority
from codex_metrics.experiments.lake_stats import AssignmentCounts, EvalDelta
from codex_metrics.experiments.mixed import MixedResult
from codex_metrics.experiments.quantiles import QuantileClusteredStats
from codex_metrics.experiments.srm import SrmResult
from codex_metrics.experiments.status import Status

__all__ = [
    "AnalysisOptions",
    "AssignmentHealth",
    "Decision",
    "ExperimentReport",
    "MetricAnalysis",
    "Role",
    "SliceResult",
    "Verdict",
]


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse an experiment.

    Attributes:
        alpha: two-sided level of every test (guardrails: one-sided at alpha).
        cuped: adjust with each developer's pre-period value when there is one.
        sequential: always-valid confidence sequences tuned by the planned developers.
        planned_developers: N* of the confidence sequences (default: the experiment's
            ``planned_developers``; required with ``sequential`` when it has none).
        bootstrap: add a Poisson bootstrap of every ratio metric's unadjusted absolute lift,
            shown next to the unadjusted delta-method interval (like with like).
        bootstrap_resamples: bootstrap replicates.
        mixed: add the developer random-effects model for primary metrics (count ratios
            only, subsampled).
        mixed_max_developers: per-arm subsample size of the mixed model.
        slices: analyse primary ratio metrics per developer slice (BH-controlled).
        relative_ci: ``delta`` (gbstats) or ``fieller`` (on unadjusted values) for
            relative-lift intervals.
        bayesian: add chance to beat control and expected loss per metric.
        prior: prior on the relative lift of the Bayesian view (default N(0, 0.3²)).
        cap: winsorise mean metrics' developer means at this pooled percentile (e.g. 0.99);
            ``None``: no capping.
        small_sample_quantiles: leverage-correct the clustered variance of quantile metrics
            (:mod:`.quantiles`); ``False`` gives gbstats' intervals exactly.
        metrics: analyse only these metrics (default: all the experiment declares).
        seed: seed of the bootstrap and the mixed-model subsample.

    Raises:
        ParameterError: an option is out of range, or options that cannot be combined.
    """

    alpha: float = 0.05
    cuped: bool = True
    sequential: bool = False
    planned_developers: int | None = None
    bootstrap: bool = False
    bootstrap_resamples: int = 2000
    mixed: bool = False
    mixed_max_developers: int = 500
    slices: bool = True
    relative_ci: RelativeCI = "delta"
    bayesian: bool = False
    prior: BayesianPrior = field(default_factory=BayesianPrior)
    cap: float | None = None
    small_sample_quantiles: bool = True
    metrics: tuple[str, ...] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ParameterError("--alpha", f"must be in (0, 1), got {self.alpha}")
        if self.sequential and self.relative_ci == "fieller":
            raise ParameterError(
                "--fieller",
                "cannot be combined with --sequential: confidence sequences have no Fieller "
                "form; drop one of the two",
            )
        if self.planned_developers is not None and self.planned_developers < 2:
            raise ParameterError(
                "--planned-developers", f"must be at least 2, got {self.planned_developers}"
            )
        if self.cap is not None:
            check_percentile(self.cap)


class Role(StrEnum):
    """A metric's role in the experiment."""

    PRIMARY = "primary"
    GUARDRAIL = "guardrail"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class MetricAnalysis:
    """One metric's analysis for one treatment arm against the control.

    Attributes:
        metric: catalogue name.
        role: primary, guardrail or secondary.
        unit: unit of the arm values.
        higher_is_better: direction.
        comparison: both arms' values and absolute and relative lifts (CUPED-adjusted when
            ``cuped_applied``; sequential when the analysis is).
        p_value: the p-value entering multiple-testing control (guardrails: non-inferiority).
        adjusted_p_value: Holm (primary + guardrail, over every treatment arm) or BH
            (secondary) adjusted.
        cuped_applied: whether CUPED adjusted this metric.
        variance_reduction: share of the lift's variance CUPED removed.
        guardrail: the non-inferiority test (guardrails only).
        guardrail_outcome: pass, fail or inconclusive (guardrails only).
        bootstrap: Poisson bootstrap of the unadjusted absolute lift (option).
        mixed: random-effects model (option).
        status: OK, or why the numbers are missing.
        message: plain words.
        alpha: level the adjusted p-value is compared with.
        arm: the treatment arm compared with the control.
        control_arm: the control arm.
        kind: ``ratio`` (ratio or mean of per-developer sums) or ``quantile``.
        filters: the experiment's filters on the metric's rows, as (dimension, value) pairs.
        unadjusted: the comparison without CUPED (the like-for-like base of the bootstrap).
        bayesian: the Bayesian view of the relative lift (option).
        cap: how the metric was capped (option).
        quantiles: each arm's clustered quantile statistic (quantile metrics).
    """

    metric: str
    role: Role
    unit: str
    higher_is_better: bool
    comparison: ArmComparison | None
    p_value: float
    adjusted_p_value: float = float("nan")
    cuped_applied: bool = False
    variance_reduction: float = 0.0
    guardrail: NonInferiority | None = None
    guardrail_outcome: GuardrailOutcome | None = None
    bootstrap: BootstrapResult | None = None
    mixed: MixedResult | None = None
    status: Status = Status.OK
    message: str = "computed"
    alpha: float = 0.05
    arm: str = ""
    control_arm: str = ""
    kind: str = "ratio"
    filters: tuple[tuple[str, str], ...] = ()
    unadjusted: ArmComparison | None = None
    bayesian: BayesianResult | None = None
    cap: CapInfo | None = None
    quantiles: tuple[QuantileClusteredStats, QuantileClusteredStats] | None = None

    @property
    def label(self) -> str:
        """The metric with its filters, e.g. ``latency_p90_ms [feature=code_completion]``."""
        if not self.filters:
            return self.metric
        return f"{self.metric} [{', '.join(f'{d}={v}' for d, v in self.filters)}]"

    @property
    def improved(self) -> bool:
        """Significantly better after multiplicity adjustment (primary/secondary)."""
        return self._significant() and self._better()

    @property
    def worsened(self) -> bool:
        """Significantly worse after multiplicity adjustment (primary/secondary)."""
        return self._significant() and not self._better()

    def _significant(self) -> bool:
        return (
            self.comparison is not None
            and self.comparison.absolute.ok
            and self.adjusted_p_value < self.alpha
        )

    def _better(self) -> bool:
        est = self.comparison.absolute.estimate if self.comparison else 0.0
        return est > 0 if self.higher_is_better else est < 0


@dataclass(frozen=True)
class SliceResult:
    """A primary metric within one developer slice."""

    metric: str
    dimension: str
    value: str
    comparison: ArmComparison
    adjusted_p_value: float
    arm: str = ""


@dataclass(frozen=True)
class AssignmentHealth:
    """Sample-ratio checks and assignment anomalies."""

    counts: AssignmentCounts
    srm: SrmResult
    srm_slices: dict[str, SrmResult]


class Decision(StrEnum):
    """The recommendation."""

    SHIP = "ship"
    DONT_SHIP = "don't ship"
    INCONCLUSIVE = "inconclusive"
    UNTRUSTWORTHY = "untrustworthy"


@dataclass(frozen=True)
class Verdict:
    """The recommendation and its reason in one sentence.

    Attributes:
        decision: ship, don't ship, inconclusive or untrustworthy.
        reason: why, in one or two sentences.
        arm: the arm to ship (``ship`` only).
    """

    decision: Decision
    reason: str
    arm: str | None = None


@dataclass(frozen=True)
class ExperimentReport:
    """Everything the Markdown, HTML and JSON reports show."""

    design: ExperimentDesign
    options: AnalysisOptions
    health: AssignmentHealth
    metrics: tuple[MetricAnalysis, ...]
    slices: tuple[SliceResult, ...]
    evals: EvalDelta | None
    verdict: Verdict
    generated_at: datetime
    notes: tuple[str, ...] = field(default_factory=tuple)
    evals_by_arm: dict[str, EvalDelta] = field(default_factory=dict)

    @property
    def treatments(self) -> tuple[str, ...]:
        """The treatment arms analysed, in declaration order."""
        return tuple(a.name for a in self.design.arms[1:])
