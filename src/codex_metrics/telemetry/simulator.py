"""The telemetry simulator: a scenario in, a lake of realistic telemetry and its truth out.

The run is day-major: for each day, each block of developers is generated (vectorised) and
appended to that day's staging files, so memory is bounded by one block-day whatever the size
of the run. ``partition=(i, n)`` generates only blocks ``b`` with ``b % n == i``; because every
random stream is seeded by (seed, stream, block, day), the union of the n partitions is row for
row the single run.

Publishing comes last and is all-or-nothing for readers: each table gets one Delta commit that
replaces every simulator row with the new world's, then the truth is written and the world is
recorded with the version of every table (:func:`codex_metrics.telemetry.truth.complete_truth`).
Until that record exists, readers keep reading the previous world at its recorded versions, so
a run killed at any point never shows a mixed world. Runs publish one at a time (a lake lock).
"""

from __future__ import annotations

import hashlib
import json
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
from codex_metrics.lake import SIMULATOR_SOURCE, Lake, PendingWrite, Replacement, TableWriter
from codex_metrics.telemetry._activity import generate_activity
from codex_metrics.telemetry._events import (
    BASELINE_MODEL_ACCEPT,
    BASELINE_MODEL_LATENCY,
    BASELINE_MODELS,
    DayContext,
    Models,
    TruthSums,
    generate_block_day,
)
from codex_metrics.telemetry._latency_truth import completion_latency_cdf_sums
from codex_metrics.telemetry._run_tables import team_rows, truth_part, whole_tables
from codex_metrics.telemetry.personas import (
    Population,
    draw_population,
)
from codex_metrics.telemetry.rollup import rollup_usage_daily_codes
from codex_metrics.telemetry.scenarios import PARAMETERS, SimulationConfig, arm_weights
from codex_metrics.telemetry.truth import complete_truth, write_part

__all__ = [
    "SOURCE",
    "GeneratedPartition",
    "SimulationResult",
    "block_size_for",
    "generate",
    "publish",
    "run_id_for",
    "simulate",
]

SOURCE = SIMULATOR_SOURCE
BLOCK_SIZE = 2048
#: Smallest block: below it per-block overhead outweighs the vectorised generation.
MIN_BLOCK_SIZE = 256
SAMPLE_ROWS = 1000
DAY_TABLES = (
    "suggestions",
    "usage_daily",
    "latency_histograms_daily",
    "typing",
    "tasks",
    "surveys",
    "team_members",
    "seats",
)
WHOLE_TABLES = ("developers", "experiments", "assignments")
#: Lake lock held while a simulation publishes, so two runs never interleave their tables.
PUBLISH_LOCK = "simulator-publish"
ALL_TABLES = (*DAY_TABLES, *WHOLE_TABLES)
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
    versions: dict[str, int] = field(default_factory=dict)


@dataclass
class GeneratedPartition:
    """One partition's uncommitted files and truth part (picklable, for worker processes)."""

    run_id: str
    partition: tuple[int, int]
    writes: dict[str, PendingWrite]
    truth_part: dict[str, Any]
    sample: pa.Table | None = None


#: Parameters added after worlds were first published (issue 16's regression slice and metric).
_LATER_PARAMETERS = ("regression.metric", "regression.slice", "regression.acceptance_drop")


def run_id_for(cfg: SimulationConfig) -> str:
    """Deterministic id of a run: the same request always gets the same id."""
    doc = {
        "scenario": cfg.scenario,
        "developers": cfg.developers,
        "days": cfg.days,
        "seed": cfg.seed,
        "start": cfg.start.isoformat(),
        # Parameters added later count only when set, so existing worlds keep their ids.
        "params": {
            k: v
            for k, v in cfg.items()
            if not (k in _LATER_PARAMETERS and v == PARAMETERS[k].default)
        },
    }
    return "sim-" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def _activity_factor(cfg: SimulationConfig, day: date) -> float:
    holidays = {h.strip() for h in cfg.text("activity.holidays").split(",") if h.strip()}
    if day.strftime("%m-%d") in holidays:
        return cfg["activity.holiday_factor"]
    return cfg["activity.weekend_factor"] if day.weekday() >= 5 else 1.0


def _models(cfg: SimulationConfig) -> Models:
    if cfg.has("ab") and not cfg.has("ab3"):
        return Models(
            (cfg.text("ab.model_a"), cfg.text("ab.model_b")),
            np.array([0.0, cfg["ab.lift_acceptance"]]),
            np.array([1.0, cfg["ab.latency_ratio"]]),
        )
    if cfg.has("ab3"):
        return Models(
            (cfg.text("ab.model_a"), cfg.text("ab.model_b"), cfg.text("ab3.model_c")),
            np.array([0.0, cfg["ab.lift_acceptance"], cfg["ab3.lift_acceptance_c"]]),
            np.array([1.0, cfg["ab.latency_ratio"], cfg["ab3.latency_ratio_c"]]),
        )
    return Models(BASELINE_MODELS, BASELINE_MODEL_ACCEPT, BASELINE_MODEL_LATENCY)


def _arms(cfg: SimulationConfig, pop: Population) -> np.ndarray | None:
    """Arm per developer (0 = A, 1 = B, 2 = C, -1 = not in the experiment)."""
    if not cfg.has("ab"):
        return None
    start = cfg.integer("ab.pre_days")
    eligible = (pop.adopted_day < start) & (pop.churned_day > start)
    u = np.random.default_rng([cfg.seed, 6]).random(pop.size)
    # Arm k for u past the cumulative weight of arms 1..k-1, counted from B (A takes the rest):
    # with two arms this is exactly ``u < weight_b`` for B.
    weights = arm_weights(cfg)
    edges = np.cumsum(weights[1:])
    arm = np.where(u < edges[-1], np.searchsorted(edges, u, side="right") + 1, 0)
    return np.where(eligible, arm, -1).astype(np.int8)


def _day_context(
    cfg: SimulationConfig, models: Models, arms: np.ndarray | None, d: int
) -> DayContext:
    day = cfg.start + timedelta(days=d)
    multiplier = np.ones(len(models.names))
    period = None
    hit_slice: tuple[str, str] | None = None
    event_factor, acceptance_drop = 1.0, 0.0
    if cfg.has("regression"):
        after = d >= cfg.integer("regression.day")
        period = "after" if after else "before"
        dim, _, value = cfg.text("regression.slice").partition("=")
        if not value:
            dim, value = "model_version", cfg.text("regression.model")
        if after and cfg.text("regression.metric") == "acceptance":
            hit_slice = (dim, value) if value else ("", "")
            acceptance_drop = cfg["regression.acceptance_drop"]
        elif after and dim == "model_version":
            hit = [not value or name == value for name in models.names]
            multiplier = np.where(hit, cfg["regression.factor"], 1.0)
        elif after:  # latency of one language or editor: a per-suggestion factor
            hit_slice, event_factor = (dim, value), cfg["regression.factor"]
    in_experiment = cfg.has("ab") and d >= cfg.integer("ab.pre_days")
    return DayContext(
        d,
        day,
        _activity_factor(cfg, day),
        models,
        multiplier,
        arms,
        in_experiment,
        period,
        hit_slice,
        event_factor,
        acceptance_drop,
    )


def simulate(
    lake: Lake,
    cfg: SimulationConfig,
    *,
    partition: tuple[int, int] = (0, 1),
    block_size: int | None = None,
    sample_csv: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Simulate ``cfg`` into ``lake``, publish it and write the truth; see the module docstring.

    Args:
        lake: destination lake.
        cfg: validated request (:func:`~codex_metrics.telemetry.scenarios.build_config`).
        partition: ``(i, n)``: generate and publish the i-th of n disjoint shares; the world is
            recorded when the last share is published.
        block_size: developers per generated block (default :func:`block_size_for`; a different
            size gives different rows).
        sample_csv: also write the first 1,000 suggestion rows, every column, to this CSV.
        on_progress: called with (steps done, steps total) as block-days finish.
    """
    started = time.perf_counter()
    with lake.writing(ALL_TABLES):
        generated = generate(
            lake,
            cfg,
            partition=partition,
            block_size=block_size,
            sample=sample_csv is not None,
            on_progress=on_progress,
        )
        result = publish(lake, [generated], partition=partition)
    if sample_csv is not None and generated.sample is not None:
        _write_sample(sample_csv, generated.sample)
    return SimulationResult(
        result.run_id,
        cfg.scenario,
        partition,
        result.rows,
        result.truth_path,
        time.perf_counter() - started,
        result.versions,
    )


def generate(
    lake: Lake,
    cfg: SimulationConfig,
    *,
    partition: tuple[int, int] = (0, 1),
    block_size: int | None = None,
    sample: bool = False,
    on_progress: ProgressCallback | None = None,
) -> GeneratedPartition:
    """Generate one partition's rows into uncommitted data files (nothing is visible yet)."""
    i, n = partition
    if n < 1 or not 0 <= i < n:
        raise ParameterError("--partition", f"{i}/{n} is not i/n with 0 <= i < n")
    run_id = run_id_for(cfg)
    block_size = block_size or block_size_for(cfg.developers)
    blocks = _blocks_of(cfg, block_size, partition)
    pop = draw_population(cfg)
    models = _models(cfg)
    arms = _arms(cfg, pop)
    scope = f"{run_id}.p{i}of{n}"
    writers: dict[str, TableWriter] = {
        t: lake.writer(t, source=SOURCE, scope=scope, run_id=run_id, replace_scope="all")
        for t in ALL_TABLES
    }
    sums = TruthSums()
    samples: list[pa.Table] = []
    sample_rows = 0
    total_steps = max(cfg.days * len(blocks), 1)
    step = 0
    last_event = np.full(cfg.developers, -1, dtype=np.int64)
    block_devs = {
        b: np.arange(b * block_size, min((b + 1) * block_size, cfg.developers)) for b in blocks
    }
    block_ids = {b: pa.array(pop.developer_ids(dev), pa.string()) for b, dev in block_devs.items()}
    sink = _WriteSink(writers)
    last_day = cfg.start + timedelta(days=cfg.days - 1)
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
                    "latency_histograms_daily": out.latency_histograms,
                    "team_members": team_rows(cfg, pop, dev, d, block_ids[b]),
                    **generate_activity(cfg, pop, dev, b, ctx, block_ids[b], sums),
                }
                sink.put(tables, ctx.day)
                if sample and sample_rows < SAMPLE_ROWS:
                    take = out.suggestions.slice(0, SAMPLE_ROWS - sample_rows)
                    samples.append(
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
            for table, data in whole_tables(
                cfg, pop, mine, last_event[mine], arms, first=i == 0
            ).items():
                # Seats are a snapshot taken on the run's last day, like a seats export.
                writers[table].write(data, day=last_day if table == "seats" else None)
        writes = {table: w.finish() for table, w in writers.items()}
    except BaseException:
        sink.finish(raise_errors=False)
        for w in writers.values():
            w.abort()
        raise
    for w in writers.values():
        w.release()
    sample_table = None
    if samples:
        rows_ = pa.concat_tables([s.cast(samples[0].schema) for s in samples])
        n_rows = rows_.num_rows
        stamp = writers["suggestions"].ingested_at
        sample_table = (
            rows_.append_column("source", pa.array([SOURCE] * n_rows))
            .append_column("scope", pa.array([scope] * n_rows))
            .append_column("ingested_at", pa.array([stamp] * n_rows, pa.timestamp("us", tz="UTC")))
            .append_column("run_id", pa.array([run_id] * n_rows))
        )
    part = truth_part(cfg, pop, mine, run_id, sums)
    if arms is not None:
        days = [_activity_factor(cfg, cfg.start + timedelta(days=d)) for d in range(cfg.days)]
        names = [chr(ord("a") + k) for k in range(len(models.names))]
        part["completion_latency"] = completion_latency_cdf_sums(
            cfg, pop, mine, arms, list(models.latency_factor), names, days
        )
    return GeneratedPartition(run_id, partition, writes, part, sample_table)


def block_size_for(developers: int) -> int:
    """Developers per generated block: 2,048, or fewer so that a world has at least 8 blocks.

    Blocks are the unit of work that partitions and workers share (round-robin, so every share
    gets the same number of blocks, give or take one), so a small world is cut finer (never
    below 256 developers a block). Derived from the number of developers only: the same request
    always gets the same blocks, hence the same rows, whatever the partitioning.
    """
    if developers >= 8 * BLOCK_SIZE:
        return BLOCK_SIZE
    return max(MIN_BLOCK_SIZE, -(-developers // 8))


def _blocks_of(cfg: SimulationConfig, block_size: int, partition: tuple[int, int]) -> list[int]:
    i, n = partition
    count = -(-cfg.developers // block_size)
    if n > count:
        raise ParameterError(
            "--partition",
            f"{cfg.developers:,} developers make {count} block(s) of {block_size:,}; use at most "
            f"{count} partition(s), or more developers (a share without a block would be empty)",
        )
    return [b for b in range(count) if b % n == i]


def publish(
    lake: Lake, generated: list[GeneratedPartition], *, partition: tuple[int, int] = (0, 1)
) -> SimulationResult:
    """Commit generated partitions as the lake's simulated world, then record it.

    ``generated`` holds every partition of the run (worker processes) or the one partition
    ``partition`` of a sharded run, whose sibling partitions' rows are kept.
    """
    run_id = generated[0].run_id
    i, n = partition
    siblings = (
        frozenset(f"{run_id}.p{k}of{n}" for k in range(n) if k != i) if n > 1 else frozenset()
    )
    replacement = Replacement(SOURCE, None, None, keep_scopes=siblings)
    rows: dict[str, int] = {}
    versions: dict[str, int] = {}
    with lake.lock(PUBLISH_LOCK, what="publishing the simulated world"):
        try:
            for table in ALL_TABLES:
                writes = [g.writes[table] for g in generated]
                report = lake.commit(
                    table, writes, replacement, info={"operation": "simulate", "run_id": run_id}
                )
                rows[table] = sum(w.rows for w in writes)
                if report.version is not None:
                    versions[table] = report.version
        except BaseException:
            lake.discard(w for g in generated for t, w in g.writes.items() if t not in versions)
            raise
        truth = None
        parts: list[dict[str, Any]] | None
        if len(generated) == n or n == 1:
            parts = [dict(g.truth_part) | {"table_versions": versions} for g in generated]
        else:
            parts = write_part(
                lake.simulator_dir, run_id, partition, generated[0].truth_part, versions
            )
        if parts is not None:
            truth = complete_truth(lake, parts)
    return SimulationResult(run_id, "", partition, rows, truth, 0.0, versions)


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
