"""The productivity analysis as one call: every estimate, its truth, publishing, reading back.

:func:`run_productivity` reads a pinned snapshot once and runs, in order: the causal effect of
AI on speed (AIPW per task, staggered DiD per developer-week, TWFE, naive, placebo, effect by
experience), latency against acceptance and satisfaction, the acceptance models, developer
segments and the failure taxonomy. On real data the adoption DiD also runs on PR cycle time
(:mod:`~codex_metrics.analysis.pr_cycle_time`: adoption from Copilot per-user activity, PRs
from the collectors). On a simulated world each estimate carries the simulator's truth beside
it. :func:`publish_results` writes the estimates to ``analysis_results`` (one commit, scope =
the analysis run id) and :func:`latest_results` reads the newest run back as records, for the
dashboard.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from codex_metrics.analysis.acceptance_model import fit_acceptance_models
from codex_metrics.analysis.aipw import aipw, effect_by_experience, fit_nuisances
from codex_metrics.analysis.estimates import Estimate, normal_interval
from codex_metrics.analysis.failure_taxonomy import failure_taxonomy
from codex_metrics.analysis.frames import SNAPSHOT_TABLES, Frames
from codex_metrics.analysis.latency_satisfaction import (
    acceptance_latency_slope,
    developer_latency,
    satisfaction_latency_slopes,
    shown_suggestions_sample,
)
from codex_metrics.analysis.pr_cycle_time import (
    PR_CYCLE_TIME_TABLES,
    pr_cycle_time_estimates,
    pr_cycle_time_panel,
)
from codex_metrics.analysis.segments import developer_behaviour, segment_developers
from codex_metrics.analysis.staggered_did import (
    callaway_santanna,
    developer_weeks,
    naive_adoption_difference,
    placebo,
    two_way_fixed_effects,
)
from codex_metrics.analysis.status import AnalysisStatus
from codex_metrics.errors import DataNotFoundError
from codex_metrics.lake import SIMULATOR_SOURCE, Lake, LakeSnapshot
from codex_metrics.telemetry.truth import load_truth

__all__ = [
    "ANALYSIS_SOURCE",
    "ProductivityReport",
    "latest_results",
    "publish_results",
    "run_productivity",
]

ANALYSIS_SOURCE = "analysis"
#: Shown suggestions the acceptance models are fitted on (a developer-stratified sample).
MODEL_ROWS = 200_000
#: Shown suggestions the latency slope is estimated on.
SLOPE_ROWS = 1_000_000
StepCallback = Callable[[str], None]
#: Every table a run reads (the run's ``lake_snapshot``; a simulated world has rows in the
#: simulator's tables only).
RUN_TABLES = (*SNAPSHOT_TABLES, *PR_CYCLE_TIME_TABLES)

ASSUMPTIONS = {
    "simulated": [
        "The task-level ATT assumes no unmeasured confounding of the duration without AI given "
        "experience, editor and plan (true in the simulator: it depends on experience only).",
        "The adoption DiD assumes parallel trends between adopters and never-adopters "
        "(checked: pre-trend test and the placebo).",
    ],
    "real": [
        "Unconfoundedness of who adopts cannot be checked: motivation, skill and workload are "
        "unobserved and drive both use of the assistant and speed; read the E-value where "
        "there is one.",
        "Parallel trends are testable only before adoption (pre-trend test, placebo); "
        "anything that changes at the adoption date (a new project, a reorganisation, a "
        "release freeze) is confounded with it.",
        "PR cycle time (opened to merged) mixes coding time with review latency, CI and "
        "batching: a change in reviewers' speed moves it as much as the author's; it counts "
        "merged PRs only, so PRs abandoned or still open are left out.",
        "Adoption is the first day with Copilot activity in the per-user reports (else "
        "developers.adopted_at). Authors without a seat, or whose activity falls in gaps of "
        "the reports or before they begin, are treated as the reports show them: a roster "
        "developer with no activity is a never-adopter, a PR author unknown to the roster and "
        "the reports is left out, an adopter first seen in the reports' first week (when the "
        "PRs start earlier) is left out, and PRs after the last report day are dropped.",
        "The repository mix is assumed stable: authors who move between repositories with "
        "different review habits, or repositories added to the collection mid-window, shift "
        "cycle time without any effect of the assistant.",
    ],
}


@dataclass
class ProductivityReport:
    """Everything one run computed: estimates, chart data, sample sizes, timings."""

    run_id: str
    estimates: list[Estimate]
    snapshot: dict[str, Any]
    generated_at: datetime
    simulated: bool
    charts: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result envelope: rows plus metadata (the JSON report)."""
        return {
            "rows": [
                e.to_dict() | {"null_reason": e.status_reason if e.estimate is None else None}
                for e in self.estimates
            ],
            "metadata": {
                "analysis_run_id": self.run_id,
                "generated_at": self.generated_at.isoformat(),
                "lake_snapshot": self.snapshot,
                "engine": "duckdb",
                "simulated_world": self.simulated,
                "samples": self.samples,
                "assumptions": ASSUMPTIONS["simulated" if self.simulated else "real"],
                "timings_s": self.timings,
            },
            "charts": self.charts,
        }

    def find(self, estimand: str, method: str, subgroup: str | None = None) -> Estimate | None:
        """The estimate with this key, if any."""
        for e in self.estimates:
            if (e.estimand, e.method, e.subgroup) == (estimand, method, subgroup):
                return e
        return None


def _truth_for(e: Estimate, truth: dict[str, Any]) -> float | None:
    est = truth.get("estimands", {})
    task = est.get("task_effect", {})
    adoption = est.get("adoption_effect", {})
    slopes = est.get("latency_slopes", {})
    if e.method == "aipw" or (e.method == "naive" and e.estimand == "att_log_duration"):
        key = e.estimand.replace("_duration", "")
        return task.get(key)
    if e.estimand == "effect_log_duration_coding_task" and e.subgroup:
        years = e.subgroup.split("=")[1]
        return est.get("tasks", {}).get("log_effect_by_experience_years", {}).get(years)
    if e.estimand == "att_adoption_log_duration":
        if e.method.startswith("placebo"):
            return 0.0
        if e.subgroup and e.subgroup.startswith("event_week="):
            week = int(e.subgroup.split("=")[1])
            return 0.0 if week < 0 else adoption.get("by_event_week", {}).get(str(week))
        return adoption.get("att_log")
    if e.estimand == "acceptance_log_odds_per_latency_doubling":
        return slopes.get("acceptance_log_odds_per_doubling")
    if e.estimand.startswith("satisfaction_per_latency_doubling"):
        return slopes.get("satisfaction_per_doubling")
    if e.estimand.startswith("engagement_"):
        return 0.0  # the simulator's activity does not depend on latency
    return e.truth


def _naive_task_difference(tasks: pd.DataFrame) -> Estimate:
    base: dict[str, Any] = {
        "analysis": "causal_effect",
        "estimand": "att_log_duration",
        "method": "naive",
        "unit": "log ratio",
    }
    t = tasks["with_ai"].to_numpy(bool)
    if tasks.empty or t.all() or not t.any():
        return Estimate.failed(**base, status=AnalysisStatus.ONE_ARM_ONLY)
    y = np.log(tasks["minutes"].to_numpy(float))
    diff = float(y[t].mean() - y[~t].mean())
    se = math.sqrt(y[t].var(ddof=1) / t.sum() + y[~t].var(ddof=1) / (~t).sum())
    return Estimate(
        **base,
        estimate=diff,
        n_units=int(tasks["developer_id"].nunique()),
        **normal_interval(diff, se),
    )


def _causal(frames: Frames, charts: dict[str, Any], samples: dict[str, Any]) -> list[Estimate]:
    tasks = frames.tasks()
    samples["tasks"] = len(tasks)
    out: list[Estimate] = [_naive_task_difference(tasks)]
    log_fit = None
    if (
        not tasks.empty
        and tasks["developer_id"].nunique() >= 10
        and tasks["with_ai"].nunique() == 2
    ):
        log_fit = fit_nuisances(tasks, np.log(tasks["minutes"].to_numpy(float)))
        minutes_fit = fit_nuisances(tasks, tasks["minutes"].to_numpy(float))
        out += [
            aipw(tasks, outcome="log_minutes", target="att", fit=log_fit),
            aipw(tasks, outcome="log_minutes", target="ate", fit=log_fit),
            aipw(tasks, outcome="minutes", target="att", fit=minutes_fit),
            aipw(tasks, outcome="minutes", target="ate", fit=minutes_fit),
        ]
    else:
        out += [aipw(tasks, outcome="log_minutes", target="att")]
    out += effect_by_experience(tasks)
    panel = (
        developer_weeks(tasks)
        if not tasks.empty
        else pd.DataFrame(
            columns=["developer_id", "week", "y", "tasks", "cohort", "experience_years"]
        )
    )
    samples["developer_weeks"] = len(panel)
    study = callaway_santanna(panel)
    out += [
        study.overall,
        *study.by_event_week,
        two_way_fixed_effects(panel)
        if not panel.empty
        else Estimate.failed(
            "causal_effect", "att_adoption_log_duration", "twfe", AnalysisStatus.NO_DATA
        ),
        naive_adoption_difference(panel)
        if not panel.empty
        else Estimate.failed(
            "causal_effect", "att_adoption_log_duration", "naive", AnalysisStatus.NO_DATA
        ),
        placebo(panel)
        if not panel.empty
        else Estimate.failed(
            "causal_effect",
            "att_adoption_log_duration",
            "placebo_4_weeks_earlier",
            AnalysisStatus.NO_DATA,
        ),
    ]
    att = next((e for e in out if e.method == "aipw" and e.estimand == "att_log_duration"), None)
    if att is not None and att.estimate is not None:
        charts["propensity_histogram"] = att.details.get("propensity_histogram")
    return out


def _pr_cycle_time(frames: Frames, samples: dict[str, Any]) -> list[Estimate]:
    """Adoption's effect on PR cycle time (real data: Copilot reports, roster, collected PRs)."""
    pr = pr_cycle_time_panel(frames)
    samples["merged_prs"] = pr.inputs.get("merged_prs", 0)
    samples["pr_author_weeks"] = len(pr.panel)
    samples["pr_authors_in_panel"] = int(pr.panel["developer_id"].nunique())
    samples["pr_authors_unknown_left_out"] = pr.authors.get("unknown", 0)
    first, last = pr.inputs.get("reports_first_day"), pr.inputs.get("reports_last_day")
    if first is not None:
        samples["copilot_reports_cover"] = (
            f"{first} to {last}, {pr.inputs.get('reports_days')} days with rows"
        )
    return pr_cycle_time_estimates(pr)


def run_productivity(
    snapshot: LakeSnapshot,
    *,
    model_rows: int = MODEL_ROWS,
    slope_rows: int = SLOPE_ROWS,
    folds: int = 5,
    on_step: StepCallback | None = None,
) -> ProductivityReport:
    """Run the whole productivity analysis on ``snapshot`` (see the module docstring)."""
    generated_at = datetime.now(UTC)
    frames = Frames(snapshot)
    simulated = snapshot.world is not None and snapshot.sources_read(list(RUN_TABLES)) == [
        SIMULATOR_SOURCE
    ]
    truth: dict[str, Any] = {}
    if simulated:
        try:
            truth = load_truth(snapshot.lake)
        except DataNotFoundError:
            simulated = False
    charts: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    timings: dict[str, float] = {}
    estimates: list[Estimate] = []

    def step(name: str, fn: Callable[[], list[Estimate]]) -> None:
        if on_step is not None:
            on_step(name)
        started = time.perf_counter()
        estimates.extend(fn())
        timings[name] = time.perf_counter() - started

    def causal() -> list[Estimate]:
        out = _causal(frames, charts, samples)
        return out if simulated else out + _pr_cycle_time(frames, samples)

    step("causal effect", causal)

    def latency() -> list[Estimate]:
        sample = shown_suggestions_sample(frames, max_rows=slope_rows)
        samples["latency_slope_suggestions"] = len(sample)
        samples["shown_suggestions"] = sample.attrs.get("shown_total", 0)
        slope = acceptance_latency_slope(sample)
        charts["acceptance_by_latency_decile"] = slope.details.get("by_latency_decile", [])
        per_dev = developer_latency(frames)
        out = [slope, *satisfaction_latency_slopes(frames, per_dev)]
        charts["satisfaction_band"] = next(
            (
                e.details.get("band")
                for e in out
                if e.estimand == "satisfaction_per_latency_doubling_p50"
            ),
            None,
        )
        return out

    step("latency and satisfaction", latency)

    def acceptance() -> list[Estimate]:
        sample = shown_suggestions_sample(frames, max_rows=model_rows)
        samples["acceptance_model_suggestions"] = len(sample)
        samples["acceptance_model_sample"] = (
            f"{len(sample):,} shown suggestions of every developer whose id hashes into "
            f"{sample.attrs.get('sample_share', 1):.1%} of the hash range (whole developers)"
        )
        experience = frames.query(
            "experience",
            "SELECT developer_id::VARCHAR AS developer_id, experience_years FROM developers",
        ).set_index("developer_id")["experience_years"]
        models = fit_acceptance_models(
            sample,
            experience,
            folds=folds,
            oracle=truth.get("estimands", {}).get("acceptance_oracle"),
        )
        charts["calibration"] = models.calibration
        charts["contributions"] = models.contributions
        charts["partial_dependence_latency"] = models.partial_dependence
        return models.estimates

    step("acceptance model", acceptance)

    def segments() -> list[Estimate]:
        behaviour = developer_behaviour(frames)
        result = segment_developers(behaviour)
        charts["segments"] = result.descriptions
        charts["silhouette_by_k"] = result.silhouette_by_k
        if simulated and len(result.labels):
            from sklearn.metrics import adjusted_rand_score

            persona = (
                frames.query(
                    "persona",
                    "SELECT developer_id::VARCHAR AS developer_id, persona FROM developers",
                )
                .set_index("developer_id")["persona"]
                .reindex(result.labels.index)
            )
            ari = float(adjusted_rand_score(persona.fillna("unknown"), result.labels))
            return [
                *result.estimates,
                Estimate(
                    "segments",
                    "adjusted_rand_index_vs_personas",
                    "kmeans_silhouette",
                    ari,
                    n_units=len(result.labels),
                    truth=1.0,
                    details={"k": result.k},
                ),
            ]
        return result.estimates

    step("segments", segments)

    def failures() -> list[Estimate]:
        est, tables = failure_taxonomy(frames)
        charts["failures"] = tables
        return est

    step("failure taxonomy", failures)
    if simulated:
        estimates = [e.with_truth(_truth_for(e, truth)) for e in estimates]
    run_id = f"productivity-{snapshot.key}-{generated_at:%Y%m%dT%H%M%S}"
    return ProductivityReport(
        run_id,
        estimates,
        snapshot.to_dict(list(RUN_TABLES)),
        generated_at,
        simulated,
        charts,
        samples,
        timings,
    )


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def publish_results(lake: Lake, report: ProductivityReport) -> int:
    """Write the report's estimates to ``analysis_results`` (one commit); returns rows written."""
    snapshot_json = json.dumps(report.snapshot, sort_keys=True, default=str)
    rows = [
        {
            "analysis_run_id": report.run_id,
            "analysis": e.analysis,
            "estimand": e.estimand,
            "method": e.method,
            "subgroup": e.subgroup,
            "estimate": _clean(e.estimate),
            "ci_low": _clean(e.ci_low),
            "ci_high": _clean(e.ci_high),
            "ci_level": 0.95 if e.ci_low is not None else None,
            "std_error": _clean(e.std_error),
            "p_value": _clean(e.p_value),
            "n_units": e.n_units,
            "unit": e.unit,
            "status": e.status.value,
            "status_reason": e.status_reason,
            "truth": _clean(e.truth),
            "details": json.dumps(e.details, default=str),
            "lake_snapshot": snapshot_json,
            "snapshot_hash": report.snapshot.get("hash", ""),
            "computed_at": report.generated_at,
        }
        for e in report.estimates
    ]
    data = pa.Table.from_pylist(rows)
    written = lake.write_table(
        "analysis_results", data, source=ANALYSIS_SOURCE, scope=report.run_id
    )
    return written.rows_written


def latest_results(where: Lake | LakeSnapshot) -> list[dict[str, Any]]:
    """The estimates of the run published last to ``analysis_results``, as records (dashboard)."""
    snapshot = where if isinstance(where, LakeSnapshot) else where.snapshot()
    con = snapshot.connect()
    df = (
        con.sql(
            """SELECT * EXCLUDE (source, scope, ingested_at, run_id) FROM analysis_results
           WHERE analysis_run_id = (SELECT arg_max(analysis_run_id, ingested_at) FROM analysis_results)
           ORDER BY analysis, estimand, method, subgroup NULLS FIRST"""
        )
        .to_arrow_table()
        .to_pandas()
    )
    records: list[dict[str, Any]] = []
    for rec in df.to_dict("records"):
        records.append(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        )
    return records
