"""The experiment report's data: what ``analyze_experiment`` returns and the renderers read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from codex_metrics.experiments.bootstrap import BootstrapResult
from codex_metrics.experiments.design import ExperimentDesign
from codex_metrics.experiments.frequentist import ArmComparison, RelativeCI
from codex_metrics.experiments.guardrails import GuardrailOutcome, NonInferiority
from codex_metrics.experiments.lake_stats import AssignmentCounts, EvalDelta
from codex_metrics.experiments.mixed import MixedResult
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
        sequential: always-valid confidence sequences tuned by ``planned_developers``.
        bootstrap: add a Poisson bootstrap of every metric's unadjusted absolute lift (reads
            per-developer values).
        bootstrap_resamples: bootstrap replicates.
        mixed: add the developer random-effects model for primary metrics (count ratios
            only, subsampled).
        mixed_max_developers: per-arm subsample size of the mixed model.
        slices: analyse primary metrics per developer slice (BH-controlled).
        relative_ci: ``delta`` (gbstats) or ``fieller`` for relative-lift intervals.
        metrics: analyse only these metrics (default: all the experiment declares).
        seed: seed of the bootstrap and the mixed-model subsample.
    """

    alpha: float = 0.05
    cuped: bool = True
    sequential: bool = False
    bootstrap: bool = False
    bootstrap_resamples: int = 2000
    mixed: bool = False
    mixed_max_developers: int = 500
    slices: bool = True
    relative_ci: RelativeCI = "delta"
    metrics: tuple[str, ...] | None = None
    seed: int = 0


class Role(StrEnum):
    """A metric's role in the experiment."""

    PRIMARY = "primary"
    GUARDRAIL = "guardrail"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class MetricAnalysis:
    """One metric's analysis.

    Attributes:
        metric: catalogue name.
        role: primary, guardrail or secondary.
        unit: unit of the arm values.
        higher_is_better: direction.
        comparison: both arms' values and absolute and relative lifts (CUPED-adjusted when
            ``cuped_applied``; sequential when the analysis is).
        p_value: the p-value entering multiple-testing control (guardrails: non-inferiority).
        adjusted_p_value: Holm (primary + guardrail) or BH (secondary) adjusted.
        cuped_applied: whether CUPED adjusted this metric.
        variance_reduction: share of the lift's variance CUPED removed.
        guardrail: the non-inferiority test (guardrails only).
        guardrail_outcome: pass, fail or inconclusive (guardrails only).
        bootstrap: Poisson bootstrap of the absolute lift (option).
        mixed: random-effects model (option).
        status: OK, or why the numbers are missing.
        message: plain words.
        alpha: level the adjusted p-value is compared with.
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


@dataclass(frozen=True)
class Verdict:
    """The recommendation and its reason in one sentence."""

    decision: Decision
    reason: str


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
