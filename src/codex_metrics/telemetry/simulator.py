"""The telemetry simulator: a scenario in, a lake of realistic telemetry and its truth out.

The run is day-major: for each day, each block of developers is generated (vectorised) and
appended to that day's staging files, so memory is bounded by one block-day whatever the size
of the run. ``partition=(i, n)`` generates only blocks ``b`` with ``b % n == i``; because every
random stream is seeded by (seed, stream, block, day), the union of the n partitions is row for
row the single run. All tables are published at the end, each atomically, replacing the
previous simulated world (a lake holds one).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from codex_metrics.errors import ParameterError
from codex_metrics.lake import FileRef, Lake, TableWriter
from codex_metrics.telemetry._events import (
    BASELINE_MODEL_ACCEPT,
    BASELINE_MODEL_LATENCY,
    BASELINE_MODELS,
    DayContext,
    Models,
    TruthSums,
    dictionary,
    generate_block_day,
    speedup,
    timestamps,
    utc_micros,
)
from codex_metrics.telemetry.personas import (
    EXPERIENCE_MEAN_YEARS,
    NEVER,
    PERSONAS,
    Population,
    draw_population,
)
from codex_metrics.telemetry.rollup import rollup_usage_daily_codes
from codex_metrics.telemetry.scenarios import SimulationConfig
from codex_metrics.telemetry.truth import write_part

__all__ = [
    "SOURCE",
    "SimulationResult",
    "run_id_for",
    "auto_workers",
    "simulate",
    "simulate_parallel",
]

SOURCE = "simulator"
BLOCK_SIZE = 2048
SAMPLE_ROWS = 1000
EXPERIMENT_ID = "exp-model-b-vs-a"
DAY_TABLES = ("suggestions", "usage_daily", "typing", "tasks", "surveys", "team_members")
WHOLE_TABLES = ("developers", "seats", "experiments", "assignments")
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SimulationResult:
    """What a run produced."""

    run_id: str
    scenario: str
    partition: tuple[int, int]
    rows: dict[str, int] = field(default_factory=dict)
    truth_path: Path | None = None
    seconds: float = 0.0


def run_id_for(cfg: SimulationConfig) -> str:
    """Deterministic id of a run: the same request always gets the same id."""
    doc = {
        "scenario": cfg.scenario,
        "developers": cfg.developers,
        "days": cfg.days,
        "seed": cfg.seed,
        "start": cfg.start.isoformat(),
        "params": dict(cfg.items()),
    }
    return "sim-" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def _activity_factor(cfg: SimulationConfig, day: date) -> float:
    holidays = {h.strip() for h in cfg.text("activity.holidays").split(",") if h.strip()}
    if day.strftime("%m-%d") in holidays:
        return cfg["activity.holiday_factor"]
    return cfg["activity.weekend_factor"] if day.weekday() >= 5 else 1.0


def _models(cfg: SimulationConfig) -> Models:
    if cfg.scenario == "ab_test":
        return Models(
            (cfg.text("ab.model_a"), cfg.text("ab.model_b")),
            np.array([0.0, cfg["ab.lift_acceptance"]]),
            np.array([1.0, cfg["ab.latency_ratio"]]),
        )
    return Models(BASELINE_MODELS, BASELINE_MODEL_ACCEPT, BASELINE_MODEL_LATENCY)


def _arms(cfg: SimulationConfig, pop: Population) -> np.ndarray | None:
    """Arm per developer (0 = A, 1 = B, -1 = not in the experiment) for ab_test."""
    if cfg.scenario != "ab_test":
        return None
    start = cfg.integer("ab.pre_days")
    eligible = (pop.adopted_day < start) & (pop.churned_day > start)
    u = np.random.default_rng([cfg.seed, 6]).random(pop.size)
    return np.where(eligible, (u < cfg["ab.weight_b"]).astype(np.int8), -1).astype(np.int8)


def _day_context(
    cfg: SimulationConfig, models: Models, arms: np.ndarray | None, d: int
) -> DayContext:
    day = cfg.start + timedelta(days=d)
    multiplier = np.ones(len(models.names))
    period = None
    if cfg.scenario == "latency_regression":
        after = d >= cfg.integer("regression.day")
        period = "after" if after else "before"
        target = cfg.text("regression.model")
        if after:
            hit = [not target or name == target for name in models.names]
            multiplier = np.where(hit, cfg["regression.factor"], 1.0)
    in_experiment = cfg.scenario == "ab_test" and d >= cfg.integer("ab.pre_days")
    return DayContext(
        d, day, _activity_factor(cfg, day), models, multiplier, arms, in_experiment, period
    )


def _also_replace(run_id: str, partition: tuple[int, int]) -> Callable[[FileRef], bool]:
    """Select every simulator file except those of sibling partitions of this very run."""
    i, n = partition

    def predicate(ref: FileRef) -> bool:
        if ref.source != SOURCE:
            return False
        sibling = ref.scope.startswith(f"{run_id}.p") and ref.scope.endswith(f"of{n}")
        return not sibling or ref.scope == f"{run_id}.p{i}of{n}"

    return predicate


def _team_rows(
    cfg: SimulationConfig, pop: Population, dev: np.ndarray, d: int, ids: list[str]
) -> pa.Table:
    local = np.arange(dev.shape[0])
    primary = np.where(pop.team_switch_day[dev] <= d, pop.switch_team[dev], pop.team[dev])
    second = pop.second_team[dev]
    has_second = (second >= 0) & (second != primary)
    rows = np.concatenate([local, local[has_second]])
    team = np.concatenate([primary, second[has_second]])
    teams_per_org = max(cfg.developers // (cfg.integer("orgs") * 8), 1)
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
            "org": dictionary(org, [f"org-{i:03d}" for i in range(cfg.integer("orgs"))]),
        }
    )


def _whole_tables(
    cfg: SimulationConfig,
    pop: Population,
    dev: np.ndarray,
    last_us: np.ndarray,
    arms: np.ndarray | None,
    first: bool,
) -> dict[str, pa.Table]:
    ids = pop.developer_ids(dev)
    start_us = utc_micros(cfg.start)
    day_us = 86_400_000_000
    orgs = [f"org-{i:03d}" for i in range(cfg.integer("orgs"))]
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
                "primary_language": dictionary(pop.language[dev], _languages()),
                "editor": dictionary(pop.editor[dev], _editors()),
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
        out["assignments"] = pa.table(
            {
                "experiment_id": pa.array([EXPERIMENT_ID] * int(logged.sum()), pa.string()),
                "developer_id": pa.array(ids).filter(pa.array(logged)),
                "arm": dictionary(arm[logged], ["A", "B"]),
                "assigned_at": timestamps(np.full(int(logged.sum()), exp_start)),
            }
        )
        if first:
            out["experiments"] = _experiment_row(cfg, int((arms >= 0).sum()))
    return out


def _experiment_row(cfg: SimulationConfig, planned: int) -> pa.Table:
    day_us = 86_400_000_000
    start_us = utc_micros(cfg.start)
    w = cfg["ab.weight_b"]
    return pa.table(
        {
            "experiment_id": [EXPERIMENT_ID],
            "description": [f"{cfg.text('ab.model_b')} vs {cfg.text('ab.model_a')} (simulated)"],
            "arms": [
                [
                    {"arm": "A", "model_version": cfg.text("ab.model_a"), "weight": 1 - w},
                    {"arm": "B", "model_version": cfg.text("ab.model_b"), "weight": w},
                ]
            ],
            "pre_period_start": timestamps(np.array([start_us])),
            "start": timestamps(np.array([start_us + cfg.integer("ab.pre_days") * day_us])),
            "end": timestamps(np.array([start_us + cfg.days * day_us])),
            "primary_metrics": [["acceptance_rate_by_count"]],
            "guardrail_metrics": [
                [
                    {"metric": "latency_mean_ms", "margin": 0.05},
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
        }
    )


def _languages() -> tuple[str, ...]:
    from codex_metrics.telemetry.schema import LANGUAGES

    return LANGUAGES


def _editors() -> tuple[str, ...]:
    from codex_metrics.telemetry.schema import EDITORS

    return EDITORS


def _truth_part(
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
        },
    }
    if cfg.scenario == "rollout":
        part["experience_sums"] = {
            "adopters_sum": float(exp[adopter].sum()),
            "adopters_n": float(adopter.sum()),
            "non_adopters_sum": float(exp[~adopter].sum()),
            "non_adopters_n": float((~adopter).sum()),
        }
    return part


def simulate(
    lake: Lake,
    cfg: SimulationConfig,
    *,
    partition: tuple[int, int] = (0, 1),
    block_size: int = BLOCK_SIZE,
    sample_csv: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Simulate ``cfg`` into ``lake`` and write the truth; see the module docstring.

    Args:
        lake: destination lake.
        cfg: validated request (:func:`~codex_metrics.telemetry.scenarios.build_config`).
        partition: ``(i, n)``: generate the i-th of n disjoint shares.
        block_size: developers per generated block (fixed: changing it changes the rows).
        sample_csv: also write the first 1,000 suggestion rows, every column, to this CSV.
        on_progress: called with (steps done, steps total) as block-days finish.
    """
    i, n = partition
    if n < 1 or not 0 <= i < n:
        raise ParameterError("--partition", f"{i}/{n} is not i/n with 0 <= i < n")
    started = time.perf_counter()
    run_id = run_id_for(cfg)
    pop = draw_population(cfg)
    blocks = [b for b in range(-(-cfg.developers // block_size)) if b % n == i]
    models = _models(cfg)
    arms = _arms(cfg, pop)
    scope = f"{run_id}.p{i}of{n}"
    replace = _also_replace(run_id, partition)
    writers: dict[str, TableWriter] = {
        t: lake.writer(
            t, source=SOURCE, scope=scope, run_id=run_id, replace_scope="all", also_replace=replace
        )
        for t in (*DAY_TABLES, *WHOLE_TABLES)
    }
    sums = TruthSums()
    sample: list[pa.Table] = []
    sample_rows = 0
    total_steps = max(cfg.days * len(blocks), 1)
    step = 0
    last_event = np.full(cfg.developers, -1, dtype=np.int64)
    block_devs = {
        b: np.arange(b * block_size, min((b + 1) * block_size, cfg.developers)) for b in blocks
    }
    block_ids = {b: pa.array(pop.developer_ids(dev), pa.string()) for b, dev in block_devs.items()}
    sink = _WriteSink(writers)
    try:
        for d in range(cfg.days):
            ctx = _day_context(cfg, models, arms, d)
            for b in blocks:
                dev = block_devs[b]
                ctx.arm_of_developer = None if arms is None else arms[dev]
                out = generate_block_day(cfg, pop, dev, b, ctx, sums, block_ids[b])
                last_event[dev] = np.maximum(last_event[dev], out.last_event_us)
                tables = {
                    "suggestions": out.suggestions,
                    "usage_daily": rollup_usage_daily_codes(out.codes),
                    "typing": out.typing,
                    "tasks": out.tasks,
                    "team_members": _team_rows(cfg, pop, dev, d, block_ids[b]),
                }
                if out.surveys is not None:
                    tables["surveys"] = out.surveys
                sink.put(tables, ctx.day)
                if sample_csv is not None and sample_rows < SAMPLE_ROWS:
                    take = out.suggestions.slice(0, SAMPLE_ROWS - sample_rows)
                    sample.append(
                        take.append_column("day", pa.array([ctx.day] * take.num_rows, pa.date32()))
                    )
                    sample_rows += take.num_rows
                step += 1
                if on_progress is not None:
                    on_progress(step, total_steps)
            sink.close_day(ctx.day)
        sink.finish()
        mine = np.concatenate(list(block_devs.values())) if blocks else np.array([], dtype=np.int64)
        if mine.size:
            for table, data in _whole_tables(
                cfg, pop, mine, last_event[mine], arms, first=i == 0
            ).items():
                writers[table].write(data)
        rows = {table: w.commit().rows_written for table, w in writers.items()}
    except BaseException:
        sink.finish(raise_errors=False)
        for w in writers.values():
            w.abort()
        raise
    truth = write_part(
        lake.simulator_dir, run_id, partition, _truth_part(cfg, pop, mine, run_id, sums)
    )
    if sample_csv is not None and sample:
        rows_ = pa.concat_tables([s.cast(sample[0].schema) for s in sample])
        n_rows = rows_.num_rows
        stamp = writers["suggestions"].ingested_at
        rows_ = (
            rows_.append_column("source", pa.array([SOURCE] * n_rows))
            .append_column("ingested_at", pa.array([stamp] * n_rows, pa.timestamp("us", tz="UTC")))
            .append_column("run_id", pa.array([run_id] * n_rows))
        )
        _write_sample(sample_csv, rows_)
    return SimulationResult(
        run_id, cfg.scenario, partition, rows, truth, time.perf_counter() - started
    )


class _WriteSink:
    """Writes staged tables on a background thread so Parquet encoding overlaps generation.

    The queue is bounded, so at most a couple of block-days wait in memory.
    """

    def __init__(self, writers: dict[str, TableWriter]) -> None:
        self.writers = writers
        self.queue: queue.Queue[tuple[dict[str, pa.Table], date, bool] | None] = queue.Queue(
            maxsize=2
        )
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="lake-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (job := self.queue.get()) is not None:
            if self.error is not None:
                continue
            tables, day, close = job
            try:
                for table, data in tables.items():
                    self.writers[table].write(data, day=day)
                if close:
                    for w in self.writers.values():
                        w.close_day(day)
            except BaseException as exc:  # re-raised in the generating thread
                self.error = exc

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def put(self, tables: dict[str, pa.Table], day: date) -> None:
        """Queue tables to append to ``day``'s staging files."""
        self._check()
        self.queue.put((tables, day, False))

    def close_day(self, day: date) -> None:
        """Queue the closing of ``day``'s staging files."""
        self._check()
        self.queue.put(({}, day, True))

    def finish(self, *, raise_errors: bool = True) -> None:
        """Wait until everything queued is written."""
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if raise_errors:
            self._check()


def _write_sample(path: Path, table: pa.Table) -> None:
    path = Path(path)
    plain = pa.table(
        {
            name: col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(plain, path)


def _worker(
    root: str,
    cfg: SimulationConfig,
    partition: tuple[int, int],
    block_size: int,
    sample_csv: Path | None,
    messages: Any,
) -> None:
    """Run one partition in a child process, reporting progress and the result on ``messages``."""
    try:
        result = simulate(
            Lake.open(root),
            cfg,
            partition=partition,
            block_size=block_size,
            sample_csv=sample_csv,
            on_progress=lambda done, total: messages.put(("progress", partition[0], done, total)),
        )
        messages.put(("done", partition[0], result, None))
    except BaseException as exc:  # reported to the parent, which re-raises
        messages.put(("error", partition[0], None, exc))


def auto_workers(cfg: SimulationConfig, *, block_size: int = BLOCK_SIZE) -> int:
    """Processes worth starting: one per core, none for runs too small to repay the start-up."""
    blocks = -(-cfg.developers // block_size)
    if cfg.developers * cfg.days < 100_000:
        return 1
    return max(1, min(os.cpu_count() or 1, blocks))


def simulate_parallel(
    lake: Lake,
    cfg: SimulationConfig,
    *,
    workers: int,
    block_size: int = BLOCK_SIZE,
    sample_csv: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Run ``workers`` partitions of ``cfg`` in parallel processes (same rows as one process).

    Each worker is :func:`simulate` with ``partition=(i, workers)``; the truth is complete when
    the last one finishes. Errors in a worker are re-raised here after every worker stopped.
    """
    if workers < 1:
        raise ParameterError("--workers", f"must be at least 1, got {workers}")
    if workers == 1:
        return simulate(
            lake, cfg, block_size=block_size, sample_csv=sample_csv, on_progress=on_progress
        )
    import multiprocessing as mp

    started = time.perf_counter()
    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                str(lake.root),
                cfg,
                (i, workers),
                block_size,
                sample_csv if i == 0 else None,
                messages,
            ),
            daemon=True,
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    done_steps = [0] * workers
    total_steps = [0] * workers
    results: dict[int, SimulationResult] = {}
    error: BaseException | None = None
    try:
        while len(results) < workers and error is None:
            try:
                kind, i, *payload = messages.get(timeout=1.0)
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    error = RuntimeError("a simulator worker died; see its error output")
                continue
            if kind == "progress":
                done_steps[i], total_steps[i] = payload[0], payload[1]
                if on_progress is not None and all(total_steps):
                    on_progress(sum(done_steps), sum(total_steps))
            elif kind == "done":
                results[i] = payload[0]
            else:
                error = payload[1]
    finally:
        if error is not None:
            for p in procs:
                p.terminate()
        for p in procs:
            p.join()
    if error is not None:
        raise error
    rows: dict[str, int] = {}
    for r in results.values():
        for table, n in r.rows.items():
            rows[table] = rows.get(table, 0) + n
    truth = next((r.truth_path for r in results.values() if r.truth_path is not None), None)
    run_id = results[0].run_id
    return SimulationResult(
        run_id, cfg.scenario, (0, 1), rows, truth, time.perf_counter() - started
    )
