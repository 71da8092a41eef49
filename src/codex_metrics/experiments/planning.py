"""Planning from the lake: the baseline window, power for a planned test, an A/A check.

What ``ab power`` and ``ab aa-check`` compute, as library calls: the CLI parses and renders.

**Power for a planned duration.** A developer's residual over t days, eᵢ(t) = mᵢ(t) − R·dᵢ(t),
has a between-developer part that grows like t (their habits) and a within-developer part whose
variance grows like t (the luck of their days): Var e(t) = t²·b + t·w. The baseline window's
two halves (h days each) identify both: Cov(e⁽¹⁾, e⁽²⁾) = h²·b and Var e⁽ʰ⁾ = h²·b + h·w. The
delta-method variance per developer over the planned D days is then
v(D) = (D²·b + D·w) / (D·μ_d)², with μ_d each developer's mean denominator per day, so the
answer depends on how long the experiment runs, not on how long the baseline window happened to
be. The developers are those the analysis will count: everyone active in the baseline window,
with zeros on their inactive days (an assigned developer who never shows up still counts).
The default baseline is the planned number of days right before the latest experiment in the
lake (its own treatment period would bias the variance), else the last days with data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np

from codex_metrics.errors import DataNotFoundError, ParameterError
from codex_metrics.experiments.aa import AaResult, aa_false_positive_rate
from codex_metrics.experiments.cuped import AdjustedArm
from codex_metrics.experiments.lake_stats import default_window, window_values
from codex_metrics.experiments.metric_source import cached_developer_sums
from codex_metrics.experiments.power import PowerPlan, check_mde, power_at, required_developers

__all__ = ["PowerFromLake", "aa_check", "analysis_window", "duration_variance", "plan_power"]

DEFAULT_PLANNED_DAYS = 14


def analysis_window(
    con: duckdb.DuckDBPyConnection, since: date | None = None, until: date | None = None
) -> tuple[datetime, datetime]:
    """[start, end) in UTC: the given days (``until`` inclusive), else the last 28 days of data.

    Raises:
        ParameterError: ``since`` is not before ``until``.
        DataNotFoundError: the lake has no suggestions.
    """
    start, end = default_window(con)
    if since is not None:
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    if until is not None:
        end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    if end <= start:
        raise ParameterError("--since", "must be before --until")
    return start, end


def _baseline_window(
    con: duckdb.DuckDBPyConnection, days: int, since: date | None, until: date | None
) -> tuple[datetime, datetime]:
    if since is not None or until is not None:
        return analysis_window(con, since, until)
    first, last = con.execute("SELECT min(day), max(day) FROM suggestions").fetchall()[0]
    if first is None:
        raise DataNotFoundError("the lake has no suggestions; run `codex-metrics simulate` first")
    first_data = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    latest = con.execute("SELECT max(start) FROM experiments").fetchall()[0][0]
    if latest is not None and first_data < latest < end:
        end = datetime(latest.year, latest.month, latest.day, tzinfo=UTC)
    start = max(first_data, end - timedelta(days=days))
    if end - start < timedelta(days=2):
        raise DataNotFoundError(
            f"less than 2 days of data before the latest experiment ({end:%Y-%m-%d}); pass "
            "--since and --until for a baseline window"
        )
    return start, end


@dataclass(frozen=True)
class DurationVariance:
    """Per-developer variance of a ratio metric as a function of the window length.

    Attributes:
        developers: developers active in the baseline window (the planning population).
        ratio: the baseline value R = Σm/Σd.
        denominator_per_day: μ_d, each developer's mean denominator per day.
        between: b, the between-developer variance of residuals per day².
        within: w, the within-developer variance of residuals per day.
        half_days: h, the length of each half of the baseline window.
    """

    developers: int
    ratio: float
    denominator_per_day: float
    between: float
    within: float
    half_days: float

    def variance(self, days: float) -> float:
        """v(D): the delta-method variance per developer over ``days`` days."""
        residual = days * days * max(self.between, 0.0) + days * max(self.within, 0.0)
        return residual / (days * self.denominator_per_day) ** 2

    def baseline(self, days: float) -> AdjustedArm:
        """The metric as a power calculation sees it over ``days`` days."""
        return AdjustedArm(self.developers, self.ratio, self.ratio, self.variance(days))


def _sums(con: duckdb.DuckDBPyConnection, metric: str, start: datetime, end: datetime) -> dict:
    cols = cached_developer_sums(con, metric, start=start, end=end).fetchnumpy()
    ids = np.asarray(cols["developer_id"], dtype=object)
    return {
        d: (m, n)
        for d, m, n in zip(
            ids,
            np.asarray(cols["numerator"], float),
            np.asarray(cols["denominator"], float),
            strict=True,
        )
    }


def duration_variance(
    con: duckdb.DuckDBPyConnection, metric: str, *, start: datetime, end: datetime
) -> DurationVariance:
    """Split [start, end) in two halves and identify b and w (module docstring).

    Raises:
        ParameterError: fewer than 4 active developers, or the metric's denominator is 0.
    """
    middle = start + (end - start) / 2
    first, second = _sums(con, metric, start, middle), _sums(con, metric, middle, end)
    devs = sorted(set(first) | set(second))
    if len(devs) < 4:
        raise ParameterError("--metric", f"{metric}: fewer than 4 active developers to plan with")
    halves = []
    for part in (first, second):
        halves.append(
            np.array([part.get(d, (0.0, 0.0)) for d in devs], dtype=float).reshape(len(devs), 2)
        )
    m = halves[0][:, 0] + halves[1][:, 0]
    d = halves[0][:, 1] + halves[1][:, 1]
    if d.sum() <= 0:
        raise ParameterError("--metric", f"{metric}: its denominator is 0 in the baseline window")
    ratio = float(m.sum() / d.sum())
    e1 = halves[0][:, 0] - ratio * halves[0][:, 1]
    e2 = halves[1][:, 0] - ratio * halves[1][:, 1]
    h = (end - start).total_seconds() / 86400 / 2
    cov = float(np.cov(e1, e2, ddof=1)[0, 1])
    var = float((np.var(e1, ddof=1) + np.var(e2, ddof=1)) / 2)
    return DurationVariance(
        len(devs), ratio, float(d.mean()) / (2 * h), cov / h**2, (var - cov) / h, h
    )


@dataclass(frozen=True)
class PowerFromLake:
    """A power calculation and the lake window its baseline came from."""

    metric: str
    plan: PowerPlan
    developers_in_window: int
    start: datetime
    end: datetime
    planned_days: int = DEFAULT_PLANNED_DAYS

    def describe(self) -> str:
        """One sentence for people."""
        p = self.plan
        return (
            f"{self.metric}: baseline {p.baseline:.4g} over {self.developers_in_window:,} "
            f"developers ({self.start:%Y-%m-%d} to {self.end - timedelta(days=1):%Y-%m-%d}); to "
            f"detect {p.relative_mde:+.1%} in a {self.planned_days}-day experiment at alpha "
            f"{p.alpha}: {p.developers:,} developers in total give power {p.power:.3f} "
            "(assigned developers, counted whether active or not, as the analysis counts them)"
        )


def plan_power(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    relative_mde: float,
    power: float = 0.8,
    developers: int | None = None,
    alpha: float = 0.05,
    treatment_share: float = 0.5,
    variance_reduction: float = 0.0,
    days: int = DEFAULT_PLANNED_DAYS,
    since: date | None = None,
    until: date | None = None,
) -> PowerFromLake:
    """Developers needed for ``power`` (or the power at ``developers``) in a ``days``-day test.

    Raises:
        ParameterError: an argument is out of range (``relative_mde`` is a fraction: 0.02 for
            +2%), or the baseline has too few developers.
        DataNotFoundError: no baseline window before the latest experiment.
    """
    check_mde(relative_mde)
    if days < 1:
        raise ParameterError("--days", f"must be at least 1, got {days}")
    start, end = _baseline_window(con, days, since, until)
    model = duration_variance(con, metric, start=start, end=end)
    baseline = model.baseline(days)
    common = {
        "relative_mde": relative_mde,
        "alpha": alpha,
        "treatment_share": treatment_share,
        "variance_reduction": variance_reduction,
    }
    if developers is None:
        plan = required_developers(baseline, power=power, **common)
    else:
        plan = power_at(baseline, developers=developers, **common)
    return PowerFromLake(metric, plan, model.developers, start, end, days)


def aa_check(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    *,
    replicates: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    since: date | None = None,
    until: date | None = None,
) -> AaResult:
    """A/A simulation on the lake's own developers over the window."""
    start, end = analysis_window(con, since, until)
    return aa_false_positive_rate(
        *window_values(con, metric, start=start, end=end),
        replicates=replicates,
        alpha=alpha,
        seed=seed,
    )
