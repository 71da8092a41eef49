"""Developer activity besides suggestions, per (block of developers, day): typing, tasks, surveys.

Seeded like the suggestions (by seed, stream, block and day), so partitions agree with a run.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from codex_metrics.lake.schema import TASK_OUTCOMES
from codex_metrics.telemetry._events import (
    DayContext,
    TruthSums,
    dictionary,
    expand,
    org_column,
    sigmoid,
    stream_rng,
    timestamps,
    utc_micros,
)
from codex_metrics.telemetry.personas import EXPERIENCE_MEAN_YEARS, Population
from codex_metrics.telemetry.scenarios import SimulationConfig

SURVEY_EVERY_DAYS = 14
SURVEY_OFFSET_DAYS = 3
#: Change of expected satisfaction (1-5) per doubling of a developer's latency.
SATISFACTION_PER_LATENCY_DOUBLING = -0.9
#: Weeks of the adoption effect's truth: 7-day blocks from the first simulated day.
DAYS_PER_WEEK = 7


def generate_activity(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    block: int,
    ctx: DayContext,
    ids: pa.Array,
    truth: TruthSums | None = None,
) -> dict[str, pa.Table]:
    """Typing, tasks and (on survey days) survey answers of developers ``dev`` on one day.

    With ``truth``, the tasks' potential outcomes (with and without AI) are added to it.
    """
    d = ctx.day_index
    adopted = (pop.adopted_day[dev] <= d) & (pop.churned_day[dev] > d)
    tables = {
        "typing": _typing(cfg, pop, dev, block, ctx, ids),
        "tasks": _tasks(cfg, pop, dev, block, ctx, ids, adopted, truth),
    }
    if _is_survey_day(d):
        tables["surveys"] = _surveys(cfg, pop, dev, block, ctx, ids, adopted)
    return tables


def _is_survey_day(day_index: int) -> bool:
    return day_index % SURVEY_EVERY_DAYS == SURVEY_OFFSET_DAYS


def _typing(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    block: int,
    ctx: DayContext,
    ids: pa.Array,
) -> pa.Table:
    rng = stream_rng(cfg, 3, block, ctx.day_index)
    nd = dev.shape[0]
    working = rng.random(nd) < 0.85 * ctx.activity_factor
    local = np.flatnonzero(working)
    chars = rng.poisson(pop.typing_rate[dev[local]])
    return pa.table(
        {
            "developer_id": dictionary(local, ids),
            "org": org_column(cfg, pop.org[dev[local]]),
            "chars_typed": chars.astype(np.int64),
            "lines_typed": (chars // 38).astype(np.int64),
        }
    )


def speedup(cfg: SimulationConfig, experience_years: np.ndarray) -> np.ndarray:
    """True relative time saved with AI for developers of this experience."""
    s = cfg["tasks.ai_speedup"] + cfg["tasks.speedup_per_year"] * (
        experience_years - EXPERIENCE_MEAN_YEARS
    )
    return np.clip(s, -0.9, 0.9)


def _tasks(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    block: int,
    ctx: DayContext,
    ids: pa.Array,
    adopted: np.ndarray,
    truth: TruthSums | None = None,
) -> pa.Table:
    rng = stream_rng(cfg, 4, block, ctx.day_index)
    nd = dev.shape[0]
    counts = np.asarray(
        rng.poisson(cfg["tasks.per_developer_week"] / 5.0 * ctx.activity_factor, nd)
    )
    local, seq = expand(counts)
    n = int(local.shape[0])
    g = dev[local]
    # Every draw covers all n tasks, so both potential outcomes of each task are known.
    uses_ai_once_adopted = rng.random(n) < pop.ai_task_share[g]
    with_ai = adopted[local] & uses_ai_once_adopted
    agent_with_ai = np.isin(pop.persona[g], [0, 3]) & (rng.random(n) < 0.15)
    agent = with_ai & agent_with_ai
    exp_years = pop.experience_years[g]
    skill = np.exp(-0.03 * (exp_years - EXPERIENCE_MEAN_YEARS))
    minutes_without_ai = cfg["tasks.base_minutes"] * skill * np.exp(rng.normal(0, 0.6, n))
    agent_minutes = 6.0 * np.exp(rng.normal(0, 0.8, n))
    minutes_with_ai = np.where(
        agent_with_ai, agent_minutes, minutes_without_ai * (1 - speedup(cfg, exp_years))
    )
    minutes = np.where(with_ai, minutes_with_ai, minutes_without_ai)
    if truth is not None:
        _add_task_truth(
            cfg, truth, ctx.day_index, g, adopted[local], uses_ai_once_adopted, with_ai,
            minutes_with_ai, minutes_without_ai,
        )  # fmt: skip
    probs = np.where(agent[:, None], [0.62, 0.20, 0.12, 0.06], [0.80, 0.14, 0.04, 0.02])
    probs[:, 0] += np.where(with_ai & ~agent, 0.03, 0.0)
    probs[:, 1] -= np.where(with_ai & ~agent, 0.03, 0.0)
    outcome = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, 3)
    total = rng.integers(5, 31, n).astype(np.int32)
    passed = np.where(outcome == 0, total, rng.binomial(total, 0.6)).astype(np.int32)
    start_us = utc_micros(ctx.day) + (np.clip(rng.normal(12.5, 2.5, n), 0, 23.9) * 3.6e9).astype(
        np.int64
    )
    if ctx.arm_of_developer is not None and ctx.in_experiment:
        model_idx = np.where(ctx.arm_of_developer[local] == 1, 1, 0)
    else:
        model_idx = np.zeros(n, dtype=np.int64)
    model = pa.array(np.asarray(ctx.models.names, dtype=object)[model_idx], pa.string())
    model = pc.if_else(pa.array(with_ai), model, pa.scalar(None, pa.string()))
    return pa.table(
        {
            "task_id": (g.astype(np.int64) << 37)
            | (np.int64(ctx.day_index) << 23)
            | seq.astype(np.int64),
            "developer_id": dictionary(local, ids),
            "org": org_column(cfg, pop.org[g]),
            "started_at": timestamps(start_us),
            "task_kind": dictionary(agent.astype(np.int8), ["coding", "agent"]),
            "with_ai": with_ai,
            "model_version": model,
            "duration_s": np.round(minutes * 60.0, 1),
            "outcome": dictionary(outcome, TASK_OUTCOMES),
            "tests_passed": passed,
            "tests_total": total,
        }
    )


def _add_task_truth(
    cfg: SimulationConfig,
    truth: TruthSums,
    day_index: int,
    g: np.ndarray,
    adopted: np.ndarray,
    uses_ai_once_adopted: np.ndarray,
    with_ai: np.ndarray,
    minutes_with_ai: np.ndarray,
    minutes_without_ai: np.ndarray,
) -> None:
    """Sums of the tasks' individual effects: task level (ATE, ATT) and per developer-week.

    The developer-week sums hold the intention-to-treat effect of adoption: a task of an
    adopted developer gets the assistant's effect only when it is one of the tasks done with it.
    """
    log_effect = np.log(minutes_with_ai) - np.log(minutes_without_ai)
    minutes_effect = minutes_with_ai - minutes_without_ai
    truth.add("tasks_n", g.shape[0])
    truth.add("tasks_log_effect_sum", log_effect.sum())
    truth.add("tasks_minutes_effect_sum", minutes_effect.sum())
    truth.add("tasks_treated_n", with_ai.sum())
    truth.add("tasks_treated_log_effect_sum", log_effect[with_ai].sum())
    truth.add("tasks_treated_minutes_effect_sum", minutes_effect[with_ai].sum())
    if not cfg.has("rollout"):
        return
    weeks = -(-cfg.days // DAYS_PER_WEEK)
    week = day_index // DAYS_PER_WEEK
    itt = np.where(adopted & uses_ai_once_adopted, log_effect, 0.0)
    for key, values in (("week_itt", itt), ("week_tasks", np.ones_like(itt))):
        if key not in truth.arrays:
            truth.arrays[key] = np.zeros((cfg.developers, weeks))
        np.add.at(truth.arrays[key][:, week], g, values)


def satisfaction_latent(
    cfg: SimulationConfig, pop: Population, g: np.ndarray, latency_multiplier: float
) -> np.ndarray:
    """Expected satisfaction (1-5 scale, before noise): higher acceptance, lower latency help."""
    accept = sigmoid(pop.accept_logit[g])
    persona_bonus = np.array([0.35, 0.0, -0.45, 0.1])[pop.persona[g]]
    return (
        3.35
        + 3.0 * (accept - 0.29)
        + SATISFACTION_PER_LATENCY_DOUBLING * np.log2(pop.latency_factor[g] * latency_multiplier)
        + persona_bonus
    )


def _surveys(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    block: int,
    ctx: DayContext,
    ids: pa.Array,
    adopted: np.ndarray,
) -> pa.Table:
    rng = stream_rng(cfg, 5, block, ctx.day_index)
    nd = dev.shape[0]
    local = np.flatnonzero(adopted & (rng.random(nd) < cfg["surveys.response_rate"]))
    g = dev[local]
    n = int(local.shape[0])
    s = satisfaction_latent(cfg, pop, g, float(ctx.latency_multiplier.max())) + rng.normal(
        0, 0.7, n
    )

    def likert(x: np.ndarray) -> np.ndarray:
        return np.clip(np.round(x), 1, 5).astype(np.int32)

    return pa.table(
        {
            "response_id": (g.astype(np.int64) << 37) | (np.int64(ctx.day_index) << 23),
            "developer_id": dictionary(local, ids),
            "org": org_column(cfg, pop.org[g]),
            "submitted_at": timestamps(
                utc_micros(ctx.day) + rng.integers(8, 18, n) * 3_600_000_000
            ),
            "satisfaction": likert(s),
            "nps": np.clip(np.round(2.2 * s - 1.0 + rng.normal(0, 1.2, n)), 0, 10).astype(np.int32),
            "perceived_productivity": likert(s + 0.2 + rng.normal(0, 0.6, n)),
            "flow": likert(s - 0.1 + rng.normal(0, 0.7, n)),
            "ease_of_use": likert(s + 0.3 + rng.normal(0, 0.6, n)),
            "trust": likert(s - 0.4 + rng.normal(0, 0.7, n)),
            "frustration": likert(6.0 - s + rng.normal(0, 0.8, n)),
        }
    )
