"""Productivity and satisfaction: task time with and without AI, keystrokes, surveys.

Developer-happiness score (documented here and in docs/metrics.md): per survey response, the
mean of the answered items among satisfaction, perceived_productivity, flow, ease_of_use,
trust and reversed frustration (6 - frustration), all on 1-5, rescaled to 0-100 as
``(mean - 1) / 4 * 100``; the metric is the mean of the response scores. NPS is the mean of the
per-response score +100 (promoter, 9-10), 0 (passive, 7-8), -100 (detractor, 0-6), which
equals %promoters - %detractors and keeps a per-developer numerator and denominator.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from codex_metrics.metrics.catalogue import Custom, Metric, Ratio, Total, register
from codex_metrics.metrics.quality import EVENT_DIMENSIONS
from codex_metrics.metrics.query import MetricQuery

__all__ = ["HAPPINESS_ITEMS"]

HAPPINESS_ITEMS = (
    "satisfaction",
    "perceived_productivity",
    "flow",
    "ease_of_use",
    "trust",
    "frustration",
)
PEOPLE_DIMENSIONS = ("org", "team", "persona", "arm")
TASK_DIMENSIONS = ("org", "team", "model", "persona", "arm")


def _coding(t: ir.Table, with_ai: bool) -> ir.BooleanValue:
    return (t.task_kind == "coding") & (t.with_ai == with_ai)


def _task_mean(with_ai: bool) -> Metric:
    label = "with" if with_ai else "without"
    return Metric(
        name=f"task_duration_{label}_ai_mean_s",
        family="productivity",
        description=f"Mean time to complete a coding task {label} the assistant.",
        formula=f"Σ duration_s / count, over coding tasks with with_ai = {str(with_ai).lower()}",
        unit="seconds",
        basis="time",
        grain="event",
        source="tasks",
        measure=Ratio(
            numerator=lambda t: t.duration_s,
            denominator=lambda t: ibis.literal(1),
            where=lambda t: _coding(t, with_ai),
            numerator_doc=f"sum(duration_s) over coding tasks {label} AI",
            denominator_doc=f"count of coding tasks {label} AI",
            empty_reason="no_values",
        ),
        dimensions=TASK_DIMENSIONS,
        higher_is_better=False,
    )


def _time_saved(q: MetricQuery) -> ir.Table:
    t = q.source()
    agg = t.group_by(q.keys).aggregate(
        with_ai_s=t.duration_s.sum(where=_coding(t, True)),
        with_ai_n=t.count(where=_coding(t, True)),
        without_ai_s=t.duration_s.sum(where=_coding(t, False)),
        without_ai_n=t.count(where=_coding(t, False)),
    )
    undefined = (agg.with_ai_n == 0) | (agg.without_ai_n == 0)
    zero = agg.without_ai_s.fill_null(0) == 0
    value = 1 - (agg.with_ai_s / agg.with_ai_n) / (agg.without_ai_s / agg.without_ai_n)
    return agg.mutate(
        value=ibis.cases((undefined | zero, ibis.null("float64")), else_=value),
        null_reason=ibis.cases(
            (undefined, ibis.literal("no_values")),
            (zero, ibis.literal("zero_denominator")),
            else_=ibis.null("string"),
        ),
    ).order_by(q.keys)


def _nps_score(t: ir.Table) -> ir.NumericValue:
    return ibis.cases((t.nps >= 9, 100), (t.nps <= 6, -100), else_=0)


def _happiness(t: ir.Table) -> ir.NumericValue:
    items = [t[c].cast("float64") for c in HAPPINESS_ITEMS[:-1]] + [
        6 - t.frustration.cast("float64")
    ]
    total = sum((x.fill_null(0) for x in items[1:]), items[0].fill_null(0))
    answered = sum((x.notnull().cast("int64") for x in items[1:]), items[0].notnull().cast("int64"))
    return ((total / answered) - 1) / 4 * 100


def _answered_any(t: ir.Table) -> ir.BooleanValue:
    cols = [t[c].notnull() for c in HAPPINESS_ITEMS]
    out = cols[0]
    for c in cols[1:]:
        out = out | c
    return out


register(
    _task_mean(True),
    _task_mean(False),
    Metric(
        name="task_time_saved_share",
        family="productivity",
        description="Relative time saved on coding tasks with AI versus without.",
        formula="1 - mean(duration_s | with AI) / mean(duration_s | without AI), coding tasks",
        unit="ratio",
        basis="time",
        grain="event",
        source="tasks",
        measure=Custom(_time_saved),
        dimensions=TASK_DIMENSIONS,
        higher_is_better=True,
        notes="Observational: developers choose when to use AI, so this is not a causal effect; "
        "use an experiment for that.",
    ),
    Metric(
        name="keystrokes_saved",
        family="productivity",
        description="Keystrokes developers did not type thanks to accepted suggestions.",
        formula="Σ keystrokes_saved",
        unit="keystrokes",
        basis="chars",
        grain="event",
        source="suggestions",
        measure=Total(lambda t: t.keystrokes_saved.cast("int64")),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
    ),
    Metric(
        name="keystrokes_saved_per_accept",
        family="productivity",
        description="Mean keystrokes saved per accepted suggestion.",
        formula="Σ keystrokes_saved / count(accepted suggestions)",
        unit="keystrokes",
        basis="chars",
        grain="event",
        source="suggestions",
        measure=Ratio(
            numerator=lambda t: t.keystrokes_saved,
            denominator=lambda t: ibis.literal(1),
            where=lambda t: (t.status == "ok") & t.accepted.fill_null(False),
            numerator_doc="sum(keystrokes_saved) over accepted suggestions",
            denominator_doc="count of accepted suggestions",
        ),
        dimensions=EVENT_DIMENSIONS,
        higher_is_better=True,
    ),
    Metric(
        name="satisfaction_mean",
        family="productivity",
        description="Mean overall satisfaction with the assistant (survey, 1-5).",
        formula="Σ satisfaction / count(responses with satisfaction)",
        unit="score 1-5",
        basis="score",
        grain="event",
        source="surveys",
        measure=Ratio(
            numerator=lambda t: t.satisfaction,
            denominator=lambda t: ibis.literal(1),
            where=lambda t: t.satisfaction.notnull(),
            numerator_doc="sum(satisfaction) over responses",
            denominator_doc="count of responses with satisfaction",
            empty_reason="no_values",
        ),
        dimensions=PEOPLE_DIMENSIONS,
        higher_is_better=True,
    ),
    Metric(
        name="nps",
        family="productivity",
        description="Net promoter score: % promoters (9-10) minus % detractors (0-6).",
        formula="mean over responses of +100 (nps >= 9), 0 (7-8), -100 (nps <= 6)",
        unit="score -100..100",
        basis="score",
        grain="event",
        source="surveys",
        measure=Ratio(
            numerator=_nps_score,
            denominator=lambda t: ibis.literal(1),
            where=lambda t: t.nps.notnull(),
            numerator_doc="sum of +100 / 0 / -100 per response with nps",
            denominator_doc="count of responses with nps",
            empty_reason="no_values",
        ),
        dimensions=PEOPLE_DIMENSIONS,
        higher_is_better=True,
    ),
    Metric(
        name="developer_happiness_score",
        family="productivity",
        description="Developer-happiness score 0-100 from six survey items (see notes).",
        formula="mean over responses of (mean of answered items, frustration reversed, - 1) / 4 * 100",
        unit="score 0-100",
        basis="score",
        grain="event",
        source="surveys",
        measure=Ratio(
            numerator=_happiness,
            denominator=lambda t: ibis.literal(1),
            where=_answered_any,
            numerator_doc="sum of response scores",
            denominator_doc="count of responses with at least one item answered",
            empty_reason="no_values",
        ),
        dimensions=PEOPLE_DIMENSIONS,
        higher_is_better=True,
        notes="Items: satisfaction, perceived_productivity, flow, ease_of_use, trust and "
        "6 - frustration, each 1-5; unanswered items are skipped, not counted as 0.",
    ),
)

#: The survey's 1-5 items besides overall satisfaction (the dashboard's happiness radar).
SURVEY_ITEMS = {
    "perceived_productivity": "'It makes me more productive'",
    "flow": "'It helps me stay in the flow'",
    "ease_of_use": "'It is easy to use'",
    "trust": "'I trust its code'",
    "frustration": "'It frustrates me' (higher is worse)",
}


def _item_mean(item: str, statement: str) -> Metric:
    return Metric(
        name=f"survey_{item}_mean",
        family="productivity",
        description=f"Mean agreement with {statement} (survey, 1-5).",
        formula=f"Σ {item} / count(responses with {item})",
        unit="score 1-5",
        basis="score",
        grain="event",
        source="surveys",
        measure=Ratio(
            numerator=lambda t: t[item],
            denominator=lambda t: ibis.literal(1),
            where=lambda t: t[item].notnull(),
            numerator_doc=f"sum({item}) over responses",
            denominator_doc=f"count of responses with {item}",
            empty_reason="no_values",
        ),
        dimensions=PEOPLE_DIMENSIONS,
        higher_is_better=item != "frustration",
    )


register(*(_item_mean(item, statement) for item, statement in SURVEY_ITEMS.items()))
