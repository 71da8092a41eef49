"""Adoption's effect on PR cycle time, on real data: the developer-week panel and its estimates.

On a lake of real sources there are no tasks; the adoption DiD of :mod:`staggered_did` runs on
pull requests instead. One DuckDB query over the snapshot builds the panel that
:func:`~codex_metrics.analysis.staggered_did.developer_weeks` builds from tasks (``developer_id,
week, y, tasks, cohort, experience_years``):

* **outcome**: merged PRs by a human author (``issues``: ``is_pull_request``, ``merged_at`` set,
  not ``author_is_bot``); ``y`` is an author-week's mean log hours from ``created_at`` to
  ``merged_at`` (floored at one minute), ``tasks`` its merged PRs. Weeks are 7-day blocks from
  the first day a PR in the panel was opened, as ``Frames.tasks`` counts them.
* **adoption**: an author's first day with Copilot activity in ``copilot_user_daily`` (an
  interaction, generation, acceptance or CLI request count above 0, or a ``used_*`` flag other
  than passive code review), else ``developers.adopted_at``; the cohort is its week.
* **controls**: authors with no activity who are *known* to the lake: in the developers roster
  (``ingest developers``) or in ``copilot_user_daily`` with zero activity. A PR author found in
  neither (an outside contributor, a developer without a seat in another org) has an unknown
  adoption and is left out, counted in the details.
* **censoring**: when the Copilot reports start after the panel's first day, an adopter first
  seen in the reports' first week may have adopted before them: left out unless the roster
  gives ``adopted_at``. When they end before the panel's last day, PRs opened after the last
  report day are dropped (nobody's adoption is known there).
* **attributes**: ``developers.experience_years``; null is allowed (only the naive
  difference's details read it).

``issues.author`` and ``copilot_user_daily.developer_id`` are the same login hashed with the
lake's one pseudonym key, so they join. :func:`pr_cycle_time_estimates` runs Callaway-Sant'Anna,
TWFE, the naive difference and the placebo on the panel, or says with a status why it cannot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from codex_metrics.analysis.estimates import Estimate
from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.staggered_did import (
    MIN_DEVELOPERS,
    callaway_santanna,
    naive_adoption_difference,
    placebo,
    two_way_fixed_effects,
)
from codex_metrics.analysis.status import AnalysisStatus

__all__ = [
    "ESTIMAND",
    "PR_CYCLE_TIME_TABLES",
    "PrPanel",
    "pr_cycle_time_estimates",
    "pr_cycle_time_panel",
]

ESTIMAND = "att_adoption_log_pr_cycle_time"
#: Tables the real-data panel reads (recorded in the run's ``lake_snapshot``).
PR_CYCLE_TIME_TABLES = ("issues", "copilot_user_daily")
METHODS = ("callaway_santanna", "twfe", "naive", "placebo_4_weeks_earlier")
PANEL_COLUMNS = ["developer_id", "week", "y", "tasks", "cohort", "experience_years"]

#: A Copilot per-user row counts as use of the assistant (passive code review does not: Copilot
#: reviewed the developer's PR, the developer did nothing).
_ACTIVE = """(coalesce(user_initiated_interaction_count, 0) > 0
    OR coalesce(code_generation_activity_count, 0) > 0
    OR coalesce(code_acceptance_activity_count, 0) > 0
    OR coalesce(cli_request_count, 0) > 0
    OR coalesce(used_chat OR used_agent OR used_cli OR used_copilot_coding_agent
                OR used_copilot_cloud_agent OR used_copilot_code_review_active, false))"""

_MERGED_PRS = """
SELECT author AS developer_id,
       CAST(created_at AS DATE) AS day,
       ln(greatest(epoch(merged_at) - epoch(created_at), 60) / 3600.0) AS log_hours
FROM issues
WHERE is_pull_request AND merged_at IS NOT NULL AND author IS NOT NULL
  AND NOT coalesce(author_is_bot, false) AND merged_at >= created_at
"""

#: Copilot per-user rows: who, which day, whether it counts as use, the report's window.
_USAGE = f"""
SELECT developer_id, CAST(day AS DATE) AS day, {_ACTIVE} AS active,
       report_start_day, report_end_day
FROM copilot_user_daily WHERE developer_id IS NOT NULL
"""

_INPUTS = f"""
WITH prs AS ({_MERGED_PRS}),
     usage AS ({_USAGE}),
     reports AS (SELECT DISTINCT report_start_day AS s, report_end_day AS e FROM usage),
     covered AS (
         SELECT DISTINCT CAST(d AS DATE) AS day
         FROM reports, unnest(generate_series(CAST(s AS TIMESTAMP), CAST(e AS TIMESTAMP),
                                              INTERVAL 1 DAY)) AS g(d)
     )
SELECT (SELECT count(*) FROM prs) AS merged_prs,
       (SELECT count(DISTINCT developer_id) FROM prs) AS pr_authors,
       (SELECT min(day) FROM prs) AS prs_first_day,
       (SELECT max(day) FROM prs) AS prs_last_day,
       (SELECT count(*) FROM usage) AS copilot_rows,
       (SELECT count(DISTINCT developer_id) FROM usage) AS copilot_users,
       (SELECT count(DISTINCT developer_id) FROM usage WHERE active) AS copilot_active_users,
       (SELECT min(day) FROM covered) AS reports_first_day,
       (SELECT max(day) FROM covered) AS reports_last_day,
       (SELECT count(*) FROM covered) AS reports_days,
       (SELECT count(*) FROM developers) AS roster_rows,
       (SELECT count(*) FROM developers WHERE adopted_at IS NOT NULL) AS roster_adopted
"""

_PANEL = f"""
WITH prs AS ({_MERGED_PRS}),
usage AS ({_USAGE}),
coverage AS (SELECT min(report_start_day) AS first_day, max(report_end_day) AS last_day
             FROM usage),
copilot AS (
    SELECT developer_id, min(day) FILTER (WHERE active) AS first_active
    FROM usage GROUP BY developer_id
),
roster AS (
    SELECT developer_id::VARCHAR AS developer_id, max(experience_years) AS experience_years,
           min(CAST(adopted_at AS DATE)) AS adopted_day
    FROM developers GROUP BY 1
),
authors AS (
    SELECT a.developer_id,
           r.experience_years,
           CASE WHEN c.first_active IS NOT NULL AND r.adopted_day IS NOT NULL
                THEN least(c.first_active, r.adopted_day)
                ELSE coalesce(c.first_active, r.adopted_day) END AS adopted_day,
           CASE WHEN c.first_active IS NOT NULL THEN 'copilot_activity'
                WHEN r.adopted_day IS NOT NULL THEN 'roster_adopted_at'
                WHEN r.developer_id IS NOT NULL OR c.developer_id IS NOT NULL THEN 'never'
                ELSE 'unknown' END AS adoption_source,
           -- First seen in the reports' first week, with reports starting after the PRs do:
           -- the adoption may predate the reports.
           coalesce(c.first_active IS NOT NULL AND r.adopted_day IS NULL
                    AND v.first_day > (SELECT min(day) FROM prs)
                    AND c.first_active < v.first_day + 7, false) AS left_censored
    FROM (SELECT DISTINCT developer_id FROM prs) a
    LEFT JOIN copilot c USING (developer_id)
    LEFT JOIN roster r USING (developer_id)
    CROSS JOIN coverage v
),
kept AS (
    SELECT p.*, a.experience_years, a.adopted_day
    FROM prs p JOIN authors a USING (developer_id)
    WHERE a.adoption_source <> 'unknown' AND NOT a.left_censored
      AND p.day <= coalesce((SELECT last_day FROM coverage), p.day)
),
dated AS (SELECT *, min(day) OVER () AS first_day FROM kept)
SELECT developer_id,
       CAST(floor((day - first_day) / 7) AS BIGINT) AS week,
       avg(log_hours) AS y,
       count(*) AS tasks,
       CAST(floor((any_value(adopted_day) - any_value(first_day)) / 7) AS DOUBLE) AS cohort,
       any_value(experience_years) AS experience_years,
       any_value(first_day) AS first_day
FROM dated
GROUP BY developer_id, week
ORDER BY developer_id, week
"""

_AUTHOR_COUNTS = f"""
WITH prs AS ({_MERGED_PRS}),
usage AS ({_USAGE}),
copilot AS (SELECT developer_id, bool_or(active) AS active FROM usage GROUP BY 1),
roster AS (SELECT DISTINCT developer_id::VARCHAR AS developer_id,
                  adopted_at IS NOT NULL AS adopted FROM developers)
SELECT count(*) FILTER (WHERE c.developer_id IS NULL AND r.developer_id IS NULL) AS unknown,
       count(*) FILTER (WHERE c.developer_id IS NOT NULL) AS in_copilot_reports,
       count(*) FILTER (WHERE r.developer_id IS NOT NULL) AS in_roster,
       count(*) FILTER (WHERE coalesce(c.active, false) OR coalesce(r.adopted, false)) AS adopters
FROM (SELECT DISTINCT developer_id FROM prs) a
LEFT JOIN copilot c USING (developer_id)
LEFT JOIN roster r USING (developer_id)
"""


@dataclass(frozen=True)
class PrPanel:
    """The author-week panel and what it rests on.

    Attributes:
        panel: one row per author and week (the columns of ``developer_weeks``).
        inputs: counts of the inputs (merged PRs, Copilot rows, roster rows, coverage days).
        authors: PR authors by what the lake knows of them (unknown, in the reports, ...).
        first_day: day 0 of week 0 (``None``: empty panel).
    """

    panel: pd.DataFrame
    inputs: dict[str, Any] = field(default_factory=dict)
    authors: dict[str, int] = field(default_factory=dict)
    first_day: date | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def pr_cycle_time_panel(frames: Frames) -> PrPanel:
    """Build the author-week panel of PR cycle time over ``frames``' snapshot."""
    inputs = {k: _plain(v) for k, v in frames.query("pr_inputs", _INPUTS).iloc[0].to_dict().items()}
    authors = {
        k: int(v) for k, v in frames.query("pr_authors", _AUTHOR_COUNTS).iloc[0].to_dict().items()
    }
    df = frames.query("pr_panel", _PANEL)
    first = _plain(df["first_day"].iloc[0]) if not df.empty else None
    panel = df[PANEL_COLUMNS].copy()
    panel["week"] = panel["week"].astype("int64")
    panel["tasks"] = panel["tasks"].astype("int64")
    panel["cohort"] = panel["cohort"].astype("float64")
    panel["experience_years"] = panel["experience_years"].astype("float64")
    return PrPanel(panel, inputs, authors, first)


def _missing_input(pr: PrPanel) -> tuple[AnalysisStatus, str] | None:
    """Why the panel cannot give an estimate, before any estimator runs."""
    inputs, panel = pr.inputs, pr.panel
    if not inputs.get("merged_prs"):
        return AnalysisStatus.NO_DATA, (
            "no merged pull request by a human author in the issues table; run "
            "`codex-metrics collect github OWNER/REPO` for the repositories the developers work in"
        )
    if not inputs.get("copilot_rows") and not inputs.get("roster_adopted"):
        return AnalysisStatus.NO_DATA, (
            "no Copilot per-user activity (copilot_user_daily is empty) and no adopted_at in "
            "developers: ingest the per-user usage reports with `codex-metrics ingest "
            "copilot-report FILE` (users-1-day or users-28-day)"
        )
    if panel.empty:
        return AnalysisStatus.NO_DATA, (
            f"none of the {inputs.get('pr_authors', 0)} PR authors appears in the Copilot "
            "per-user reports or the developers roster (was every source pseudonymised with "
            "the same key?); ingest the roster with `codex-metrics ingest developers FILE.csv`"
        )
    developers = panel["developer_id"].nunique()
    if developers < 2 * MIN_DEVELOPERS:
        return AnalysisStatus.TOO_FEW_DEVELOPERS, (
            f"{developers} PR authors with a known adoption; at least {2 * MIN_DEVELOPERS} "
            f"needed ({MIN_DEVELOPERS} adopters and {MIN_DEVELOPERS} never-adopters)"
        )
    cohorts = panel.groupby("developer_id")["cohort"].first()
    if cohorts.notna().all():
        return AnalysisStatus.ONE_ARM_ONLY, (
            "every PR author with a known adoption used Copilot: no never-adopter to compare "
            "with (developers in the roster or the reports without activity are the controls)"
        )
    if cohorts.isna().all():
        return AnalysisStatus.ONE_ARM_ONLY, "no PR author used Copilot in the reports' window"
    return None


def _clean_details(details: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in details.items()}


def _for_pr(e: Estimate, context: dict[str, Any]) -> Estimate:
    reason = e.status_reason
    if reason:
        reason = reason.replace("developers", "PR authors").replace("developer", "PR author")
    return replace(
        e,
        estimand=ESTIMAND,
        status_reason=reason,
        details=_clean_details({**e.details, **context}) if e.subgroup is None else e.details,
    )


def pr_cycle_time_estimates(pr: PrPanel) -> list[Estimate]:
    """CS, TWFE, naive and placebo on the PR panel, or one failed estimate per method."""
    inputs, authors = pr.inputs, pr.authors
    context: dict[str, Any] = {
        "outcome": "mean log hours from PR opened to merged, per author-week (floor: 1 minute)",
        "panel_unit": "author-week",
        "week_zero": str(pr.first_day) if pr.first_day else None,
        "adoption": "first day with Copilot activity in copilot_user_daily, else "
        "developers.adopted_at (the earlier when both)",
        "controls": "PR authors in the developers roster or the Copilot reports with no activity",
        "authors_unknown_left_out": authors.get("unknown", 0),
        "merged_prs": inputs.get("merged_prs"),
        "reports_first_day": str(inputs.get("reports_first_day") or "") or None,
        "reports_last_day": str(inputs.get("reports_last_day") or "") or None,
        "reports_days_missing": _days_missing(inputs),
    }
    failure = _missing_input(pr)
    if failure is not None:
        status, reason = failure
        return [
            Estimate.failed(
                "causal_effect", ESTIMAND, m, status, reason, unit="log ratio", details=context
            )
            for m in METHODS
        ]
    panel = pr.panel
    study = callaway_santanna(panel)
    out = [
        study.overall,
        *study.by_event_week,
        two_way_fixed_effects(panel),
        naive_adoption_difference(panel),
        placebo(panel),
    ]
    return [_for_pr(e, context) for e in out]


def _days_missing(inputs: dict[str, Any]) -> int | None:
    first, last = inputs.get("reports_first_day"), inputs.get("reports_last_day")
    if not isinstance(first, date) or not isinstance(last, date):
        return None
    return (last - first).days + 1 - int(inputs.get("reports_days") or 0)
