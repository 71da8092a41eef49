"""Key metrics of a simulated world next to the simulator's truth (the main job's printout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codex_metrics.lake import SIMULATOR_SOURCE, Lake
from codex_metrics.telemetry.truth import load_truth

__all__ = ["SummaryRow", "summarize_simulation"]


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a measured value beside what the simulator was told or knows."""

    metric: str
    measured: float | None
    truth: float | None
    band: str
    unit: str = ""


def _row(con: Any, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    return () if row is None else tuple(row)


def _one(con: Any, sql: str) -> Any:
    return next(iter(_row(con, sql)), None)


def summarize_simulation(lake: Lake) -> list[SummaryRow]:
    """Measure the headline metrics of the simulated world and put them beside its truth.

    The world is read at the versions its truth records (its rows only), so a simulation that
    is publishing or was killed half way never mixes into the comparison.

    Raises:
        DataNotFoundError: the lake holds no complete simulated run.
    """
    truth = load_truth(lake)
    est = truth["estimands"]
    params = truth["parameters"]
    con = lake.snapshot(sources=[SIMULATOR_SOURCE]).connect()
    sim = "source = 'simulator'"
    rows: list[SummaryRow] = []
    devs = _one(con, f"SELECT count(DISTINCT developer_id) FROM suggestions WHERE {sim}")
    dau = _one(
        con,
        f"SELECT avg(n) FROM (SELECT day, count(DISTINCT developer_id) n FROM suggestions WHERE {sim} AND isodow(day) <= 5 GROUP BY day)",
    )
    rows.append(
        SummaryRow(
            "developers with activity", devs, truth["developers"], "of all simulated developers"
        )
    )
    rows.append(SummaryRow("daily active developers (weekday mean)", dau, None, ""))
    rate = _one(
        con, f"SELECT sum(accepted::INT) / count(*) FROM suggestions WHERE {sim} AND status = 'ok'"
    )
    rows.append(
        SummaryRow(
            "acceptance rate by count",
            rate,
            est["acceptance_rate_expected"],
            "22%-37% published",
            "ratio",
        )
    )
    p50, p90, p99 = _one(
        con,
        f"SELECT quantile_cont(latency_ms, [0.5, 0.9, 0.99]) FROM suggestions WHERE {sim} AND feature = 'code_completion'",
    )
    median_cfg = params["latency.completion_median_ms"]
    rows.append(
        SummaryRow(
            "completion latency P50",
            p50,
            None,
            f"150-500 ms (configured median {median_cfg:g} x factors)",
            "ms",
        )
    )
    rows.append(SummaryRow("completion latency P90", p90, None, "", "ms"))
    rows.append(SummaryRow("completion latency P99", p99, None, "< 3000 ms", "ms"))
    chat_p50 = _one(
        con,
        f"SELECT median(latency_ms) FROM suggestions WHERE {sim} AND feature IN ('chat_panel', 'chat_inline')",
    )
    rows.append(SummaryRow("chat latency P50", chat_p50, None, "seconds", "ms"))
    weekend = _one(
        con,
        f"SELECT avg(n) FILTER (WHERE isodow(day) >= 6) / avg(n) FILTER (WHERE isodow(day) <= 5) "
        f"FROM (SELECT day, count(*) n FROM suggestions WHERE {sim} GROUP BY day)",
    )
    rows.append(
        SummaryRow(
            "weekend / weekday events",
            weekend,
            params["activity.weekend_factor"],
            "well below 1",
            "ratio",
        )
    )
    speed = con.execute(
        f"""SELECT d.experience_level,
                   1 - median(duration_s) FILTER (WHERE with_ai) / median(duration_s) FILTER (WHERE NOT with_ai)
            FROM tasks t JOIN developers d USING (developer_id)
            WHERE t.{sim} AND t.task_kind = 'coding' GROUP BY 1 ORDER BY 1"""
    ).fetchall()
    truth_speed = est["tasks"]["ai_speedup_by_experience"]
    level_truth = {
        "junior": truth_speed["junior (1 y)"],
        "mid": truth_speed["mid (5 y)"],
        "senior": truth_speed["senior (15 y)"],
    }
    for level, measured in speed:
        rows.append(
            SummaryRow(
                f"AI time saved on tasks, {level}",
                measured,
                level_truth.get(level),
                "truth at 1 / 5 / 15 years",
                "ratio",
            )
        )
    sat = _one(con, f"SELECT avg(satisfaction) FROM surveys WHERE {sim}")
    rows.append(SummaryRow("satisfaction (1-5)", sat, None, ""))
    if "ab_test" in est:
        ab = est["ab_test"]
        diff = _one(
            con,
            f"""SELECT sum(s.accepted::INT) FILTER (WHERE a.arm = 'B') / count(*) FILTER (WHERE a.arm = 'B')
                     - sum(s.accepted::INT) FILTER (WHERE a.arm = 'A') / count(*) FILTER (WHERE a.arm = 'A')
                FROM suggestions s JOIN assignments a USING (developer_id)
                JOIN experiments e USING (experiment_id)
                WHERE s.{sim} AND s.status = 'ok' AND s.timestamp >= e.start AND s.timestamp < e."end" """,
        )
        rows.append(
            SummaryRow(
                "A/B pooled acceptance difference (B - A)",
                diff,
                ab["pooled_acceptance_difference"],
                f"lift parameter {params['ab.lift_acceptance']:g} log-odds",
                "ratio",
            )
        )
    if "latency_regression" in est:
        reg = est["latency_regression"]
        day = params["regression.day"]
        before, after = _row(
            con,
            f"""SELECT sum(accepted::INT) FILTER (WHERE day < DATE '{truth["start"]}' + {day}) / count(*) FILTER (WHERE day < DATE '{truth["start"]}' + {day}),
                       sum(accepted::INT) FILTER (WHERE day >= DATE '{truth["start"]}' + {day}) / count(*) FILTER (WHERE day >= DATE '{truth["start"]}' + {day})
                FROM suggestions WHERE {sim} AND status = 'ok'""",
        )
        rows.append(
            SummaryRow(
                "acceptance before the bad deploy",
                before,
                reg["before"]["acceptance_rate"],
                "",
                "ratio",
            )
        )
        rows.append(
            SummaryRow(
                "acceptance after the bad deploy",
                after,
                reg["after"]["acceptance_rate"],
                "",
                "ratio",
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
    con.close()
    return rows
