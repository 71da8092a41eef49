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
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from codex_metrics.errors import ParameterError
from codex_metrics.lake import FileRef, Lake, TableWriter
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
from codex_metrics.telemetry._run_tables import team_rows, truth_part, whole_tables
from codex_metrics.telemetry.personas import (
    Population,
    draw_population,
)
from codex_metrics.telemetry.rollup import rollup_usage_daily_codes
from codex_metrics.telemetry.scenarios import SimulationConfig
from codex_metrics.telemetry.truth import write_part

__all__ = ["SOURCE", "SimulationResult", "run_id_for", "simulate"]

SOURCE = "simulator"
BLOCK_SIZE = 2048
SAMPLE_ROWS = 1000
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
                    "team_members": team_rows(cfg, pop, dev, d, block_ids[b]),
                    **generate_activity(cfg, pop, dev, b, ctx, block_ids[b]),
                }
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
            for table, data in whole_tables(
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
        lake.simulator_dir, run_id, partition, truth_part(cfg, pop, mine, run_id, sums)
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
