"""Daily per-developer sufficient statistics of the watched metrics, in one scan per metric.

Ratio metrics: per (day, slice, developer) the numerator and denominator sums (the catalogue's
``Σ accepted / Σ shown`` over ``status = 'ok'``). Latency quantiles: per (day, slice, developer)
a histogram on the quantile API's log grid (``LATENCY_GRID``), which the detection resamples by developer. The statistics layer never sees
rows; this module is the only one that runs SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codex_metrics.lake.latency_grid import LATENCY_GRID

if TYPE_CHECKING:
    from codex_metrics.lake import LakeSnapshot

__all__ = ["ALERT_GRID", "DailyStats", "SeriesKey", "daily_volume", "load_daily_stats"]

#: Grid of the alert histograms: the quantile API's grid (1% relative error).
ALERT_GRID = LATENCY_GRID

SeriesKey = tuple[str, str]  # (dimension or "overall", value or "")


@dataclass(frozen=True)
class DailyStats:
    """Per-developer statistics of one series on one day.

    ``developer_ids`` are integer codes, comparable within one load. Ratio: ``num`` and ``den``
    per developer. Quantile: ``bins`` (the grid indices present) and
    ``counts`` (developers x bins).
    """

    day: date
    developers: int
    events: int
    developer_ids: np.ndarray | None = None
    num: np.ndarray | None = None
    den: np.ndarray | None = None
    bins: np.ndarray | None = None
    counts: np.ndarray | None = None


def _where(feature: str | None, since: date | None, until: date | None) -> tuple[str, list[object]]:
    clauses: list[str] = ["status = 'ok'"]
    params: list[object] = []
    if feature is not None:
        clauses.append("feature = ?")
        params.append(feature)
    if since is not None:
        clauses.append("CAST(timestamp AS DATE) >= ?")
        params.append(since)
    if until is not None:
        clauses.append("CAST(timestamp AS DATE) <= ?")
        params.append(until)
    return " AND ".join(clauses), params


def load_daily_stats(
    snapshot: LakeSnapshot,
    *,
    measure: str,
    feature: str | None,
    dimensions: tuple[str, ...],
    since: date | None = None,
    until: date | None = None,
) -> dict[SeriesKey, dict[date, DailyStats]]:
    """Per-developer daily statistics of every series (overall and each value of ``dimensions``).

    Days are UTC days of the suggestion's timestamp; only ``status = 'ok'`` requests count.
    """
    con = snapshot.connect()
    where, params = _where(feature, since, until)
    dims = ["'overall' AS dim, '' AS val"] + [
        f"'{d}' AS dim, CAST({d} AS VARCHAR) AS val" for d in dimensions
    ]
    out: dict[SeriesKey, dict[date, DailyStats]] = {}
    if measure == "ratio":
        selects = " UNION ALL ".join(
            f"SELECT {d}, CAST(timestamp AS DATE) AS day, developer_id, "
            "count(*)::DOUBLE AS den, sum(CASE WHEN accepted THEN 1 ELSE 0 END)::DOUBLE AS num "
            f"FROM suggestions WHERE {where} GROUP BY ALL"
            for d in dims
        )
        table = con.sql(
            f"SELECT dim, val, day, developer_id, num, den FROM ({selects}) "
            "ORDER BY dim, val, day, developer_id",
            params=params * len(dims),
        ).to_arrow_table()
        cols = _columns(table)
        starts = _group_starts(cols["dim"], cols["val"], cols["day"])
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            key = (str(cols["dim"][lo]), str(cols["val"][lo]))
            day = _as_date(cols["day"][lo])
            den = cols["den"][lo:hi].astype(float)
            out.setdefault(key, {})[day] = DailyStats(
                day,
                hi - lo,
                int(den.sum()),
                developer_ids=cols["developer_id"][lo:hi],
                num=cols["num"][lo:hi].astype(float),
                den=den,
            )
        return out
    bin_sql = ALERT_GRID.sql_bin("latency_ms")
    selects = " UNION ALL ".join(
        f"SELECT {d}, CAST(timestamp AS DATE) AS day, developer_id, {bin_sql} AS bin, "
        f"count(*)::DOUBLE AS n FROM suggestions WHERE {where} AND latency_ms IS NOT NULL "
        "GROUP BY ALL"
        for d in dims
    )
    table = con.sql(
        f"SELECT dim, val, day, developer_id, bin, n FROM ({selects}) "
        "ORDER BY dim, val, day, developer_id",
        params=params * len(dims),
    ).to_arrow_table()
    cols = _columns(table)
    starts = _group_starts(cols["dim"], cols["val"], cols["day"])
    for lo, hi in zip(starts[:-1], starts[1:], strict=True):
        key = (str(cols["dim"][lo]), str(cols["val"][lo]))
        day = _as_date(cols["day"][lo])
        dev_codes, dev_index = np.unique(cols["developer_id"][lo:hi], return_inverse=True)
        bins, bin_index = np.unique(cols["bin"][lo:hi], return_inverse=True)
        counts = np.zeros((dev_codes.shape[0], bins.shape[0]))
        np.add.at(counts, (dev_index, bin_index), cols["n"][lo:hi])
        out.setdefault(key, {})[day] = DailyStats(
            day,
            dev_codes.shape[0],
            int(counts.sum()),
            developer_ids=dev_codes,
            bins=bins.astype(np.int64),
            counts=counts,
        )
    return out


def daily_volume(
    snapshot: LakeSnapshot, *, since: date | None = None, until: date | None = None
) -> dict[date, int]:
    """Suggestion events per UTC day (every status and feature): what tells a partial day."""
    where, params = _where(None, since, until)
    where = where.replace("status = 'ok'", "TRUE")
    rows = (
        snapshot.connect()
        .execute(
            f"SELECT CAST(timestamp AS DATE) AS day, count(*) FROM suggestions WHERE {where} "
            "GROUP BY 1",
            params,
        )
        .fetchall()
    )
    return {_as_date(d): int(n) for d, n in rows}


def _columns(table: pa.Table) -> dict[str, np.ndarray]:
    """Numpy columns; developer ids become integer codes (sorting strings is the slow part)."""
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if name == "developer_id":
            column = pc.dictionary_encode(column).combine_chunks().indices
        out[name] = column.to_numpy(zero_copy_only=False)
    return out


def _group_starts(*columns: np.ndarray) -> np.ndarray:
    n = columns[0].shape[0]
    if n == 0:
        return np.array([0], dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for c in columns:
        change[1:] |= c[1:] != c[:-1]
    return np.append(np.flatnonzero(change), n)


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
