"""Vectorised generation of one (block of developers, day): events, typing, tasks, surveys.

Everything here is numpy on whole arrays; there is no per-row Python. Random streams are seeded
by (seed, stream, block, day), so a block-day comes out the same whether it is generated alone,
in another order, or by another partition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from codex_metrics.lake.schema import EDITORS, FAILURE_MODES, FEATURES, LANGUAGES, REQUEST_STATUSES
from codex_metrics.telemetry._latency_rollup import latency_histogram_rows
from codex_metrics.telemetry.personas import PERSONAS, Population
from codex_metrics.telemetry.rollup import EventCodes
from codex_metrics.telemetry.scenarios import SimulationConfig

# Per-feature constants, in FEATURES order: code_completion, chat_inline, chat_panel, agent_edit, cli.
FEATURE_ACCEPT_OFFSET = np.array([0.0, -0.2, -0.75, 0.55, -0.1])
FEATURE_CHARS_MEDIAN = np.array([48.0, 190.0, 420.0, 1300.0, 90.0])
FEATURE_CHARS_SIGMA = np.array([0.8, 0.7, 0.8, 0.7, 0.6])
FEATURE_TIMEOUT_MS = np.array([5_000.0, 30_000.0, 60_000.0, 180_000.0, 60_000.0])
FEATURE_FAILURE_BASE = np.array([0.03, 0.05, 0.06, 0.12, 0.08])
LANGUAGE_ACCEPT_OFFSET = np.array([0.12, -0.10, 0.08, 0.0, 0.05, 0.0, -0.12, -0.15, 0.02])
BASELINE_MODELS = ("gpt-4o-copilot", "gpt-4.1", "claude-sonnet-4")
BASELINE_MODEL_MIX = np.array([0.55, 0.30, 0.15])
BASELINE_MODEL_ACCEPT = np.array([0.0, 0.05, 0.10])
BASELINE_MODEL_LATENCY = np.array([1.0, 1.1, 1.25])
STATUS_INDEX = {s: i for i, s in enumerate(REQUEST_STATUSES)}
MODE_INDEX = {m: i for i, m in enumerate(FAILURE_MODES)}
US_PER_DAY = 86_400_000_000
EPOCH = date(1970, 1, 1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def dictionary(
    indices: np.ndarray, values: tuple[str, ...] | list[str] | pa.Array
) -> pa.DictionaryArray:
    """A dictionary-encoded string column from integer codes (cheap to build and to store)."""
    dictionary_values = (
        values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    )
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary_values)


def utc_micros(day: date) -> int:
    """Microseconds since the epoch at 00:00 UTC of ``day``."""
    return (day - EPOCH).days * US_PER_DAY


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows for per-developer counts: each row's developer (local index) and its number 0..k-1."""
    local = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    return local, np.arange(local.shape[0]) - np.repeat(starts, counts)


def timestamps(micros: np.ndarray) -> pa.Array:
    """UTC timestamp column from epoch microseconds."""
    return pa.array(micros.astype(np.int64), pa.int64()).cast(pa.timestamp("us", tz="UTC"))


@dataclass
class Models:
    """Model versions in play and how each shifts acceptance and latency."""

    names: tuple[str, ...]
    accept_offset: np.ndarray
    latency_factor: np.ndarray


@dataclass
class DayContext:
    """What the scenario fixes for one day."""

    day_index: int
    day: date
    activity_factor: float
    models: Models
    latency_multiplier: np.ndarray  # per model
    arm_of_developer: (
        np.ndarray | None
    )  # per developer in the block: 0 = A, 1 = B, 2 = C, -1 = none
    in_experiment: bool
    regression_period: str | None = None  # "before" / "after" in the latency_regression scenario
    #: Slice a regression hits per suggestion, (dim, value); ("", "") is everything.
    regression_slice: tuple[str, str] | None = None
    regression_event_factor: float = 1.0  # latency multiplier of hit suggestions
    regression_acceptance_drop: float = 0.0  # acceptance probability removed from hit ones


def _regression_hit(
    ctx: DayContext, model: np.ndarray, language: np.ndarray, editor: np.ndarray
) -> np.ndarray | None:
    """Which suggestions the day's regression hits, when it hits by slice (else None)."""
    if ctx.regression_slice is None:
        return None
    dim, value = ctx.regression_slice
    if not dim:
        return np.ones(model.shape[0], dtype=bool)
    names = {"model_version": ctx.models.names, "language": LANGUAGES, "editor": EDITORS}[dim]
    codes = {"model_version": model, "language": language, "editor": editor}[dim]
    if value not in names:
        return np.zeros(model.shape[0], dtype=bool)
    return np.asarray(codes == names.index(value))


#: Bins of the oracle's acceptance-probability histograms (AUC to about 1e-4).
ORACLE_BINS = 1000


@dataclass
class TruthSums:
    """Accumulators for estimands (sums of expected values over generated events).

    ``arrays`` holds additive array accumulators: the oracle's histograms of true acceptance
    probabilities (``oracle_accepted``, ``oracle_rejected``) and, in scenarios with a rollout,
    per developer-week sums of the adoption effect (``week_itt``, ``week_tasks``: developers by
    weeks, indexed by the global developer number).
    """

    values: dict[str, float] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        """Add ``value`` to accumulator ``key``."""
        self.values[key] = self.values.get(key, 0.0) + float(value)

    def add_array(self, key: str, value: np.ndarray) -> None:
        """Add ``value`` elementwise to array accumulator ``key``."""
        if key in self.arrays:
            self.arrays[key] += value
        else:
            self.arrays[key] = value.astype(np.float64)


@dataclass
class BlockDay:
    """Arrow tables produced for one block-day."""

    suggestions: pa.Table
    last_event_us: np.ndarray  # per developer in the block, -1 when no event
    codes: EventCodes  # the suggestions as integer codes, for the daily roll-up
    latency_histograms: pa.Table  # the block-day's rows of latency_histograms_daily


def stream_rng(
    cfg: SimulationConfig, stream: int, block: int, day_index: int
) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, stream, block, day_index])


def _status_and_ok(
    u_err: np.ndarray,
    u_cancel: np.ndarray,
    feature: np.ndarray,
    latency: np.ndarray,
    cfg: SimulationConfig,
) -> np.ndarray:
    status = np.zeros(latency.shape[0], dtype=np.int8)
    status[latency > FEATURE_TIMEOUT_MS[feature]] = STATUS_INDEX["timeout"]
    cancellable = (feature == 0) & (
        u_cancel < cfg["errors.cancel_rate"] * np.minimum(latency / 300.0, 4.0)
    )
    status[cancellable & (status == 0)] = STATUS_INDEX["cancelled"]
    status[u_err < cfg["errors.error_rate"]] = STATUS_INDEX["error"]
    return status


def generate_block_day(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    block: int,
    ctx: DayContext,
    truth: TruthSums,
    ids: pa.Array,
) -> BlockDay:
    """Generate every row of one block of developers (global indices ``dev``) on one day."""
    rng = stream_rng(cfg, 2, block, ctx.day_index)
    nd = dev.shape[0]
    d = ctx.day_index
    adopted = (pop.adopted_day[dev] <= d) & (pop.churned_day[dev] > d)
    active = adopted & (rng.random(nd) < pop.active_prob[dev] * ctx.activity_factor)
    counts = np.where(active, rng.poisson(pop.activity[dev]), 0)
    local, seq = expand(counts)
    n = int(local.shape[0])
    g = dev[local]
    day_us = utc_micros(ctx.day)

    # What was asked for, where, and with which model.
    feature = (rng.random(n)[:, None] > pop.feature_cdf[g]).sum(axis=1).astype(np.int8)
    feature = np.minimum(feature, len(FEATURES) - 1)
    other_lang = rng.choice(len(LANGUAGES), size=n, p=np.full(len(LANGUAGES), 1 / len(LANGUAGES)))
    language = np.where(rng.random(n) < 0.78, pop.language[g], other_lang).astype(np.int8)
    if ctx.arm_of_developer is not None and ctx.in_experiment:
        arm = ctx.arm_of_developer[local]
        model = np.maximum(arm, 0).astype(np.int8)  # outside the experiment: model A
    else:
        arm = None
        model = (
            rng.choice(len(ctx.models.names), size=n, p=BASELINE_MODEL_MIX)
            if len(ctx.models.names) == len(BASELINE_MODEL_MIX)
            else np.zeros(n, dtype=np.int8)
        ).astype(np.int8)
    hour = np.where(rng.random(n) < 0.55, rng.normal(10.5, 1.6, n), rng.normal(15.0, 1.8, n))
    tod_us = (np.clip(hour, 0.0, 23.999) * 3_600_000_000).astype(np.int64)

    # Latency: log-normal around the feature's median, a slow path for a few, model and day factors.
    medians = np.array(
        [
            cfg["latency.completion_median_ms"],
            cfg["latency.chat_median_ms"],
            cfg["latency.chat_median_ms"],
            cfg["latency.agent_median_ms"],
            cfg["latency.cli_median_ms"],
        ]
    )
    tail = np.where(rng.random(n) < cfg["latency.tail_share"], rng.uniform(3.0, 6.0, n), 1.0)
    base_latency = (
        medians[feature]
        * pop.latency_factor[g]
        * tail
        * np.exp(rng.normal(0, cfg["latency.sigma"], n))
    )
    latency = base_latency * (ctx.models.latency_factor * ctx.latency_multiplier)[model]
    hit = _regression_hit(ctx, model, language, pop.editor[g])
    if hit is not None and ctx.regression_event_factor != 1.0:
        latency = latency * np.where(hit, ctx.regression_event_factor, 1.0)
    u_err, u_cancel, u_acc = rng.random(n), rng.random(n), rng.random(n)
    status = _status_and_ok(u_err, u_cancel, feature, latency, cfg)
    ok = status == 0

    # Acceptance: developer propensity, feature, language, model, and latency (slower: fewer).
    slope = cfg["acceptance.latency_effect"]
    logit_wo_model = (
        pop.accept_logit[g] + FEATURE_ACCEPT_OFFSET[feature] + LANGUAGE_ACCEPT_OFFSET[language]
    )
    logit = (
        logit_wo_model
        + ctx.models.accept_offset[model]
        + slope * np.log2(latency / medians[feature])
    )
    p_accept = sigmoid(logit)
    if hit is not None and ctx.regression_acceptance_drop:
        p_accept = np.where(
            hit, np.maximum(p_accept - ctx.regression_acceptance_drop, 0.0), p_accept
        )
    accepted = ok & (u_acc < p_accept)
    truth.add("events", n)
    truth.add("shown", ok.sum())
    truth.add("expected_accepted", (p_accept * ok).sum())
    _add_oracle(truth, p_accept[ok], accepted[ok])
    completion = ok & (feature == 0)  # code completions: what copilot-metrics-viewer rates
    truth.add("completion_shown", completion.sum())
    truth.add("completion_expected_accepted", (p_accept * completion).sum())
    persona = pop.persona[g]
    for k in range(len(PERSONAS)):
        in_k = persona == k
        truth.add(f"persona_shown_{k}", (ok & in_k).sum())
        truth.add(f"persona_expected_accepted_{k}", (p_accept * (ok & in_k)).sum())
    if arm is not None:
        # Both potential outcomes of every experiment developer's events (common random numbers).
        member = arm >= 0
        for a in range(len(ctx.models.names)):
            name = chr(ord("a") + a)
            lat_a = (base_latency * ctx.models.latency_factor[a] * ctx.latency_multiplier[a])[
                member
            ]
            f_m = feature[member]
            ok_a = _status_and_ok(u_err[member], u_cancel[member], f_m, lat_a, cfg) == 0
            p_a = sigmoid(
                logit_wo_model[member]
                + ctx.models.accept_offset[a]
                + slope * np.log2(lat_a / medians[f_m])
            )
            truth.add(f"ab_shown_{name}", ok_a.sum())
            truth.add(f"ab_expected_accepted_{name}", (p_a * ok_a).sum())
            truth.add(f"ab_latency_sum_{name}", lat_a.sum())
            truth.add(f"ab_requests_{name}", member.sum())
    if ctx.regression_period is not None:
        truth.add(f"regression_shown_{ctx.regression_period}", ok.sum())
        truth.add(f"regression_expected_accepted_{ctx.regression_period}", (p_accept * ok).sum())
        truth.add(f"regression_latency_sum_{ctx.regression_period}", latency[feature == 0].sum())
        truth.add(f"regression_completions_{ctx.regression_period}", (feature == 0).sum())

    # Size of the suggestion and what was taken.
    chars = np.where(
        ok,
        np.maximum(
            1,
            FEATURE_CHARS_MEDIAN[feature] * np.exp(rng.normal(0, FEATURE_CHARS_SIGMA[feature], n)),
        ),
        0,
    ).astype(np.int32)
    lines = np.where(ok, np.maximum(1, np.ceil(chars / 38.0)), 0).astype(np.int32)
    partial = accepted & (feature == 0) & (rng.random(n) < 0.15)
    taken = np.where(partial, rng.beta(2.0, 2.0, n), 1.0)
    chars_acc = np.where(accepted, np.maximum(1, np.round(chars * taken)), 0).astype(np.int32)
    lines_acc = np.where(accepted, np.maximum(1, np.round(lines * taken)), 0).astype(np.int32)
    # Persistence: the share kept at 10 minutes, with earlier checkpoints keeping more.
    junior = pop.experience_years[g] < 3
    keep10 = np.clip(rng.beta(7.0, 2.2, n) - 0.05 * (feature == 3), 0.0, 1.0)
    keep = [1 - (1 - keep10) * f for f in (0.3, 0.55, 0.8)] + [keep10]
    persisted = [np.where(accepted, np.round(chars_acc * k), 0).astype(np.int32) for k in keep]
    edit = np.where(
        accepted, np.round(chars_acc * (1 - keep10) * rng.uniform(1.0, 1.3, n)), 0
    ).astype(np.int32)
    keystrokes = np.where(accepted, np.maximum(chars_acc - edit - 1, 0), 0).astype(np.int32)
    p_fail = FEATURE_FAILURE_BASE[feature] + 0.03 * junior
    failed = accepted & (rng.random(n) < p_fail)
    fallback = ok & (rng.random(n) < 0.01)

    mode = np.full(n, MODE_INDEX["none"], dtype=np.int8)
    mode[ok & ~accepted] = MODE_INDEX["not_accepted"]
    mode[accepted & (keep10 < 0.5)] = MODE_INDEX["heavily_edited"]
    kind = rng.random(n)
    mode[failed & (kind < 0.4)] = MODE_INDEX["compile_error"]
    mode[failed & (kind >= 0.4) & (kind < 0.85)] = MODE_INDEX["runtime_error"]
    mode[failed & (kind >= 0.85)] = MODE_INDEX["hallucinated_api"]
    for s in ("error", "timeout", "cancelled"):
        mode[status == STATUS_INDEX[s]] = MODE_INDEX["service_error" if s == "error" else s]

    dev_col = dictionary(local, ids)
    stored_latency = np.round(latency, 1)
    org_col = org_column(cfg, pop.org[g])
    acc_mask = ~accepted
    suggestions = pa.table(
        {
            "event_id": (g.astype(np.int64) << 37) | (np.int64(d) << 23) | seq.astype(np.int64),
            "timestamp": timestamps(day_us + tod_us),
            "developer_id": dev_col,
            "org": org_col,
            "session_id": (g.astype(np.int64) << 20)
            | (np.int64(d) << 6)
            | (tod_us // 7_200_000_000),
            "feature": dictionary(feature, FEATURES),
            "language": dictionary(language, LANGUAGES),
            "editor": dictionary(pop.editor[g], EDITORS),
            "model_version": dictionary(model, ctx.models.names),
            "status": dictionary(status, REQUEST_STATUSES),
            "latency_ms": stored_latency,
            "chars_suggested": chars,
            "lines_suggested": lines,
            "accepted": accepted,
            "chars_accepted": chars_acc,
            "lines_accepted": lines_acc,
            "chars_persisted_30s": pa.array(persisted[0], mask=acc_mask),
            "chars_persisted_2m": pa.array(persisted[1], mask=acc_mask),
            "chars_persisted_5m": pa.array(persisted[2], mask=acc_mask),
            "chars_persisted_10m": pa.array(persisted[3], mask=acc_mask),
            "edit_distance_10m": pa.array(edit, mask=acc_mask),
            "keystrokes_saved": keystrokes,
            "post_accept_failure": pa.array(failed, mask=acc_mask),
            "is_fallback": fallback,
            "failure_mode": dictionary(mode, FAILURE_MODES),
        }
    )
    last = np.full(nd, -1, dtype=np.int64)
    np.maximum.at(last, local, day_us + tod_us)

    codes = EventCodes(
        developer=local,
        developer_ids=ids,
        developer_org=pop.org[dev],
        developer_editor=pop.editor[dev],
        orgs=org_names(cfg),
        feature=feature,
        language=language,
        model=model,
        models=ctx.models.names,
        shown=ok,
        accepted=accepted,
        lines_suggested=lines,
        lines_accepted=lines_acc,
    )
    histograms = latency_histogram_rows(
        developer=local,
        developer_ids=ids,
        developer_org=pop.org[dev],
        orgs=org_names(cfg),
        feature=feature,
        model=model,
        models=ctx.models.names,
        latency_ms=stored_latency,
    )
    return BlockDay(suggestions, last, codes, histograms)


def _add_oracle(truth: TruthSums, p: np.ndarray, accepted: np.ndarray) -> None:
    """The oracle's histograms (for its AUC) and log loss over shown suggestions."""
    bins = np.minimum((p * ORACLE_BINS).astype(np.int64), ORACLE_BINS - 1)
    truth.add_array("oracle_accepted", np.bincount(bins[accepted], minlength=ORACLE_BINS))
    truth.add_array("oracle_rejected", np.bincount(bins[~accepted], minlength=ORACLE_BINS))
    p_clipped = np.clip(p, 1e-12, 1 - 1e-12)
    loss = -np.where(accepted, np.log(p_clipped), np.log1p(-p_clipped)).sum()
    truth.add("oracle_log_loss_sum", loss)


def org_names(cfg: SimulationConfig) -> list[str]:
    return [f"org-{i:03d}" for i in range(cfg.integer("orgs"))]


def org_column(cfg: SimulationConfig, org: np.ndarray) -> pa.DictionaryArray:
    return dictionary(org, org_names(cfg))
