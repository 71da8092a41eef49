"""One pass over the lake per metric: per-arm (and per-slice) sufficient statistics.

The experiment's analysis units are its assigned developers (intention to treat): every
developer assigned to exactly one arm counts, with zeros when inactive. A developer assigned
to several arms is a *crossover* and is excluded (and reported). Each developer's numerator and
denominator come from the metric catalogue (:mod:`.metric_source`) over the experiment period
and, for CUPED, over the pre-period; DuckDB then sums them per arm and per slice in one query,
so Python only ever sees a few dozen numbers per metric.

Slices use *developer* attributes fixed before randomisation (primary language, editor,
experience level, persona), so every slice is itself a randomised comparison.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

import duckdb
import numpy as np

from codex_metrics.experiments.capping import CapInfo, capped_sql
from codex_metrics.experiments.cuped import CupedRatioStats
from codex_metrics.experiments.design import Arm, ExperimentDesign
from codex_metrics.experiments.metric_source import Filters, cached_developer_sums
from codex_metrics.experiments.sufficient_stats import RatioStats

__all__ = [
    "SLICE_DIMENSIONS",
    "AssignmentCounts",
    "EvalDelta",
    "MetricStatistics",
    "assignment_counts",
    "default_window",
    "developer_arrays",
    "eval_delta",
    "metric_statistics",
    "window_values",
]

SLICE_DIMENSIONS: dict[str, str] = {
    "language": "primary_language",
    "editor": "editor",
    "experience": "experience_level",
    "persona": "persona",
}
_ids = count()


def experiment_end(design: ExperimentDesign) -> datetime:
    """End of the experiment period (now, while it runs)."""
    return design.end or datetime.now(UTC)


def _units_sql(design: ExperimentDesign) -> str:
    dims = ", ".join(
        f"coalesce(CAST(d.{col} AS VARCHAR), '(unknown)') AS {name}"
        for name, col in SLICE_DIMENSIONS.items()
    )
    return f"""
        SELECT a.developer_id, a.arm, {dims}
        FROM (SELECT developer_id, min(arm) AS arm FROM assignments
              WHERE experiment_id = $experiment GROUP BY developer_id
              HAVING count(DISTINCT arm) = 1) a
        LEFT JOIN (SELECT * FROM developers QUALIFY row_number() OVER
                   (PARTITION BY developer_id ORDER BY ingested_at DESC) = 1) d
        USING (developer_id)
    """


# Per connection: experiment id -> temp table of its units (developer, arm, slice attributes).
_UNITS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, dict[str, str]] = (
    weakref.WeakKeyDictionary()
)


def units_table(con: duckdb.DuckDBPyConnection, design: ExperimentDesign) -> str:
    """A temp table of the experiment's units (developer, arm, slice attributes).

    Built once per connection and reused by every metric: the join of assignments with
    developers is the same for all of them.
    """
    tables = _UNITS.setdefault(con, {})
    if design.experiment_id not in tables:
        name = f"_exp_units_{next(_ids)}"
        con.execute(
            f"CREATE TEMP TABLE {name} AS {_units_sql(design)}",
            {"experiment": design.experiment_id},
        )
        tables[design.experiment_id] = name
    return tables[design.experiment_id]


@dataclass(frozen=True)
class AssignmentCounts:
    """Assignment health: who is in which arm, and who should not be.

    Attributes:
        developers: developers per arm (crossovers excluded).
        by_slice: developers per arm for each (dimension, value).
        crossover: developers assigned to more than one arm.
        exposure_mismatch: assigned developers served by another arm's model in the period.
        unassigned_active: developers served by a treatment arm's model in the period without
            an assignment (the control model may be everyone's default).
        exposure_seen_in: the tables where an arm's model was seen serving someone in the
            period (``suggestions``, ``codex_requests``, ``usage_daily``'s model breakdown of
            Copilot reports); empty when exposure could not be checked.
    """

    developers: dict[str, int]
    by_slice: dict[tuple[str, str], dict[str, int]]
    crossover: int
    exposure_mismatch: int
    unassigned_active: int
    exposure_seen_in: tuple[str, ...] = ()


def assignment_counts(con: duckdb.DuckDBPyConnection, design: ExperimentDesign) -> AssignmentCounts:
    """Developers per arm and slice, crossovers, and exposure problems.

    Exposure is checked against every table recording which model served whom: suggestions,
    Codex requests (``codex_requests.model_version``) and the model breakdown of Copilot's
    per-user reports (``usage_daily.model``, whole days inside the period), each matched to an
    arm by its exact ``model_version``.
    """
    params = {"experiment": design.experiment_id}
    units = f"SELECT * FROM {units_table(con, design)}"
    per_dim = " UNION ALL ".join(
        f"SELECT '{name}' AS dim, {name} AS value, arm, count(*) FROM u GROUP BY ALL"
        for name in SLICE_DIMENSIONS
    )
    rows = con.execute(
        f"WITH u AS ({units}) SELECT 'all', 'all', arm, count(*) FROM u GROUP BY ALL UNION ALL {per_dim}"
    ).fetchall()
    overall: dict[str, int] = {}
    by_slice: dict[tuple[str, str], dict[str, int]] = {}
    for dim, value, arm, n in rows:
        if dim == "all":
            overall[arm] = int(n)
        else:
            by_slice.setdefault((dim, value), {})[arm] = int(n)
    crossover = con.execute(
        "SELECT count(*) FROM (SELECT developer_id FROM assignments WHERE experiment_id = $experiment "
        "GROUP BY developer_id HAVING count(DISTINCT arm) > 1)",
        params,
    ).fetchall()[0][0]
    mismatch, unassigned, seen = _exposure(con, design)
    return AssignmentCounts(overall, by_slice, int(crossover), mismatch, unassigned, seen)


#: Where the lake records which model served whom: (table, model column, time filter). Event
#: tables count inside the period; Copilot's daily model breakdown counts days wholly inside it.
_SERVED_BY = (
    ("suggestions", "model_version", "event"),
    ("codex_requests", "model_version", "event"),
    ("usage_daily", "model", "day"),
)


def _exposure(
    con: duckdb.DuckDBPyConnection, design: ExperimentDesign
) -> tuple[int, int, tuple[str, ...]]:
    """Assigned developers served another arm's model; unassigned ones served a treatment model.

    Returns:
        (exposure mismatches, unassigned treatment exposures, the tables that showed any arm's
        model being served in the period).
    """
    start, end = design.start, experiment_end(design)
    first_full = start.date() + timedelta(days=0 if start == _midnight(start) else 1)
    params: dict[str, object] = {
        "start": start,
        "end": end,
        "first_day": first_full,
        "end_day": end.date(),
        "experiment": design.experiment_id,
        "control": design.control.name,
    }
    served = []
    for table, column, grain in _SERVED_BY:
        when = (
            '"day" >= CAST($start AS DATE) AND "day" <= CAST($end AS DATE) '
            'AND "timestamp" >= $start AND "timestamp" < $end'
            if grain == "event"
            else '"day" >= $first_day AND "day" < $end_day'
        )
        served.append(
            f"SELECT DISTINCT '{table}' AS seen_in, developer_id, a.arm AS served_arm "
            f"FROM {table} t JOIN arms a ON t.{column} = a.model_version "
            f"WHERE developer_id IS NOT NULL AND {when}"
        )
    arms_values = ", ".join(f"($arm{i}, $model{i})" for i in range(len(design.arms)))
    for i, arm in enumerate(design.arms):
        params[f"arm{i}"], params[f"model{i}"] = arm.name, arm.model_version
    mismatch, unassigned, seen = con.execute(
        f"""
        WITH arms(arm, model_version) AS (VALUES {arms_values}),
        served AS ({" UNION ALL ".join(served)}),
        asg AS (SELECT developer_id, min(arm) AS arm FROM assignments
                WHERE experiment_id = $experiment GROUP BY developer_id)
        SELECT count(DISTINCT developer_id)
                 FILTER (WHERE asg.arm IS NOT NULL AND asg.arm <> served_arm),
               count(DISTINCT developer_id) FILTER (WHERE asg.arm IS NULL AND served_arm <> $control),
               list(DISTINCT seen_in ORDER BY seen_in)
        FROM served LEFT JOIN asg USING (developer_id)
        """,
        params,
    ).fetchall()[0]
    return int(mismatch or 0), int(unassigned or 0), tuple(seen or ())


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class MetricStatistics:
    """Sufficient statistics of one metric: overall and per slice, per arm."""

    metric: str
    overall: dict[str, CupedRatioStats]
    slices: dict[tuple[str, str], dict[str, CupedRatioStats]]
    has_pre_period: bool
    cap: CapInfo | None = None


_SUMS = (
    "count(*), sum(m), sum(m*m), sum(d), sum(d*d), sum(m*d), sum(x), sum(x*x), sum(y), sum(y*y), "
    "sum(x*y), sum(m*x), sum(m*y), sum(d*x), sum(d*y)"
)


def _stats(row: tuple) -> CupedRatioStats:
    n, sm, smm, sd, sdd, smd, sx, sxx, sy, syy, sxy, smx, smy, sdx, sdy = (
        float(v or 0) for v in row
    )
    return CupedRatioStats(
        RatioStats(int(n), sm, smm, sd, sdd, smd),
        RatioStats(int(n), sx, sxx, sy, syy, sxy),
        smx,
        smy,
        sdx,
        sdy,
    )


def _joined_sql(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    metric: str,
    *,
    pre: bool = True,
    filters: Filters | None = None,
    cap: float | None = None,
) -> tuple[str, bool, CapInfo | None]:
    """Register per-developer post (and pre) sums as views; return the joined-units SQL.

    With ``cap``, developer means are winsorised at that pooled percentile
    (:mod:`codex_metrics.experiments.capping`).
    """
    tag = next(_ids)
    post = cached_developer_sums(
        con, metric, start=design.start, end=experiment_end(design), filters=filters
    )
    post.create_view(f"_exp_post_{tag}", replace=True)
    pre_start = design.pre_period_start
    has_pre = pre and pre_start is not None and pre_start < design.start
    if has_pre and pre_start is not None:
        before = cached_developer_sums(
            con, metric, start=pre_start, end=design.start, filters=filters
        )
        before.create_view(f"_exp_pre_{tag}", replace=True)
        pre_join = f"LEFT JOIN _exp_pre_{tag} q USING (developer_id)"
        xy = "coalesce(q.numerator, 0) AS x, coalesce(q.denominator, 0) AS y"
    else:
        pre_join, xy = "", "0.0 AS x, 0.0 AS y"
    sql = f"""
        SELECT u.*, coalesce(p.numerator, 0) AS m, coalesce(p.denominator, 0) AS d, {xy}
        FROM {units_table(con, design)} u LEFT JOIN _exp_post_{tag} p USING (developer_id) {pre_join}
    """
    if cap is None:
        return sql, has_pre, None
    capped, info = capped_sql(con, sql, cap, has_pre=has_pre)
    return capped, has_pre, info


def metric_statistics(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    metric: str,
    *,
    slices: bool = True,
    pre_period: bool = True,
    filters: Filters | None = None,
    cap: float | None = None,
) -> MetricStatistics:
    """Per-arm sufficient statistics overall and per slice, in one query.

    With ``pre_period`` (the default) the CUPED covariates are read too; without it the
    pre-period is not scanned and its sums are zero. ``filters`` restrict the metric's rows;
    ``cap`` winsorises developer means at that pooled percentile.
    """
    joined, has_pre, cap_info = _joined_sql(
        con, design, metric, pre=pre_period, filters=filters, cap=cap
    )
    parts = [f"SELECT 'all' AS dim, 'all' AS value, arm, {_SUMS} FROM j GROUP BY ALL"]
    if slices:
        parts += [
            f"SELECT '{name}', {name}, arm, {_SUMS} FROM j GROUP BY ALL"
            for name in SLICE_DIMENSIONS
        ]
    rows = con.execute(f"WITH j AS MATERIALIZED ({joined}) {' UNION ALL '.join(parts)}").fetchall()
    overall: dict[str, CupedRatioStats] = {}
    by_slice: dict[tuple[str, str], dict[str, CupedRatioStats]] = {}
    for dim, value, arm, *sums in rows:
        if dim == "all":
            overall[arm] = _stats(tuple(sums))
        else:
            by_slice.setdefault((dim, value), {})[arm] = _stats(tuple(sums))
    return MetricStatistics(metric, overall, by_slice, has_pre, cap_info)


def developer_arrays(
    con: duckdb.DuckDBPyConnection,
    design: ExperimentDesign,
    metric: str,
    *,
    filters: Filters | None = None,
    cap: float | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-developer (numerator, denominator) arrays per arm, for the bootstrap and mixed model."""
    joined, _, _ = _joined_sql(con, design, metric, pre=False, filters=filters, cap=cap)
    cols = con.execute(f"SELECT arm, m, d FROM ({joined}) ORDER BY developer_id").fetchnumpy()
    arms = np.asarray(cols["arm"], dtype=object)
    return {
        a.name: (
            np.asarray(cols["m"], float)[arms == a.name],
            np.asarray(cols["d"], float)[arms == a.name],
        )
        for a in design.arms
    }


@dataclass(frozen=True)
class EvalDelta:
    """Offline eval pass-rate difference between the arms' model versions, paired by task.

    ``delta`` = mean over common tasks of (pass rate B − pass rate A); ``se`` = sd/√tasks.
    """

    model_control: str
    model_treatment: str
    tasks: int
    pass_rate_control: float
    pass_rate_treatment: float
    delta: float
    se: float
    ci_low: float
    ci_high: float


def eval_delta(
    con: duckdb.DuckDBPyConnection, design: ExperimentDesign, treatment: Arm | None = None
) -> EvalDelta | None:
    """Pass-rate delta of ``treatment`` (default: the first) against the control's model.

    ``None`` unless both model versions have runs in ``eval_results``.
    """
    a = design.control.model_version
    b = (treatment or design.treatment).model_version
    rows = con.execute(
        """
        SELECT task_id, avg(passed::INT) FILTER (WHERE model_version = $a) AS pa,
               avg(passed::INT) FILTER (WHERE model_version = $b) AS pb
        FROM eval_results WHERE model_version IN ($a, $b) GROUP BY task_id
        HAVING pa IS NOT NULL AND pb IS NOT NULL
        """,
        {"a": a, "b": b},
    ).fetchall()
    if not rows:
        return None
    pa = np.array([r[1] for r in rows], float)
    pb = np.array([r[2] for r in rows], float)
    diff = pb - pa
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
    z = 1.959964
    delta = float(diff.mean())
    return EvalDelta(
        a,
        b,
        int(diff.size),
        float(pa.mean()),
        float(pb.mean()),
        delta,
        se,
        delta - z * se,
        delta + z * se,
    )


def window_values(
    con: duckdb.DuckDBPyConnection, metric: str, *, start: datetime, end: datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Every active developer's (numerator, denominator) of ``metric`` in [start, end)."""
    cols = (
        cached_developer_sums(con, metric, start=start, end=end)
        .filter("denominator > 0")
        .order("developer_id")
        .fetchnumpy()
    )
    return np.asarray(cols["numerator"], float), np.asarray(cols["denominator"], float)


def default_window(con: duckdb.DuckDBPyConnection, *, days: int = 28) -> tuple[datetime, datetime]:
    """The last ``days`` days with suggestions in the lake (UTC midnight bounds)."""
    last = con.execute("SELECT max(day) FROM suggestions").fetchall()[0][0]
    if last is None:
        from codex_metrics.errors import DataNotFoundError

        raise DataNotFoundError("the lake has no suggestions; run `codex-metrics simulate` first")
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return end - timedelta(days=days), end
