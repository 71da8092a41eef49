"""Regression detection on daily series: like-day baselines, developer-level intervals.

For each watched series (a metric over one slice) and day ``d``:

1. **Gaps and holidays.** A day with no suggestions, or with less than half the volume of its
   like days (a partly ingested day), is a gap; a configured holiday is expected to be quiet.
   Neither is evaluated nor used as a baseline, so a gap is never a drop.
2. **Volume.** A series-day with fewer than ``min_events`` requests or ``min_developers``
   developers is not evaluated (12 suggestions never alert).
3. **Value and its standard error**, clustered by developer (the unit that varies):

   * ratio ``R = Σa_i / Σs_i``: delta-method variance
     ``Var(R) = n/(n-1) · Σ_i (a_i − R·s_i)² / (Σ_i s_i)²`` (per-developer linearisation, as in
     the experiment engine; per-suggestion binomial intervals ignore developer heterogeneity and
     fire most days);
   * quantile: type-7 quantile of the pooled histogram; its standard error on the log scale from
     a developer-level bootstrap (``bootstrap_replicates`` resamples of developers with their
     whole histograms, multinomial weights).

4. **Weekly seasonality.** The expectation is the median of the like days (weekdays against
   weekdays, weekend days against weekend days) in the trailing ``window_days``, excluding
   gaps, holidays and low-volume days. Its spread is
   ``sd² = se_d² + τ² + (π/2)·s²/k`` where ``s`` is the robust (MAD) spread of the like days,
   ``τ² = max(0, s² − median(se_like²))`` the day-to-day variation beyond sampling, and the last
   term the variance of a median of k days.
5. **Control rule** (one-sided, in the direction that breaks the target): ``z ≥ z_one_day`` on
   one day, or two evaluated days in a row with ``z ≥ 1.5`` each and
   ``(z₁ + z₂)/√2 ≥ z_two_days``. The change started on the first day of the run of evaluated
   days with ``z ≥ 2`` that ends at the detection (with the pair rule, at the pair's first day).

Bad data is a result: :class:`SeriesStatus` says why a day was not evaluated.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

from codex_metrics.alerts.series import ALERT_GRID, DailyStats, SeriesKey
from codex_metrics.alerts.targets import AlertConfig, Target

__all__ = [
    "Alert",
    "DayPoint",
    "SeriesStatus",
    "bootstrap_log_quantile_se",
    "developer_adjusted_difference",
    "evaluate_series",
    "find_gaps",
    "group_incidents",
    "quantile_from_histogram",
    "ratio_with_se",
    "slice_label",
]

_START_Z = 2.0
_PAIR_MIN_Z = 1.5
_MIN_LIKE_DAYS = {False: 5, True: 3}  # weekday, weekend


class SeriesStatus(StrEnum):
    """Why a day of a series was (not) evaluated."""

    OK = "ok"
    GAP = "gap"
    HOLIDAY = "holiday"
    LOW_VOLUME = "low_volume"
    NO_BASELINE = "no_baseline"


STATUS_MESSAGES = {
    SeriesStatus.OK: "evaluated",
    SeriesStatus.GAP: "no data, or a partly ingested day: a data gap, never a drop",
    SeriesStatus.HOLIDAY: "a configured holiday: quiet days are expected",
    SeriesStatus.LOW_VOLUME: "too few requests or developers to judge",
    SeriesStatus.NO_BASELINE: "too few comparable days before it",
}


@dataclass(frozen=True)
class DayPoint:
    """One day of one series: value, standard error and the test against its baseline."""

    day: date
    status: SeriesStatus
    value: float = math.nan
    se: float = math.nan  # on the scale of the test (log for quantiles)
    expected: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    z: float = math.nan  # positive: the bad direction
    events: int = 0
    developers: int = 0


@dataclass(frozen=True)
class Alert:
    """A target broken in one slice from ``change_start_day`` on, seen on ``day``."""

    rule: str
    target_kind: str
    metric: str
    slice: str
    day: date
    change_start_day: date
    observed: float
    expected: float
    lower: float
    upper: float
    unit: str
    direction: str
    z: float
    contributors: tuple[dict[str, Any], ...] = ()
    annotation_id: str | None = None
    related: tuple[str, ...] = field(default=())

    @property
    def alert_id(self) -> str:
        """Stable per incident: rule, metric, slice and the day the change started."""
        raw = "|".join([self.rule, self.metric, self.slice, self.change_start_day.isoformat()])
        return "alert-" + hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def message(self) -> str:
        """One line a person reads in Slack or an email subject."""
        where = self.slice or "overall"
        fmt = _fmt(self.unit)
        return (
            f"{self.metric} {where}: {fmt(self.observed)} on {self.day} vs expected "
            f"{fmt(self.expected)} [{fmt(self.lower)}, {fmt(self.upper)}] ({self.direction}, "
            f"since {self.change_start_day}; rule {self.rule})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON payloads and the CLI."""
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "target_kind": self.target_kind,
            "metric": self.metric,
            "slice": self.slice,
            "day": self.day.isoformat(),
            "change_start_day": self.change_start_day.isoformat(),
            "observed": self.observed,
            "expected": self.expected,
            "lower": self.lower,
            "upper": self.upper,
            "unit": self.unit,
            "direction": self.direction,
            "z": round(self.z, 2),
            "contributors": list(self.contributors),
            "annotation_id": self.annotation_id,
            "message": self.message,
        }


def _fmt(unit: str) -> Any:
    if unit == "ratio":
        return lambda v: f"{v:.1%}"
    return lambda v: f"{v:,.0f} {unit}"


def slice_label(key: SeriesKey) -> str:
    """``dim=value`` (empty: overall)."""
    return "" if key[0] == "overall" else f"{key[0]}={key[1]}"


def ratio_with_se(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """``R = Σnum/Σden`` and its developer-clustered delta-method standard error."""
    total = float(den.sum())
    n = num.shape[0]
    if total <= 0 or n < 2:
        return math.nan, math.nan
    r = float(num.sum()) / total
    resid = num - r * den
    var = n / (n - 1) * float(resid @ resid) / total**2
    return r, math.sqrt(var)


def quantile_from_histogram(bins: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of each row of ``counts`` (rows: histograms over the sorted ``bins``).

    The rank ``q·n`` is located in its bucket and interpolated log-linearly between the
    bucket's edges (γ^(i-1), γ^i], so the estimate moves smoothly with the data instead of
    jumping between bucket representatives; it stays within the grid's relative error.
    """
    c = np.atleast_2d(counts)
    cum = np.cumsum(c, axis=1)
    n = cum[:, -1]
    rank = q * n
    j = np.minimum((cum < rank[:, None]).sum(axis=1), bins.shape[0] - 1)
    rows = np.arange(c.shape[0])
    before = np.where(j > 0, cum[rows, np.maximum(j - 1, 0)], 0.0)
    inside = c[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(inside > 0, np.clip((rank - before) / inside, 0.0, 1.0), 0.5)
    out = np.exp((bins[j] - 1 + frac) * ALERT_GRID.log_gamma)
    return np.where(n > 0, out, np.nan)


def bootstrap_log_quantile_se(
    bins: np.ndarray, counts: np.ndarray, q: float, *, replicates: int, seed: int
) -> float:
    """Standard error of log(quantile) from resampling developers with their whole histograms."""
    n_dev = counts.shape[0]
    if n_dev < 2:
        return math.nan
    # Resampled quantiles stay near the pooled one: keep the buckets within ±0.15 of q in
    # cumulative share and merge the rest into one bucket below and one above (same result,
    # a fraction of the work).
    pooled = counts.sum(axis=0)
    share = np.cumsum(pooled) / pooled.sum()
    keep = np.flatnonzero((share >= q - 0.15) & (share - pooled / pooled.sum() <= q + 0.15))
    lo, hi = int(keep[0]), int(keep[-1])
    counts = np.column_stack(
        [counts[:, :lo].sum(axis=1), counts[:, lo : hi + 1], counts[:, hi + 1 :].sum(axis=1)]
    )
    bins = np.concatenate([[bins[lo] - 1], bins[lo : hi + 1], [bins[hi] + 1]])
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n_dev, size=(replicates, n_dev))  # developers, with replacement
    boot = quantile_from_histogram(bins, counts[drawn].sum(axis=1), q)
    boot = boot[np.isfinite(boot) & (boot > 0)]
    return float(np.std(np.log(boot), ddof=1)) if boot.size > 1 else math.nan


def find_gaps(volume: dict[date, int], first: date, last: date, config: AlertConfig) -> set[date]:
    """Days with no data, or under half the median volume of their like days (partly ingested)."""
    gaps: set[date] = set()
    d = first
    while d <= last:
        n = volume.get(d, 0)
        if n == 0 and not config.is_holiday(d):
            gaps.add(d)
        elif not config.is_holiday(d):
            like = [
                volume[x]
                for x in (d - timedelta(days=k) for k in range(1, 29))
                if x in volume
                and (x.weekday() >= 5) == (d.weekday() >= 5)
                and not config.is_holiday(x)
            ]
            if len(like) >= 3 and n < 0.5 * float(np.median(like)):
                gaps.add(d)
        d += timedelta(days=1)
    return gaps


def _quantile_value_and_se(
    target: Target, stats: DailyStats, config: AlertConfig, seed: int
) -> tuple[float, float]:
    """The day's quantile and the standard error of its log (developer bootstrap)."""
    assert stats.bins is not None and stats.counts is not None
    value = float(quantile_from_histogram(stats.bins, stats.counts.sum(axis=0), target.level)[0])
    se = bootstrap_log_quantile_se(
        stats.bins, stats.counts, target.level, replicates=config.bootstrap_replicates, seed=seed
    )
    return value, se


#: Prior weight (requests) shrinking a developer's baseline rate towards the pooled rate.
_SHRINK_REQUESTS = 20.0


def developer_adjusted_difference(
    today: DailyStats, window: list[DailyStats]
) -> tuple[float, float, float]:
    """Ratio today minus what today's developers did in ``window``, with its standard error.

    ``D = (Σa_i − Σp_i·s_i) / Σs_i`` where ``p_i`` is developer i's baseline rate (shrunk towards
    the pooled baseline by :data:`_SHRINK_REQUESTS`; the pooled rate for developers without
    one). Comparing each developer with themselves removes the between-developer variance
    that dominates a day's ratio; the delta-method variance of the per-developer residuals
    ``e_i = a_i − p_i·s_i − D·s_i`` is ``n/(n−1) · Σe_i² / (Σs_i)²``, plus the baseline rates'
    own binomial variance. Returns ``(R, D, se(D))``.
    """
    assert today.num is not None and today.den is not None and today.developer_ids is not None
    ids = np.concatenate([w.developer_ids for w in window if w.developer_ids is not None])
    num = np.concatenate([w.num for w in window if w.num is not None])
    den = np.concatenate([w.den for w in window if w.den is not None])
    pooled = float(num.sum()) / float(den.sum())
    uniq, inv = np.unique(ids, return_inverse=True)
    base_num = np.bincount(inv, weights=num, minlength=uniq.shape[0])
    base_den = np.bincount(inv, weights=den, minlength=uniq.shape[0])
    pos = np.searchsorted(uniq, today.developer_ids)
    pos = np.minimum(pos, uniq.shape[0] - 1)
    known = uniq[pos] == today.developer_ids
    a_base = np.where(known, base_num[pos], 0.0)
    s_base = np.where(known, base_den[pos], 0.0)
    p = (a_base + _SHRINK_REQUESTS * pooled) / (s_base + _SHRINK_REQUESTS)
    a, s = today.num, today.den
    total = float(s.sum())
    n = a.shape[0]
    r = float(a.sum()) / total
    d = float((a - p * s).sum()) / total
    resid = a - p * s - d * s
    var = n / (n - 1) * float(resid @ resid) / total**2
    var += float((s**2 * p * (1 - p) / (s_base + _SHRINK_REQUESTS)).sum()) / total**2
    return r, d, math.sqrt(var)


def evaluate_series(
    target: Target,
    key: SeriesKey,
    series: dict[date, DailyStats],
    *,
    first: date,
    last: date,
    gaps: set[date],
    config: AlertConfig,
    baseline_until: date | None = None,
) -> list[DayPoint]:
    """Test every day in [first, last] of one series against its trailing like days.

    The test runs on a scale where a change is additive: log(quantile) for latency, and for
    ratios the developer-adjusted difference ``D`` (:func:`developer_adjusted_difference`),
    whose like-day history gives the day-to-day spread. ``baseline_until``: baselines use only
    days before it (after_annotation targets freeze them at the annotated day).
    """
    start = min(first - timedelta(days=target.window_days), min(series, default=first))
    status: dict[date, SeriesStatus] = {}
    seed_base = int(hashlib.sha256(f"{target.name}|{key}".encode()).hexdigest()[:8], 16)
    d = start
    while d <= last:
        stats = series.get(d)
        if config.is_holiday(d):
            status[d] = SeriesStatus.HOLIDAY
        elif d in gaps or stats is None:
            status[d] = SeriesStatus.GAP
        elif stats.events < config.min_events or stats.developers < config.min_developers:
            status[d] = SeriesStatus.LOW_VOLUME
        else:
            status[d] = SeriesStatus.OK
        d += timedelta(days=1)
    ratio = target.measure == "ratio" and target.kind != "threshold"
    usable = {day for day, st in status.items() if st == SeriesStatus.OK}
    # (value, x on the test scale, se of x, value - x: adds back to an expected x)
    scaled: dict[date, tuple[float, float, float, float]] = {}
    for day in sorted(status):
        if status[day] != SeriesStatus.OK:
            continue
        stats = series[day]
        if target.measure == "quantile":
            value, se = _quantile_value_and_se(target, stats, config, seed_base + day.toordinal())
            x = math.log(value) if value > 0 else math.nan
            scaled[day] = (value, x, se, math.nan)
        elif ratio:
            until = min(day, baseline_until) if baseline_until else day
            window = [
                series[w]
                for k in range(1, target.window_days + 1)
                if (w := day - timedelta(days=k)) < until and w in usable
            ]
            if len(window) < 5:
                status[day] = SeriesStatus.NO_BASELINE
                continue
            value, x, se = developer_adjusted_difference(stats, window)
            scaled[day] = (value, x, se, value - x)
        else:
            assert stats.num is not None and stats.den is not None
            value, se = ratio_with_se(stats.num, stats.den)
            scaled[day] = (value, value, se, 0.0)
        if not (math.isfinite(scaled[day][1]) and math.isfinite(scaled[day][2])):
            del scaled[day]
            status[day] = SeriesStatus.LOW_VOLUME
    sign = 1.0 if target.bad_direction == "increase" else -1.0
    points: list[DayPoint] = []
    d = first
    while d <= last:
        stats = series.get(d)
        events = stats.events if stats else 0
        devs = stats.developers if stats else 0
        if d not in scaled:
            points.append(DayPoint(d, status.get(d, SeriesStatus.GAP), events=events,
                                   developers=devs))  # fmt: skip
            d += timedelta(days=1)
            continue
        value, x, se, offset = scaled[d]
        if target.kind == "threshold":
            bound = target.max if target.max is not None else target.min
            assert bound is not None
            expected = math.log(bound) if target.measure == "quantile" else bound
            sd = se
            z = (x - expected) / sd * (1.0 if target.max is not None else -1.0)
        else:
            until = baseline_until or d
            weekend = d.weekday() >= 5
            like = [
                scaled[w]
                for k in range(1, target.window_days + 1)
                if (w := d - timedelta(days=k)) in scaled
                and w < until
                and (w.weekday() >= 5) == weekend
            ]
            if len(like) < _MIN_LIKE_DAYS[weekend]:
                points.append(DayPoint(d, SeriesStatus.NO_BASELINE, value=value, events=events,
                                       developers=devs))  # fmt: skip
                d += timedelta(days=1)
                continue
            xs = np.array([v[1] for v in like])
            ses = np.array([v[2] for v in like])
            med = float(np.median(xs))
            spread2 = (1.4826 * float(np.median(np.abs(xs - med)))) ** 2
            tau2 = max(0.0, spread2 - float(np.median(ses**2)))
            var_median = math.pi / 2 * max(spread2, float(np.mean(ses**2))) / len(like)
            sd = math.sqrt(se**2 + tau2 + var_median)
            expected = med
            if target.margin and target.measure == "quantile":
                shifted = math.exp(med) + sign * target.margin
                expected = math.log(shifted) if shifted > 0 else med
            elif target.margin:
                expected = med + sign * target.margin
            z = sign * (x - expected) / sd
            if target.kind == "after_annotation":
                z = abs(x - med) / sd
        points.append(
            DayPoint(
                d,
                SeriesStatus.OK,
                value=value,
                se=se,
                expected=_natural(target, expected, offset),
                lower=_natural(target, expected - 1.96 * sd, offset),
                upper=_natural(target, expected + 1.96 * sd, offset),
                z=z,
                events=events,
                developers=devs,
            )
        )
        d += timedelta(days=1)
    return points


def _natural(target: Target, x: float, offset: float) -> float:
    """From the test scale back to the metric's unit."""
    if target.measure == "quantile":
        return math.exp(x)
    return x + offset if math.isfinite(offset) else x


def fired_days(points: list[DayPoint], config: AlertConfig) -> list[tuple[DayPoint, date]]:
    """Days the control rule fires on, with the day each change started.

    Fires on ``z ≥ z_one_day``, or on two evaluated days in a row whose combined evidence
    ``(z₁ + z₂)/√2 ≥ z_two_days`` with both ``z ≥ 1.5`` (a change that holds for two days).
    """
    evaluated = [p for p in points if p.status == SeriesStatus.OK]
    out: list[tuple[DayPoint, date]] = []
    for i, p in enumerate(evaluated):
        prev = evaluated[i - 1] if i > 0 else None
        pair = (
            prev is not None
            and min(p.z, prev.z) >= _PAIR_MIN_Z
            and (p.z + prev.z) / math.sqrt(2) >= config.z_two_days
        )
        if not (p.z >= config.z_one_day or pair):
            continue
        j = i - 1 if pair and p.z < config.z_one_day else i
        while j > 0 and evaluated[j - 1].z >= _START_Z:
            j -= 1
        out.append((p, evaluated[j].day))
    return out


def group_incidents(candidates: list[Alert], *, overall_wins_z: float = 3.0) -> list[Alert]:
    """One alert per incident: per rule, alerts whose changes start within two days are one.

    The incident's alert is overall when overall fired and no slice moved significantly more
    than overall (then the slice explains it); else the fired slice with the largest z. The
    others become its contributors.
    """
    earliest: dict[tuple[str, str, date], Alert] = {}
    for a in sorted(candidates, key=lambda a: a.day):
        earliest.setdefault((a.rule, a.slice, a.change_start_day), a)
    by_rule: dict[str, list[Alert]] = {}
    for a in sorted(earliest.values(), key=lambda a: (a.rule, a.change_start_day, -a.z)):
        by_rule.setdefault(a.rule, []).append(a)
    out: list[Alert] = []
    for alerts in by_rule.values():
        groups: list[list[Alert]] = []
        for a in alerts:
            if groups and (a.change_start_day - groups[-1][0].change_start_day).days <= 2:
                groups[-1].append(a)
            else:
                groups.append([a])
        for g in groups:
            out.append(_primary(g, overall_wins_z))
    return out


def _shift(a: Alert) -> float:
    if a.unit == "ms":
        return math.log(max(a.observed, 1e-9) / max(a.expected, 1e-9))
    return a.observed - a.expected


def _primary(group: list[Alert], overall_wins_z: float) -> Alert:
    overall = [a for a in group if not a.slice]
    slices = [a for a in group if a.slice]
    best = max(slices, key=lambda a: a.z) if slices else None
    choice = overall[0] if overall else best
    if overall and best is not None:
        o = overall[0]
        sharper = max(slices, key=lambda a: abs(_shift(a)))
        if sharper.unit == "ms":
            half_width = math.log(sharper.upper / sharper.lower) / (2 * 1.96)
        else:
            half_width = (sharper.upper - sharper.lower) / (2 * 1.96)
        if half_width > 0 and abs(_shift(sharper)) - abs(_shift(o)) > overall_wins_z * half_width:
            choice = sharper
    assert choice is not None
    others = sorted((a for a in group if a.slice != choice.slice), key=lambda a: -a.z)
    contributors = (
        tuple(
            {
                "slice": a.slice or "overall",
                "observed": a.observed,
                "expected": a.expected,
                "z": round(a.z, 2),
            }  # fmt: skip
            for a in others[:5]
        )
        or choice.contributors
    )
    return Alert(
        **{
            **choice.__dict__,
            "contributors": contributors,
            "related": tuple(a.slice or "overall" for a in others),
        }  # fmt: skip
    )
