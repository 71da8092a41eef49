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


def generate_activity(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    block: int,
    ctx: DayContext,
    ids: pa.Array,
) -> dict[str, pa.Table]:
    """Typing, tasks and (on survey days) survey answers of developers ``dev`` on one day."""
    d = ctx.day_index
    adopted = (pop.adopted_day[dev] <= d) & (pop.churned_day[dev] > d)
    tables = {
        "typing": _typing(cfg, pop, dev, block, ctx, ids),
        "tasks": _tasks(cfg, pop, dev, block, ctx, ids, adopted),
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
) -> pa.Table:
    rng = stream_rng(cfg, 4, block, ctx.day_index)
    nd = dev.shape[0]
    counts = np.asarray(
        rng.poisson(cfg["tasks.per_developer_week"] / 5.0 * ctx.activity_factor, nd)
    )
    local, seq = expand(counts)
    n = int(local.shape[0])
    g = dev[local]
    with_ai = adopted[local] & (rng.random(n) < pop.ai_task_share[g])
    agent = with_ai & np.isin(pop.persona[g], [0, 3]) & (rng.random(n) < 0.15)
    exp_years = pop.experience_years[g]
    skill = np.exp(-0.03 * (exp_years - EXPERIENCE_MEAN_YEARS))
    minutes = cfg["tasks.base_minutes"] * skill * np.exp(rng.normal(0, 0.6, n))
    minutes = np.where(with_ai & ~agent, minutes * (1 - speedup(cfg, exp_years)), minutes)
    minutes = np.where(agent, 6.0 * np.exp(rng.normal(0, 0.8, n)), minutes)
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


def satisfaction_latent(
    cfg: SimulationConfig, pop: Population, g: np.ndarray, latency_multiplier: float
) -> np.ndarray:
    """Expected satisfaction (1-5 scale, before noise): higher acceptance, lower latency help."""
    accept = sigmoid(pop.accept_logit[g])
    persona_bonus = np.array([0.35, 0.0, -0.45, 0.1])[pop.persona[g]]
    return (
        3.35
        + 3.0 * (accept - 0.29)
        - 0.9 * np.log2(pop.latency_factor[g] * latency_multiplier)
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
