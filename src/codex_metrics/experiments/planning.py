"""Planning from the lake: the analysis window, power for a planned test, an A/A check.

What ``ab power`` and ``ab aa-check`` compute, as library calls: the CLI parses and renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.aa import AaResult, aa_false_positive_rate
from codex_metrics.experiments.lake_stats import default_window, window_values
from codex_metrics.experiments.power import PowerPlan, power_at, required_developers
from codex_metrics.experiments.sufficient_stats import RatioStats

__all__ = ["PowerFromLake", "aa_check", "analysis_window", "plan_power"]


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


@dataclass(frozen=True)
class PowerFromLake:
    """A power calculation and the lake window its baseline came from."""

    metric: str
    plan: PowerPlan
    developers_in_window: int
    start: datetime
    end: datetime

    def describe(self) -> str:
        """One sentence for people."""
        p = self.plan
        return (
            f"{self.metric}: baseline {p.baseline:.4g} over {self.developers_in_window:,} "
            f"developers ({self.start:%Y-%m-%d} to {self.end - timedelta(days=1):%Y-%m-%d}); to "
            f"detect {p.relative_mde:+.1%} at alpha {p.alpha}: {p.developers:,} developers in "
            f"total give power {p.power:.3f}"
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
    since: date | None = None,
    until: date | None = None,
) -> PowerFromLake:
    """Developers needed for ``power`` (or the power at ``developers``), from the lake's variance."""
    start, end = analysis_window(con, since, until)
    baseline = RatioStats.from_arrays(*window_values(con, metric, start=start, end=end))
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
    return PowerFromLake(metric, plan, baseline.n, start, end)


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
