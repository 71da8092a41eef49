"""Run a simulation as several processes, one partition each (the rows do not change)."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from typing import Any

from codex_metrics.errors import ParameterError
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import SimulationConfig
from codex_metrics.telemetry.simulator import (
    BLOCK_SIZE,
    ProgressCallback,
    SimulationResult,
    simulate,
)

__all__ = ["auto_workers", "simulate_parallel"]


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
