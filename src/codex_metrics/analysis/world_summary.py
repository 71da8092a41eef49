"""Key metrics of a simulated world next to its truth (``codex-metrics summary``).

Every measured value comes from the metric catalogue (``compute_metric`` over the simulated
world's snapshot, grain ``all`` for the whole window), so the summary checks the same
definitions users read. The one check no product metric covers (the AI speed-up by experience
level, a median over tasks joined with developers) is a calibration check, named as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from codex_metrics.lake import SIMULATOR_SOURCE, Lake, LakeSnapshot
from codex_metrics.metrics import compute_metric
from codex_metrics.telemetry.truth import load_truth

__all__ = ["SummaryRow", "summarize_simulation"]


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a measured value beside what the simulator was told or knows.

    Attributes:
        metric: what is measured, in words.
        measured: the value read from the lake.
        truth: the simulator's truth or configured value (``None``: none to compare with).
        band: the published or configured reference.
        unit: ratio, ms or empty.
        catalogue: the catalogue metric that measured it; ``None`` for a calibration check
            that no product metric covers (or a truth-only line).
    """

    metric: str
    measured: float | None
    truth: float | None
    band: str
    unit: str = ""
    catalogue: str | None = None


def _whole(snapshot: LakeSnapshot, name: str, **kwargs: Any) -> float | None:
    """The metric over the whole window (or the given one), one value."""
    rows = compute_metric(name, snapshot, grain="all", **kwargs).records()
    values = [r["value"] for r in rows if r["value"] is not None]
    return float(values[0]) if len(values) == 1 else None


def _by(snapshot: LakeSnapshot, name: str, dim: str, **kwargs: Any) -> dict[str, float]:
    rows = compute_metric(name, snapshot, grain="all", by=[dim], **kwargs).records()
    return {r[dim]: float(r["value"]) for r in rows if r["value"] is not None}


def _daily(snapshot: LakeSnapshot, name: str) -> dict[date, float]:
    rows = compute_metric(name, snapshot, grain="day").records()
    return {
        date.fromisoformat(r["period"]): float(r["value"]) for r in rows if r["value"] is not None
    }


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_simulation(lake: Lake) -> list[SummaryRow]:
    """Measure the headline metrics of the simulated world and put them beside its truth.

    The world is read at the versions its truth records (its rows only), so a simulation that
    is publishing or was killed half way never mixes into the comparison.

    Raises:
        DataNotFoundError: the lake holds no complete simulated run.
    """
    truth = load_truth(lake)
    est, params = truth["estimands"], truth["parameters"]
    snap = lake.snapshot(sources=[SIMULATOR_SOURCE])
    completion = {"feature": ["code_completion"]}
    rows = [
        SummaryRow(
            "developers with activity",
            _whole(snap, "active_users"),
            truth["developers"],
            "of all simulated developers",
            catalogue="active_users",
        )
    ]
    dau = _daily(snap, "daily_active_users")
    rows.append(
        SummaryRow(
            "daily active developers (weekday mean)",
            _mean([v for d, v in dau.items() if d.isoweekday() <= 5]),
            None,
            "",
            catalogue="daily_active_users",
        )
    )
    rows.append(
        SummaryRow(
            "acceptance rate by count",
            _whole(snap, "acceptance_rate_by_count"),
            est["acceptance_rate_expected"],
            "22%-37% published",
            "ratio",
            "acceptance_rate_by_count",
        )
    )
    median_cfg = params["latency.completion_median_ms"]
    for p, band in (
        (50, f"150-500 ms (configured median {median_cfg:g} x factors)"),
        (90, ""),
        (99, "< 3000 ms"),
    ):
        rows.append(
            SummaryRow(
                f"completion latency P{p}",
                _whole(snap, f"latency_p{p}_ms", filters=completion),
                None,
                band,
                "ms",
                f"latency_p{p}_ms",
            )
        )
    rows.append(
        SummaryRow(
            "chat latency P50",
            _whole(snap, "latency_p50_ms", filters={"feature": ["chat_panel", "chat_inline"]}),
            None,
            "seconds",
            "ms",
            "latency_p50_ms",
        )
    )
    served = _daily(snap, "requests_served")
    weekday = _mean([v for d, v in served.items() if d.isoweekday() <= 5])
    weekend = _mean([v for d, v in served.items() if d.isoweekday() >= 6])
    rows.append(
        SummaryRow(
            "weekend / weekday requests",
            weekend / weekday if weekend is not None and weekday else None,
            params["activity.weekend_factor"],
            "well below 1",
            "ratio",
            "requests_served",
        )
    )
    rows += _speedup_calibration(snap, est)
    rows.append(
        SummaryRow(
            "satisfaction (1-5)",
            _whole(snap, "satisfaction_mean"),
            None,
            "",
            catalogue="satisfaction_mean",
        )
    )
    rows += _scenario_rows(snap, truth)
    return rows


def _speedup_calibration(snap: LakeSnapshot, est: dict[str, Any]) -> list[SummaryRow]:
    """AI time saved on coding tasks by experience level (a calibration check)."""
    con = snap.connect()
    measured = con.execute(
        """SELECT d.experience_level,
                  1 - median(duration_s) FILTER (WHERE with_ai)
                      / median(duration_s) FILTER (WHERE NOT with_ai)
           FROM tasks t JOIN developers d USING (developer_id)
           WHERE t.task_kind = 'coding' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    truth = est["tasks"]["ai_speedup_by_experience"]
    at_level = {
        "junior": truth["junior (1 y)"],
        "mid": truth["mid (5 y)"],
        "senior": truth["senior (15 y)"],
    }
    return [
        SummaryRow(
            f"AI time saved on tasks, {level} (median)",
            value,
            at_level.get(level),
            "truth at 1 / 5 / 15 years",
            "ratio",
        )
        for level, value in measured
    ]


def _scenario_rows(snap: LakeSnapshot, truth: dict[str, Any]) -> list[SummaryRow]:
    est, params = truth["estimands"], truth["parameters"]
    rows: list[SummaryRow] = []
    start = date.fromisoformat(truth["start"][:10])
    last = start + timedelta(days=int(truth["days"]) - 1)
    if "ab_test" in est:
        ab_start = start + timedelta(days=int(params["ab.pre_days"]))
        by_arm = _by(
            snap,
            "acceptance_rate_by_count",
            "arm",
            since=ab_start,
            until=last,
            filters={"experiment": ["exp-model-b-vs-a"]},
        )
        diff = by_arm["B"] - by_arm["A"] if {"A", "B"} <= set(by_arm) else None
        rows.append(
            SummaryRow(
                "A/B pooled acceptance difference (B - A)",
                diff,
                est["ab_test"]["pooled_acceptance_difference"],
                f"lift parameter {params['ab.lift_acceptance']:g} log-odds",
                "ratio",
                "acceptance_rate_by_count",
            )
        )
    if "latency_regression" in est:
        reg = est["latency_regression"]
        change = start + timedelta(days=int(params["regression.day"]))
        for label, since, until, period in (
            ("before", start, change - timedelta(days=1), "before"),
            ("after", change, last, "after"),
        ):
            rows.append(
                SummaryRow(
                    f"acceptance {label} the bad deploy",
                    _whole(snap, "acceptance_rate_by_count", since=since, until=until),
                    reg[period]["acceptance_rate"],
                    "",
                    "ratio",
                    "acceptance_rate_by_count",
                )
            )
    if "rollout" in est:
        ro = est["rollout"]
        rows.append(
            SummaryRow(
                "adopters' mean experience (years)",
                None,
                ro["adopters_mean_experience_years"],
                "juniors adopt first",
            )
        )
        rows.append(
            SummaryRow(
                "non-adopters' mean experience (years)",
                None,
                ro["non_adopters_mean_experience_years"],
                "",
            )
        )
    return rows
