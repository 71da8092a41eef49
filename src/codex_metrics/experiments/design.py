"""An experiment as declared in the lake's ``experiments`` table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from codex_metrics.errors import DataNotFoundError, ParameterError

__all__ = ["Arm", "ExperimentDesign", "Guardrail", "list_experiments", "load_experiment"]


@dataclass(frozen=True)
class Arm:
    """One arm: its name, the model version it serves and its intended allocation weight."""

    name: str
    model_version: str
    weight: float


@dataclass(frozen=True)
class Guardrail:
    """A guardrail metric with its relative non-inferiority margin (0.05 = may worsen ≤ 5%)."""

    metric: str
    margin: float


@dataclass(frozen=True)
class ExperimentDesign:
    """An experiment row: arms, periods and metric roles.

    The first arm is the control; every other arm is a treatment compared with it.
    ``metric_filters`` restricts a metric's rows (metric -> (dimension, value) pairs; several
    values of one dimension mean any of them), e.g. latency_p90_ms over code completions.
    """

    experiment_id: str
    description: str
    arms: tuple[Arm, ...]
    pre_period_start: datetime | None
    start: datetime
    end: datetime | None
    primary_metrics: tuple[str, ...]
    guardrails: tuple[Guardrail, ...]
    secondary_metrics: tuple[str, ...]
    planned_developers: int | None
    metric_filters: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    def filters_of(self, metric: str) -> dict[str, list[str]]:
        """The row filters of ``metric`` as dimension -> accepted values."""
        out: dict[str, list[str]] = {}
        for dim, value in self.metric_filters.get(metric, ()):
            out.setdefault(dim, []).append(value)
        return out

    @property
    def treatments(self) -> tuple[Arm, ...]:
        """Every arm but the control, in declaration order."""
        return self.arms[1:]

    @property
    def control(self) -> Arm:
        """The control arm (first declared)."""
        return self.arms[0]

    @property
    def treatment(self) -> Arm:
        """The first treatment arm (second declared)."""
        return self.arms[1]

    @property
    def weights(self) -> dict[str, float]:
        """Intended allocation per arm."""
        return {a.name: a.weight for a in self.arms}

    @property
    def all_metrics(self) -> tuple[str, ...]:
        """Primary, guardrail and secondary metrics, in that order, without repeats."""
        names = [
            *self.primary_metrics,
            *(g.metric for g in self.guardrails),
            *self.secondary_metrics,
        ]
        return tuple(dict.fromkeys(names))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``ab list --format json``)."""
        return {
            "experiment_id": self.experiment_id,
            "description": self.description,
            "arms": [
                {"arm": a.name, "model_version": a.model_version, "weight": a.weight}
                for a in self.arms
            ],
            "pre_period_start": self.pre_period_start.isoformat()
            if self.pre_period_start
            else None,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "primary_metrics": list(self.primary_metrics),
            "guardrails": {g.metric: g.margin for g in self.guardrails},
            "secondary_metrics": list(self.secondary_metrics),
            "planned_developers": self.planned_developers,
            "metric_filters": {
                m: [{"dimension": d, "value": v} for d, v in pairs]
                for m, pairs in self.metric_filters.items()
            },
        }

    def summary_row(self) -> dict[str, str]:
        """One row for a table or CSV: arms, period, metrics as text."""
        period = (
            f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"
            if self.end
            else f"since {self.start:%Y-%m-%d}"
        )
        return {
            "experiment": self.experiment_id,
            "arms": ", ".join(f"{a.name}={a.model_version} ({a.weight:.0%})" for a in self.arms),
            "period": period,
            "primary": ", ".join(self.primary_metrics),
            # Non-inferiority margins are one-sided: the metric may get worse by at most this.
            "guardrails": ", ".join(
                f"{g.metric} (may worsen by at most {g.margin:.0%})" for g in self.guardrails
            ),
        }


_COLUMNS = (
    'experiment_id, description, arms, pre_period_start, start, "end", primary_metrics, '
    "guardrail_metrics, secondary_metrics, planned_developers, metric_filters"
)


def _design(row: tuple) -> ExperimentDesign:
    (eid, desc, arms, pre, start, end, primary, guardrails, secondary, planned, filters) = row
    parsed = tuple(Arm(a["arm"], a["model_version"], float(a["weight"])) for a in arms or [])
    if len(parsed) < 2:
        raise ParameterError(
            "arms", f"experiment {eid} declares {len(parsed)} arm(s); need at least 2"
        )
    return ExperimentDesign(
        experiment_id=eid,
        description=desc or "",
        arms=parsed,
        pre_period_start=pre,
        start=start,
        end=end,
        primary_metrics=tuple(primary or ()),
        guardrails=tuple(Guardrail(g["metric"], float(g["margin"])) for g in guardrails or []),
        secondary_metrics=tuple(secondary or ()),
        planned_developers=None if planned is None else int(planned),
        metric_filters=_filters(filters),
    )


def _filters(rows: object) -> dict[str, tuple[tuple[str, str], ...]]:
    out: dict[str, list[tuple[str, str]]] = {}
    if isinstance(rows, list):
        for row in rows:
            if isinstance(row, dict) and row.get("metric") and row.get("dimension"):
                out.setdefault(row["metric"], []).append((row["dimension"], str(row["value"])))
    return {m: tuple(pairs) for m, pairs in out.items()}


def list_experiments(con: duckdb.DuckDBPyConnection) -> list[ExperimentDesign]:
    """Every experiment in the lake, newest start first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM experiments ORDER BY start DESC, experiment_id"
    ).fetchall()
    return [_design(r) for r in rows]


def load_experiment(con: duckdb.DuckDBPyConnection, experiment_id: str) -> ExperimentDesign:
    """The experiment ``experiment_id``.

    Raises:
        DataNotFoundError: no such experiment (the message lists the ones there are).
    """
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM experiments WHERE experiment_id = ? ORDER BY ingested_at DESC LIMIT 1",
        [experiment_id],
    ).fetchall()
    if not rows:
        known = [
            r[0] for r in con.execute("SELECT experiment_id FROM experiments ORDER BY 1").fetchall()
        ]
        hint = (
            f"known: {', '.join(known)}"
            if known
            else "the lake has no experiments; simulate ab_test"
        )
        raise DataNotFoundError(
            f"experiment {experiment_id!r} not found ({hint}); see `codex-metrics ab list`"
        )
    return _design(rows[0])
