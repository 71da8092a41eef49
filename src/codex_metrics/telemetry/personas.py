"""Developers: latent personas and the population drawn from them.

A persona sets the typical activity, acceptance propensity and feature mix; each developer then
gets individual draws around it, so personas overlap but stay recoverable by clustering
per-developer behaviour (a test checks this).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from codex_metrics.lake.schema import EDITORS, LANGUAGES
from codex_metrics.telemetry.scenarios import SimulationConfig

__all__ = ["PERSONAS", "Persona", "Population", "draw_population"]


@dataclass(frozen=True)
class Persona:
    """Typical behaviour of a group of developers."""

    name: str
    share: float
    activity: float  # suggestions per active day, relative to activity.events_per_day
    active_prob: float  # probability of using the assistant on a working day
    accept_logit: float  # acceptance log-odds offset
    chat_share: float  # share of events that are chat / agent / cli rather than completions
    ai_task_share: float  # share of tasks done with the assistant once adopted


PERSONAS: tuple[Persona, ...] = (
    Persona("power_user", 0.20, 2.2, 0.92, 0.55, 0.22, 0.92),
    Persona("occasional", 0.35, 0.55, 0.45, 0.0, 0.18, 0.45),
    Persona("sceptic", 0.25, 0.45, 0.60, -0.85, 0.08, 0.25),
    Persona("chat_first", 0.20, 0.75, 0.78, 0.15, 0.62, 0.80),
)

LANGUAGE_MIX = np.array([0.30, 0.20, 0.14, 0.12, 0.08, 0.07, 0.04, 0.03, 0.02])
EDITOR_MIX = np.array([0.62, 0.25, 0.07, 0.06])
# Feature split of chat-like events: chat_inline, chat_panel, agent_edit, cli.
CHAT_SPLIT = np.array([0.36, 0.38, 0.16, 0.10])
EXPERIENCE_MEAN_YEARS = 7.0

assert abs(LANGUAGE_MIX.sum() - 1) < 1e-9 and len(LANGUAGE_MIX) == len(LANGUAGES)
assert abs(EDITOR_MIX.sum() - 1) < 1e-9 and len(EDITOR_MIX) == len(EDITORS)


@dataclass(frozen=True)
class Population:
    """Per-developer parameters, one array entry per developer (index = developer number)."""

    persona: np.ndarray  # int8 index into PERSONAS
    org: np.ndarray  # int16
    experience_years: np.ndarray
    language: np.ndarray  # int8 index into LANGUAGES
    editor: np.ndarray  # int8 index into EDITORS
    plan_enterprise: np.ndarray  # bool
    accept_logit: np.ndarray  # persona offset + individual draw
    activity: np.ndarray  # expected suggestions per active day
    active_prob: np.ndarray
    feature_cdf: np.ndarray  # (n, 5) cumulative feature probabilities
    latency_factor: np.ndarray  # network/region multiplier on latency
    typing_rate: np.ndarray  # characters typed per active day
    ai_task_share: np.ndarray
    adopted_day: np.ndarray  # day index of adoption (negative: before start; large: never)
    churned_day: np.ndarray  # day index of churn (large: never)
    team: np.ndarray  # int32 primary team
    second_team: np.ndarray  # int32, -1 when none
    team_switch_day: np.ndarray  # day index the primary team changes (large: never)
    switch_team: np.ndarray  # int32 team after the switch
    teams_per_org: int  # team t belongs to org t // teams_per_org

    @property
    def size(self) -> int:
        """Number of developers."""
        return int(self.persona.shape[0])

    def developer_ids(self, idx: np.ndarray) -> list[str]:
        """Pseudonymous ids of developers ``idx``."""
        return [f"dev-{i:07d}" for i in idx]


NEVER = 1_000_000


def _adoption_days(
    cfg: SimulationConfig, rng: np.random.Generator, exp_years: np.ndarray
) -> np.ndarray:
    n, days = cfg.developers, cfg.days
    adopted = np.full(n, NEVER, dtype=np.int64)
    if cfg.has("rollout"):
        z = exp_years - EXPERIENCE_MEAN_YEARS
        effect = cfg["rollout.experience_effect"]
        # Adoption propensity by experience; initial and final shares hold on average.
        final = np.clip(cfg["rollout.final_share"], 1e-6, 1 - 1e-6)
        base = np.log(final / (1 - final))
        p_final = 1 / (1 + np.exp(-(base + effect * z)))
        initial = cfg["rollout.initial_share"] / max(final, 1e-6)
        u = rng.random(n)
        adopters = u < p_final
        early = rng.random(n) < np.clip(initial, 0, 1)
        waves = max(cfg.integer("rollout.waves"), 1)
        # Propensity order decides the wave: the keenest (here: least experienced) go first.
        keen = np.argsort(-(effect * z) + rng.normal(0, 0.5, n))
        rank = np.empty(n, dtype=np.int64)
        rank[keen] = np.arange(n)
        wave = np.minimum((rank * waves) // n, waves - 1)
        wave_start = (wave * days) // waves
        adopted[adopters] = (
            wave_start[adopters] + rng.integers(0, max(days // waves, 1), n)[adopters]
        )
        adopted[adopters & early] = -rng.integers(1, 365, n)[adopters & early]
        return adopted
    initial = rng.random(n) < cfg["adoption.initial_share"]
    adopted[initial] = -rng.integers(1, 365, n)[initial]
    later = ~initial & (rng.random(n) < cfg["adoption.growth"])
    # Growth slows over the period (logistic-like): more adopt early than late.
    adopted[later] = np.floor(days * rng.beta(1.0, 1.6, n)[later]).astype(np.int64)
    return adopted


def draw_population(cfg: SimulationConfig) -> Population:
    """Draw every developer's parameters (deterministic for the config's seed)."""
    rng = np.random.default_rng([cfg.seed, 1])
    n = cfg.developers
    shares = np.array([p.share for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n, p=shares / shares.sum()).astype(np.int8)

    def per(attr: str) -> np.ndarray:
        return np.array([getattr(p, attr) for p in PERSONAS])[persona]

    exp_years = np.clip(rng.lognormal(np.log(5.5), 0.7, n), 0.2, 40)
    base = cfg["acceptance.base_rate"]
    accept_logit = (
        np.log(base / (1 - base))
        + per("accept_logit")
        # Experienced developers are pickier about completions.
        - 0.02 * (exp_years - EXPERIENCE_MEAN_YEARS)
        + rng.normal(0, cfg["acceptance.developer_sd"], n)
    )
    activity = cfg["activity.events_per_day"] * per("activity") * rng.lognormal(0, 0.35, n)
    chat = np.clip(per("chat_share") + rng.normal(0, 0.05, n), 0.0, 0.95)
    probs = np.column_stack([1 - chat, chat[:, None] * CHAT_SPLIT[None, :]])
    feature_cdf = np.cumsum(probs, axis=1)
    adopted = _adoption_days(cfg, rng, exp_years)
    churn_daily = cfg["adoption.monthly_churn"] / 30.0
    churn_after = (
        rng.geometric(churn_daily, n) if churn_daily > 0 else np.full(n, NEVER, dtype=np.int64)
    )
    churned = np.where(adopted < NEVER, np.maximum(adopted, 0) + churn_after, NEVER)
    churned = np.where(churned < cfg.days, churned, NEVER)
    orgs = cfg.integer("orgs")
    org = rng.integers(0, orgs, n).astype(np.int16)
    teams_per_org = max(n // (orgs * 8), 1)
    team = org.astype(np.int32) * teams_per_org + rng.integers(0, teams_per_org, n)
    second = np.where(
        rng.random(n) < 0.2,
        org.astype(np.int32) * teams_per_org + rng.integers(0, teams_per_org, n),
        -1,
    )
    second = np.where(second == team, -1, second)
    switch_day = np.where(rng.random(n) < 0.05, rng.integers(1, max(cfg.days, 2), n), NEVER)
    switch_team = org.astype(np.int32) * teams_per_org + rng.integers(0, teams_per_org, n)
    return Population(
        persona=persona,
        org=org,
        experience_years=exp_years,
        language=rng.choice(len(LANGUAGES), size=n, p=LANGUAGE_MIX).astype(np.int8),
        editor=rng.choice(len(EDITORS), size=n, p=EDITOR_MIX).astype(np.int8),
        plan_enterprise=rng.random(n) < 0.4,
        accept_logit=accept_logit,
        activity=activity,
        active_prob=np.clip(per("active_prob") + rng.normal(0, 0.05, n), 0.05, 1.0),
        feature_cdf=feature_cdf,
        latency_factor=rng.lognormal(0, 0.15, n),
        typing_rate=rng.lognormal(np.log(3800), 0.4, n),
        ai_task_share=per("ai_task_share"),
        adopted_day=adopted,
        churned_day=churned,
        team=team.astype(np.int32),
        second_team=second.astype(np.int32),
        team_switch_day=switch_day.astype(np.int64),
        switch_team=switch_team.astype(np.int32),
        teams_per_org=teams_per_org,
    )


def day_date(start: date, day_index: int) -> date:
    """Calendar date of a day index."""
    return start + timedelta(days=day_index)
