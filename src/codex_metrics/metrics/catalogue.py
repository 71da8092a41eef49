"""The metric catalogue: every product metric declared once, as data.

A :class:`Metric` names what is measured (description, formula, unit, basis, grain, source
table and, for daily metrics, the ``usage_daily`` breakdown it reads), how it may be sliced
(dimensions), which direction is good, and *how* it is computed, as a :data:`Measure`:

* :class:`Ratio`: ``Σ numerator / Σ denominator`` over the rows of a group (ratio of sums,
  never a mean of per-day or per-developer ratios). Means are ratios whose denominator counts
  the rows with a value. Every ratio therefore has a per-developer numerator and denominator,
  which is what the experiment engine needs for the delta method and CUPED
  (:func:`codex_metrics.metrics.developer_sums`).
* :class:`Total`: a sum (or a row count) over the group.
* :class:`Distinct`: the number of distinct developers in the group (never summed across
  days, dimensions or breakdowns: distinct counts are recomputed at every grain).
* :class:`Quantile`: an exact percentile with linear interpolation between closest ranks
  (Hyndman-Fan type 7: DuckDB ``quantile_cont``, Spark ``percentile``), identical on both engines.
* :class:`Custom`: a builder for the few metrics with their own shape (rolling windows,
  cohorts, shares by category, seats).

Metrics register themselves from the family modules (adoption, quality, latency,
productivity, community, and the real-source modules usage_mix, seats_cost and codex);
:func:`get_metric` and :func:`list_metrics` read the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from codex_metrics.errors import MetricError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = [
    "DIMENSIONS",
    "FAMILIES",
    "Basis",
    "Custom",
    "Distinct",
    "Measure",
    "Metric",
    "Quantile",
    "Ratio",
    "Total",
    "get_metric",
    "list_metrics",
    "metric_definition",
    "register",
]

Family = Literal["adoption", "quality", "performance", "productivity", "community"]
FAMILIES: tuple[Family, ...] = ("adoption", "quality", "performance", "productivity", "community")
Basis = Literal["count", "lines", "chars", "users", "time", "score", "none"]
DataGrain = Literal["event", "daily"]
RowExpr = Callable[["ir.Table"], "ir.Value"]

#: Every dimension a metric can be sliced or filtered by, with what it means.
DIMENSIONS: dict[str, str] = {
    "org": "Organisation or enterprise.",
    "team": "Team slug, from team membership on the same day (a developer in two teams counts in both).",
    "language": "Programming language of the file (event grain) or of the report row (daily grain).",
    "editor": "Editor / IDE (`ide` in usage_daily).",
    "model": "Model version that served the request (`model_version`; `model` in usage_daily).",
    "feature": "Assistant feature: code_completion, chat_inline, chat_panel, agent_edit, cli "
    "(usage_daily uses GitHub's spelling; filters accept either).",
    "persona": "Simulated behaviour persona of the developer (from `developers`).",
    "arm": "Experiment arm the developer was assigned to (from `assignments`; pass "
    "--filter experiment=ID when the lake holds several experiments).",
    "suite": "Evaluation task suite (eval_results only).",
    "repo": "GitHub repository, owner/name (community metrics).",
    "tag": "Stack Exchange tag (community metrics).",
}


@dataclass(frozen=True)
class Ratio:
    """``Σ numerator / Σ denominator`` over a group's rows; null when the denominator is 0.

    Attributes:
        numerator: per-row numerator expression (summed).
        denominator: per-row denominator expression (summed).
        numerator_doc: the per-developer numerator in words/SQL, for the docs.
        denominator_doc: the per-developer denominator, for the docs.
        where: rows that take part (others contribute nothing to either sum).
        scale: multiplies the value (100 for percentages and NPS).
        empty_reason: the ``null_reason`` when the denominator is 0.
    """

    numerator: RowExpr
    denominator: RowExpr
    numerator_doc: str
    denominator_doc: str
    where: RowExpr | None = None
    scale: float = 1.0
    empty_reason: str = "zero_denominator"


@dataclass(frozen=True)
class Total:
    """A sum of ``expr`` (or a row count when ``expr`` is ``None``) over a group's rows."""

    expr: RowExpr | None = None
    where: RowExpr | None = None


@dataclass(frozen=True)
class Distinct:
    """Distinct developers among a group's rows (recomputed per group, never summed)."""

    where: RowExpr | None = None
    column: str = "developer_id"


@dataclass(frozen=True)
class Quantile:
    """Exact ``q``-quantile of ``expr`` with linear interpolation (type 7); null without rows."""

    expr: RowExpr
    q: float
    where: RowExpr | None = None


@dataclass(frozen=True)
class Custom:
    """A metric with its own query shape; ``build(query)`` returns the grouped result table.

    The builder receives a :class:`codex_metrics.metrics.query.MetricQuery` and returns an Ibis
    table with ``period``, the requested dimensions, any ``extra`` columns, ``value`` and
    ``null_reason``.
    """

    build: Callable[[Any], ir.Table]
    extra: tuple[str, ...] = ()
    grains: tuple[str, ...] = ("day", "week", "month")


Measure = Ratio | Total | Distinct | Quantile | Custom


@dataclass(frozen=True)
class Metric:
    """One catalogue entry.

    Attributes:
        name: stable snake_case name (the CLI, the dashboard and experiments use it).
        family: adoption, quality, performance, productivity or community.
        description: one sentence for tooltips.
        formula: the definition in one line.
        unit: ratio, percent, users, count, lines, chars, ms, seconds, score, seats, ...
        basis: what is counted: count, lines, chars, users, time, score or none.
        grain: event (own telemetry rows) or daily (``usage_daily``, vendor-report shaped).
        source: the lake table read (the first one when several).
        measure: how it is computed (see the module docstring).
        dimensions: dimensions it can be grouped or filtered by.
        higher_is_better: direction of good; ``None`` for volumes with no good direction.
        breakdown: for daily metrics, the default ``usage_daily`` breakdown; slicing picks the
            breakdown that carries the requested dimensions.
        unavailable_reason: set when the source does not exist yet (community metrics).
        notes: further definitional detail for the docs.
        extra_sources: further tables read besides ``source``.
        frame: builds the rows a standard measure aggregates when they are not simply the
            prepared ``source`` (e.g. suggestions and typing side by side).
    """

    name: str
    family: Family
    description: str
    formula: str
    unit: str
    basis: Basis
    grain: DataGrain
    source: str
    measure: Measure
    dimensions: tuple[str, ...]
    higher_is_better: bool | None
    breakdown: str | None = None
    unavailable_reason: str | None = None
    notes: str = ""
    extra_sources: tuple[str, ...] = field(default=())
    frame: Callable[[Any], ir.Table] | None = None

    @property
    def kind(self) -> str:
        """ratio, total, distinct, quantile, custom or unavailable."""
        if self.unavailable_reason:
            return "unavailable"
        return type(self.measure).__name__.lower()

    @property
    def numerator(self) -> str | None:
        """Per-developer numerator of a ratio or mean (``None`` for other kinds)."""
        return self.measure.numerator_doc if isinstance(self.measure, Ratio) else None

    @property
    def denominator(self) -> str | None:
        """Per-developer denominator of a ratio or mean (``None`` for other kinds)."""
        return self.measure.denominator_doc if isinstance(self.measure, Ratio) else None

    @property
    def tables(self) -> tuple[str, ...]:
        """Every lake table the metric reads."""
        return (self.source, *self.extra_sources)


_REGISTRY: dict[str, Metric] = {}


def register(*metrics: Metric) -> None:
    """Add metrics to the catalogue (called by the family modules at import).

    Raises:
        MetricError: a name is registered twice or a dimension is unknown.
    """
    for m in metrics:
        if m.name in _REGISTRY:
            raise MetricError(f"metric {m.name!r} is declared twice")
        unknown = set(m.dimensions) - set(DIMENSIONS)
        if unknown:
            raise MetricError(f"metric {m.name!r}: unknown dimensions {sorted(unknown)}")
        _REGISTRY[m.name] = m


def _load_families() -> None:
    # Importing the family modules registers their metrics; done lazily to avoid import cycles.
    from codex_metrics.metrics import (  # noqa: F401
        adoption,
        codex,
        community,
        latency,
        productivity,
        quality,
        seats_cost,
        usage_mix,
    )


def get_metric(name: str) -> Metric:
    """Return the catalogue entry called ``name``.

    Raises:
        MetricError: no such metric (the message lists close names).
    """
    _load_families()
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise MetricError(
            f"unknown metric {name!r}{hint}; see `codex-metrics metrics list`"
        ) from None


def list_metrics(family: str | None = None) -> list[Metric]:
    """Every metric, sorted by family (catalogue order) then name."""
    _load_families()
    ms = [m for m in _REGISTRY.values() if family is None or m.family == family]
    return sorted(ms, key=lambda m: (FAMILIES.index(m.family), m.name))


def metric_definition(metric: Metric) -> dict[str, Any]:
    """The catalogue entry as plain data (JSON metadata, docs, dashboard tooltips)."""
    return {
        "name": metric.name,
        "family": metric.family,
        "description": metric.description,
        "formula": metric.formula,
        "unit": metric.unit,
        "basis": metric.basis,
        "grain": metric.grain,
        "source": list(metric.tables),
        "breakdown": metric.breakdown,
        "dimensions": list(metric.dimensions),
        "higher_is_better": metric.higher_is_better,
        "kind": metric.kind,
        "numerator": metric.numerator,
        "denominator": metric.denominator,
    }
