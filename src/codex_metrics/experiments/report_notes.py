"""The notes under an experiment report: what the options did and what the reader must know."""

from __future__ import annotations

from collections.abc import Sequence

from codex_metrics.experiments.design import ExperimentDesign
from codex_metrics.experiments.lake_stats import AssignmentCounts
from codex_metrics.experiments.results import AnalysisOptions, MetricAnalysis

__all__ = ["report_notes"]


def report_notes(
    design: ExperimentDesign,
    options: AnalysisOptions,
    counts: AssignmentCounts,
    results: Sequence[MetricAnalysis],
) -> tuple[str, ...]:
    """One sentence per thing the reader should know about how the numbers were made."""
    notes = []
    treatments = [a.name for a in design.treatments]
    if len(treatments) > 1:
        notes.append(
            f"{len(treatments)} treatment arms ({', '.join(treatments)}) are each compared with "
            f"the control {design.control.name}; Holm's procedure controls the family-wise error "
            "over every primary and guardrail metric of every arm together, Benjamini-Hochberg "
            "the false discovery rate over secondary metrics and slices of every arm."
        )
    if options.relative_ci == "fieller" and any(m.cuped_applied for m in results):
        notes.append(
            "Fieller intervals are computed on unadjusted values: CUPED-adjusted arm values are "
            "not rates, so the relative lifts (and their point estimates) are unadjusted while "
            "the absolute lifts stay CUPED-adjusted."
        )
    quantiles = sorted({m.label for m in results if m.kind == "quantile"})
    if quantiles:
        notes.append(
            f"Quantile metrics ({', '.join(quantiles)}) compare event-level percentiles with "
            "developer-clustered variance (gbstats' QuantileClusteredStatistic); CUPED, slices, "
            "capping, the bootstrap and the mixed model do not apply to them."
        )
    capped = [m for m in results if m.cap is not None]
    if capped:
        names = sorted({m.metric for m in capped})
        assert options.cap is not None
        notes.append(
            f"Capping: developer means of {', '.join(names)} are winsorised at the pooled "
            f"P{options.cap * 100:g} of both arms (rates are never capped)."
        )
    if options.mixed:
        notes.append(
            f"Mixed model fitted for primary count-ratio metrics on at most "
            f"{options.mixed_max_developers} random developers per arm (60,000 outcome rows); "
            "it estimates a developer-conditional effect, not the pooled-rate lift."
        )
    if options.bootstrap:
        notes.append(
            "The bootstrap resamples developers of the unadjusted metric, so its interval is "
            "set next to the unadjusted delta-method interval (like with like)."
        )
    if options.bayesian:
        notes.append(
            f"Bayesian view: prior {options.prior.describe()} on the relative lift; chance to "
            "beat control and expected loss (gbstats' effect model)."
        )
    if counts.unassigned_active:
        notes.append(
            f"{counts.unassigned_active} developers were served a treatment model without an "
            "assignment record: check assignment logging."
        )
    return tuple(notes)
