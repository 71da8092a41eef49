"""A/B experiments between model versions, with correct statistics on per-developer randomisation.

The statistics run on frozen dataclasses of per-arm sufficient statistics that the lake engine
computes in one pass (:mod:`.sufficient_stats`); bad data returns a result with a stable
:class:`Status` instead of raising. :func:`analyze_experiment` is the library call behind
``codex-metrics ab analyze``. Metrics come from the catalogue through :mod:`.metric_source`.
"""

from codex_metrics.experiments.aa import AaResult, aa_false_positive_rate, heterogeneous_developers
from codex_metrics.experiments.analysis import analyze_experiment
from codex_metrics.experiments.bayesian import BayesianPrior, BayesianResult, bayesian_effect
from codex_metrics.experiments.bootstrap import (
    BootstrapResult,
    cluster_bootstrap,
    poisson_bootstrap,
)
from codex_metrics.experiments.capping import CapInfo
from codex_metrics.experiments.cuped import AdjustedArm, CupedRatioStats, CupedResult, cuped_adjust
from codex_metrics.experiments.design import (
    Arm,
    ExperimentDesign,
    Guardrail,
    list_experiments,
    load_experiment,
)
from codex_metrics.experiments.experiment_files import parse_assignments, parse_experiment_toml
from codex_metrics.experiments.frequentist import (
    ArmComparison,
    Effect,
    absolute_effect,
    compare,
    relative_effect,
)
from codex_metrics.experiments.guardrails import GuardrailOutcome, NonInferiority, non_inferiority
from codex_metrics.experiments.lake_stats import (
    AssignmentCounts,
    EvalDelta,
    MetricStatistics,
    assignment_counts,
    default_window,
    developer_arrays,
    eval_delta,
    metric_statistics,
    window_values,
)
from codex_metrics.experiments.metric_analysis import compare_arms
from codex_metrics.experiments.metric_source import MetricInfo, cached_developer_sums, metric_info
from codex_metrics.experiments.mixed import MixedResult, mixed_model_effect
from codex_metrics.experiments.multiple_testing import benjamini_hochberg, holm
from codex_metrics.experiments.planning import PowerFromLake, aa_check, analysis_window, plan_power
from codex_metrics.experiments.power import PowerPlan, power_at, required_developers
from codex_metrics.experiments.quantile_stats import QuantileRequest, quantile_statistics
from codex_metrics.experiments.quantiles import N_STAR_GRID, QuantileClusteredStats
from codex_metrics.experiments.report import (
    render_experiment_json,
    render_experiment_markdown,
    report_to_dict,
)
from codex_metrics.experiments.report_html import render_experiment_html
from codex_metrics.experiments.results import (
    AnalysisOptions,
    AssignmentHealth,
    Decision,
    ExperimentReport,
    MetricAnalysis,
    Role,
    SliceResult,
    Verdict,
)
from codex_metrics.experiments.sequential import sequential_effect
from codex_metrics.experiments.srm import SrmLevel, SrmResult, srm_by_slice, srm_check
from codex_metrics.experiments.status import Status, status_message
from codex_metrics.experiments.sufficient_stats import MeanStats, ProportionStats, RatioStats
from codex_metrics.experiments.verdict import decide

__all__ = [
    "N_STAR_GRID",
    "AaResult",
    "AdjustedArm",
    "AnalysisOptions",
    "Arm",
    "ArmComparison",
    "AssignmentCounts",
    "AssignmentHealth",
    "BayesianPrior",
    "BayesianResult",
    "BootstrapResult",
    "CapInfo",
    "CupedRatioStats",
    "CupedResult",
    "Decision",
    "Effect",
    "EvalDelta",
    "ExperimentDesign",
    "ExperimentReport",
    "Guardrail",
    "GuardrailOutcome",
    "MeanStats",
    "MetricAnalysis",
    "MetricInfo",
    "MetricStatistics",
    "MixedResult",
    "NonInferiority",
    "PowerFromLake",
    "PowerPlan",
    "ProportionStats",
    "QuantileClusteredStats",
    "QuantileRequest",
    "RatioStats",
    "Role",
    "SliceResult",
    "SrmLevel",
    "SrmResult",
    "Status",
    "Verdict",
    "aa_check",
    "aa_false_positive_rate",
    "absolute_effect",
    "analysis_window",
    "analyze_experiment",
    "assignment_counts",
    "bayesian_effect",
    "benjamini_hochberg",
    "cached_developer_sums",
    "cluster_bootstrap",
    "compare",
    "compare_arms",
    "cuped_adjust",
    "decide",
    "default_window",
    "developer_arrays",
    "eval_delta",
    "heterogeneous_developers",
    "holm",
    "list_experiments",
    "load_experiment",
    "metric_info",
    "metric_statistics",
    "mixed_model_effect",
    "non_inferiority",
    "parse_assignments",
    "parse_experiment_toml",
    "plan_power",
    "poisson_bootstrap",
    "power_at",
    "quantile_statistics",
    "relative_effect",
    "render_experiment_html",
    "render_experiment_json",
    "render_experiment_markdown",
    "report_to_dict",
    "required_developers",
    "sequential_effect",
    "srm_by_slice",
    "srm_check",
    "status_message",
    "window_values",
]
