"""Rows a simulation run writes besides the daily events, and its part of the truth.

Developers, seats and assignments once per developer, team membership per day, the experiment
once per run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from codex_metrics.lake.schema import EDITORS, LANGUAGES
from codex_metrics.telemetry._activity import (
    DAYS_PER_WEEK,
    SATISFACTION_PER_LATENCY_DOUBLING,
    speedup,
)
from codex_metrics.telemetry._events import (
    US_PER_DAY,
    TruthSums,
    dictionary,
    org_column,
    org_names,
    timestamps,
    utc_micros,
)
from codex_metrics.telemetry.personas import EXPERIENCE_MEAN_YEARS, NEVER, PERSONAS, Population
from codex_metrics.telemetry.scenarios import SimulationConfig, arm_weights

EXPERIMENT_ID = "exp-model-b-vs-a"
THREE_ARM_EXPERIMENT_ID = "exp-models-b-c-vs-a"


def experiment_id_for(cfg: SimulationConfig) -> str:
    """The id of the experiment a scenario writes."""
    return THREE_ARM_EXPERIMENT_ID if cfg.has("ab3") else EXPERIMENT_ID


def team_rows(
    cfg: SimulationConfig, pop: Population, dev: np.ndarray, d: int, ids: list[str]
) -> pa.Table:
    local = np.arange(dev.shape[0])
    primary = np.where(pop.team_switch_day[dev] <= d, pop.switch_team[dev], pop.team[dev])
    second = pop.second_team[dev]
    has_second = (second >= 0) & (second != primary)
    rows = np.concatenate([local, local[has_second]])
    team = np.concatenate([primary, second[has_second]])
    teams_per_org = pop.teams_per_org
    org = team // teams_per_org
    names = (
        pa.array(
            [
                f"team-{t // teams_per_org:03d}-{t % teams_per_org:03d}"
                for t in range(int(team.max()) + 1)
            ]
        )
        if team.size
        else pa.array([], pa.string())
    )
    return pa.table(
        {
            "developer_id": dictionary(rows, ids),
            "team": pa.DictionaryArray.from_arrays(pa.array(team.astype(np.int32)), names),
            "org": org_column(cfg, org),
        }
    )


def whole_tables(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    last_us: np.ndarray,
    arms: np.ndarray | None,
    first: bool,
) -> dict[str, pa.Table]:
    ids = pop.developer_ids(dev)
    start_us = utc_micros(cfg.start)
    day_us = US_PER_DAY
    orgs = org_names(cfg)
    adopted, churned = pop.adopted_day[dev], pop.churned_day[dev]
    ever = adopted < NEVER
    exp = pop.experience_years[dev]
    level = np.where(exp < 3, 0, np.where(exp <= 8, 1, 2))
    out = {
        "developers": pa.table(
            {
                "developer_id": ids,
                "org": dictionary(pop.org[dev], orgs),
                "experience_years": np.round(exp, 2),
                "experience_level": dictionary(level, ["junior", "mid", "senior"]),
                "primary_language": dictionary(pop.language[dev], LANGUAGES),
                "editor": dictionary(pop.editor[dev], EDITORS),
                "plan": dictionary(
                    pop.plan_enterprise[dev].astype(np.int8), ["business", "enterprise"]
                ),
                "adopted_at": pa.array(
                    np.where(ever, start_us + adopted * day_us, 0), mask=~ever
                ).cast(pa.timestamp("us", tz="UTC")),
                "churned_at": pa.array(
                    np.where(churned < NEVER, start_us + churned * day_us, 0), mask=churned >= NEVER
                ).cast(pa.timestamp("us", tz="UTC")),
                "persona": dictionary(pop.persona[dev], [p.name for p in PERSONAS]),
            }
        )
    }
    # Seats: every adopter, and a fifth of the others (bought but never used).
    # Per-developer draws from one stream over everybody, so partitions agree with a single run.
    rng = np.random.default_rng([cfg.seed, 7])
    seat_u, lead_days, unused_days = (
        rng.random(pop.size)[dev],
        rng.integers(0, 30, pop.size)[dev],
        rng.integers(0, 90, pop.size)[dev],
    )
    seated = ever | (seat_u < 0.2)
    assigned = np.where(
        ever,
        np.minimum(adopted, 0) * day_us + start_us - lead_days * day_us,
        start_us - unused_days * day_us,
    )
    out["seats"] = pa.table(
        {
            "developer_id": pa.array(ids).filter(pa.array(seated)),
            "org": dictionary(pop.org[dev][seated], orgs),
            "assigned_at": timestamps(assigned[seated]),
            "last_activity_at": pa.array(last_us[seated], mask=last_us[seated] < 0).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "plan": dictionary(
                pop.plan_enterprise[dev][seated].astype(np.int8), ["business", "enterprise"]
            ),
        }
    )
    if arms is not None:
        in_exp = arms[dev] >= 0
        arm = arms[dev]
        logged = in_exp.copy()
        bug = cfg["ab.srm_bug"]
        if bug > 0:
            lost = np.random.default_rng([cfg.seed, 8]).random(pop.size)[dev] < bug
            logged &= ~((arm == 1) & lost)
        exp_start = start_us + cfg.integer("ab.pre_days") * day_us
        names = ["A", "B", "C"][: len(arm_weights(cfg))]
        out["assignments"] = pa.table(
            {
                "experiment_id": pa.array(
                    [experiment_id_for(cfg)] * int(logged.sum()), pa.string()
                ),
                "developer_id": pa.array(ids).filter(pa.array(logged)),
                "arm": dictionary(arm[logged], names),
                "assigned_at": timestamps(np.full(int(logged.sum()), exp_start)),
            }
        )
        if first:
            out["experiments"] = experiment_row(cfg, int((arms >= 0).sum()))
    return out


def experiment_row(cfg: SimulationConfig, planned: int) -> pa.Table:
    day_us = US_PER_DAY
    start_us = utc_micros(cfg.start)
    weights = arm_weights(cfg)
    models = [cfg.text("ab.model_a"), cfg.text("ab.model_b")]
    if len(weights) == 3:
        models.append(cfg.text("ab3.model_c"))
    return pa.table(
        {
            "experiment_id": [experiment_id_for(cfg)],
            "description": [f"{' and '.join(models[1:])} vs {models[0]} (simulated)"],
            "arms": [
                [
                    {"arm": name, "model_version": model, "weight": w}
                    for name, model, w in zip("ABC", models, weights, strict=False)
                ]
            ],
            "pre_period_start": timestamps(np.array([start_us])),
            "start": timestamps(np.array([start_us + cfg.integer("ab.pre_days") * day_us])),
            "end": timestamps(np.array([start_us + cfg.days * day_us])),
            "primary_metrics": [["acceptance_rate_by_count"]],
            "guardrail_metrics": [
                [
                    {"metric": "latency_mean_ms", "margin": 0.05},
                    {"metric": "latency_p90_ms", "margin": 0.05},
                    {"metric": "error_rate", "margin": 0.10},
                ]
            ],
            "secondary_metrics": [
                [
                    "acceptance_rate_by_lines",
                    "edit_distance_mean",
                    "persistence_rate_10m",
                    "post_accept_failure_rate",
                ]
            ],
            "planned_developers": [planned],
            # P90 latency is judged on code completions, the feature developers wait on.
            "metric_filters": [
                [{"metric": "latency_p90_ms", "dimension": "feature", "value": "code_completion"}]
            ],
        }
    )


def truth_part(
    cfg: SimulationConfig, pop: Population, mine: np.ndarray, run_id: str, sums: TruthSums
) -> dict[str, Any]:
    ids = np.array(pop.developer_ids(mine), dtype=object)
    members = {p.name: sorted(ids[pop.persona[mine] == k].tolist()) for k, p in enumerate(PERSONAS)}
    exp = pop.experience_years[mine]
    adopter = pop.adopted_day[mine] < NEVER
    levels = {
        "junior (1 y)": 1.0,
        "mid (5 y)": 5.0,
        "mean (7 y)": EXPERIENCE_MEAN_YEARS,
        "senior (15 y)": 15.0,
    }
    part: dict[str, Any] = {
        "run_id": run_id,
        "scenario": cfg.scenario,
        "developers": cfg.developers,
        "days": cfg.days,
        "seed": cfg.seed,
        "start": cfg.start.isoformat(),
        "parameters": dict(cfg.items()),
        "personas": [p.name for p in PERSONAS],
        "persona_definitions": {
            p.name: {
                "share": p.share,
                "activity": p.activity,
                "accept_logit": p.accept_logit,
                "chat_share": p.chat_share,
            }
            for p in PERSONAS
        },
        "persona_members": members,
        "sums": sums.values,
        "tasks": {
            "ai_speedup_by_experience": {
                k: float(speedup(cfg, np.array([v]))[0]) for k, v in levels.items()
            },
            "speedup_per_year": cfg["tasks.speedup_per_year"],
            # Coding tasks (not agent tasks): log(1 - speed-up), the log-duration effect.
            "log_effect_by_experience_years": {
                str(int(v)): float(np.log1p(-speedup(cfg, np.array([v]))[0]))
                for v in (1.0, 5.0, 15.0)
            },
        },
        "latency_slopes": {
            "acceptance_log_odds_per_doubling": cfg["acceptance.latency_effect"],
            "satisfaction_per_doubling": SATISFACTION_PER_LATENCY_DOUBLING,
        },
        "arrays": {
            k: sums.arrays[k].tolist()
            for k in ("oracle_accepted", "oracle_rejected")
            if k in sums.arrays
        },
    }
    if "week_itt" in sums.arrays:
        part["adoption_sums"] = _adoption_sums(cfg, pop, mine, sums)
    if cfg.has("rollout"):
        part["experience_sums"] = {
            "adopters_sum": float(exp[adopter].sum()),
            "adopters_n": float(adopter.sum()),
            "non_adopters_sum": float(exp[~adopter].sum()),
            "non_adopters_n": float((~adopter).sum()),
        }
    return part


def _adoption_sums(
    cfg: SimulationConfig, pop: Population, mine: np.ndarray, sums: TruthSums
) -> dict[str, float]:
    """Sums of developer-week adoption effects by weeks since adoption (additive over parts).

    Developers who adopted after the first week of the window (so with a week before
    adoption to compare with), every week from their adoption week on in which they did a
    task; a developer-week's effect is the mean over its tasks of the intention-to-treat
    effect on log duration.
    """
    itt = sums.arrays["week_itt"][mine]
    tasks = sums.arrays["week_tasks"][mine]
    adopted = pop.adopted_day[mine]
    cohort = adopted // DAYS_PER_WEEK
    in_window = (adopted >= DAYS_PER_WEEK) & (adopted < cfg.days)
    out: dict[str, float] = {}
    for week in range(itt.shape[1]):
        event = week - cohort
        use = in_window & (event >= 0) & (tasks[:, week] > 0)
        for e in np.unique(event[use]):
            rows = use & (event == e)
            mean = itt[rows, week] / tasks[rows, week]
            out[f"sum_e{int(e)}"] = out.get(f"sum_e{int(e)}", 0.0) + float(mean.sum())
            out[f"n_e{int(e)}"] = out.get(f"n_e{int(e)}", 0.0) + float(rows.sum())
    return out
