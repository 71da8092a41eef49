"""Community metrics: GitHub stars, forks and issues, Stack Overflow questions.

Declared now so the dashboard and the docs know them; their source tables (written by the
GitHub and Stack Exchange collectors) are not in the lake schema yet, so computing one returns
an envelope with ``status="unavailable"`` and the reason, never an error.
"""

from __future__ import annotations

from codex_metrics.metrics.catalogue import Metric, Total, register

__all__ = ["COMMUNITY_SOURCES"]

#: Metric -> (source table, what it needs).
COMMUNITY_SOURCES = {
    "stars_total": ("repo_stars", "stargazer timestamps from the GitHub collector"),
    "forks_total": ("repo_forks", "fork timestamps from the GitHub collector"),
    "issues_opened": ("repo_issues", "issues from the GitHub collector"),
    "issues_closed": ("repo_issues", "issues from the GitHub collector"),
    "issue_resolution_median_hours": ("repo_issues", "issues from the GitHub collector"),
    "stackoverflow_questions": (
        "stackoverflow_questions",
        "questions from the Stack Exchange collector",
    ),
}

_DOCS = {
    "stars_total": (
        "Cumulative GitHub stars of the tracked repositories at the end of each period.",
        "count(stargazers with starred_at <= period end)",
        "stars",
        True,
    ),
    "forks_total": (
        "Cumulative forks of the tracked repositories at the end of each period.",
        "count(forks with created_at <= period end)",
        "forks",
        True,
    ),
    "issues_opened": (
        "Issues opened in the period (pull requests excluded).",
        "count(issues with created_at in the period)",
        "issues",
        None,
    ),
    "issues_closed": (
        "Issues closed in the period.",
        "count(issues with closed_at in the period)",
        "issues",
        None,
    ),
    "issue_resolution_median_hours": (
        "Median time from opening to closing of issues closed in the period.",
        "median(closed_at - created_at) over issues closed in the period",
        "hours",
        False,
    ),
    "stackoverflow_questions": (
        "Stack Overflow questions about the assistant asked in the period.",
        "count(questions with creation_date in the period)",
        "questions",
        None,
    ),
}


def _community(name: str) -> Metric:
    table, needs = COMMUNITY_SOURCES[name]
    description, formula, unit, better = _DOCS[name]
    return Metric(
        name=name,
        family="community",
        description=description,
        formula=formula,
        unit=unit,
        basis="count",
        grain="event",
        source=table,
        measure=Total(),
        dimensions=(),
        higher_is_better=better,
        unavailable_reason=f"the lake has no {table!r} table yet ({needs}); "
        "it is not collected in this version",
    )


register(*(_community(name) for name in COMMUNITY_SOURCES))
