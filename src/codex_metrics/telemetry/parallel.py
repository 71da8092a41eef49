"""Run a simulation as several processes, one partition each (the rows do not change).

Workers only generate: each writes its partition's data files and hands their descriptions
back; the parent commits the whole world (one commit per table) and records it, so readers see
the old world or the new one, never a third of it. Workers die with their parent
(``PR_SET_PDEATHSIG`` on Linux, and a parent check), so a killed run never publishes later.
"""

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
    ALL_TABLES,
    GeneratedPartition,
    ProgressCallback,
    SimulationResult,
    _write_sample,
    block_size_for,
    generate,
    publish,
    simulate,
)

__all__ = ["auto_workers", "run_simulation", "simulate_parallel", "what_a_simulation_replaces"]


def _die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); check it is alive."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent check below still applies
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _worker(
    root: str,
    cfg: SimulationConfig,
    partition: tuple[int, int],
    block_size: int | None,
    sample: bool,
    parent: int,
    messages: Any,
) -> None:
    """Generate one partition in a child process; report progress and the files made."""
    _die_with_parent(parent)
    try:
        generated = generate(
            Lake.open(root),
            cfg,
            partition=partition,
            block_size=block_size,
            sample=sample,
            on_progress=lambda done, total: messages.put(("progress", partition[0], done, total)),
        )
        messages.put(("done", partition[0], generated, None))
    except BaseException as exc:  # reported to the parent, which re-raises
        messages.put(("error", partition[0], None, exc))


def auto_workers(cfg: SimulationConfig, *, block_size: int | None = None) -> int:
    """Processes worth starting: one per core, none for runs too small to repay the start-up."""
    blocks = -(-cfg.developers // (block_size or block_size_for(cfg.developers)))
    if cfg.developers * cfg.days < 100_000:
        return 1
    return max(1, min(os.cpu_count() or 1, blocks))


def simulate_parallel(
    lake: Lake,
    cfg: SimulationConfig,
    *,
    workers: int,
    block_size: int | None = None,
    sample_csv: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Run ``workers`` partitions of ``cfg`` in parallel processes (same rows as one process).

    Each worker is :func:`simulate` with ``partition=(i, workers)``; the truth is complete when
    the last one finishes. Errors in a worker are re-raised here after every worker stopped.
    """
    if workers < 1:
        raise ParameterError("--workers", f"must be at least 1, got {workers}")
    blocks = -(-cfg.developers // (block_size or block_size_for(cfg.developers)))
    workers = min(workers, blocks)  # a worker without a block would have nothing to do
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
                sample_csv is not None and i == 0,
                os.getpid(),
                messages,
            ),
            daemon=True,
        )
        for i in range(workers)
    ]
    done_steps = [0] * workers
    total_steps = [0] * workers
    results: dict[int, GeneratedPartition] = {}
    error: BaseException | None = None
    with lake.writing(ALL_TABLES):
        for p in procs:
            p.start()
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
            lake.discard(w for g in results.values() for w in g.writes.values())
            raise error
        generated = [results[i] for i in range(workers)]
        # The parent publishes every partition as one world (partition (0, 1): no siblings).
        published = publish(lake, generated)
    sample = generated[0].sample
    if sample_csv is not None and sample is not None:
        _write_sample(sample_csv, sample)
    return SimulationResult(
        published.run_id,
        cfg.scenario,
        (0, 1),
        published.rows,
        published.truth_path,
        time.perf_counter() - started,
        published.versions,
    )


def what_a_simulation_replaces(lake: Lake) -> list[str]:
    """What a new simulated world would replace or be mixed with, in words (empty: nothing)."""
    from codex_metrics.lake import SIMULATOR_SOURCE

    snapshot = lake.snapshot(sources="all")
    found = []
    experiments = snapshot.tables["experiments"]
    sim_rows = sum(f.rows or 0 for f in experiments.files if f.source == SIMULATOR_SOURCE)
    if sim_rows:
        con = snapshot.connect()
        ids = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT experiment_id FROM experiments WHERE source = ? ORDER BY 1",
                [SIMULATOR_SOURCE],
            ).fetchall()
        ]
        run = snapshot.world.run_id if snapshot.world else "the current simulated world"
        found.append(f"simulated world {run} with its experiment {', '.join(ids)} (replaced)")
    real = [s for s in snapshot.sources_read() if s != SIMULATOR_SOURCE]
    if real:
        found.append(
            f"real data of source {', '.join(real)} (kept, but a simulated world beside real "
            "data is read only with --source simulator or all)"
        )
    return found


def run_simulation(
    lake: Lake,
    cfg: SimulationConfig,
    *,
    partition: tuple[int, int] = (0, 1),
    workers: int = 0,
    replace: bool = False,
    sample_csv: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> SimulationResult:
    """What ``codex-metrics simulate`` runs: one share (``partition``) or the whole world.

    Args:
        lake: destination lake.
        cfg: the request.
        partition: ``(i, n)`` for one share of a sharded run; ``(0, 1)`` for the whole world.
        workers: processes for a whole world (0: as many as are worth it).
        replace: go ahead although the lake holds an experiment or real data.
        sample_csv: also write the first 1,000 suggestion rows here.
        on_progress: called with (steps done, steps total).

    Raises:
        ParameterError: the lake holds an experiment or real data and ``replace`` is false
            (the message says what would be replaced), or ``--workers`` with ``--partition``.
    """
    if not replace:
        found = what_a_simulation_replaces(lake)
        if found:
            raise ParameterError(
                "--replace",
                f"{lake.root} holds {'; and '.join(found)}. Pass --replace to simulate anyway, "
                "or --lake with another folder (a demo world is best kept in its own lake)",
            )
    if partition != (0, 1):
        if workers > 1:
            raise ParameterError("--workers", "use either --partition or --workers, not both")
        return simulate(
            lake, cfg, partition=partition, sample_csv=sample_csv, on_progress=on_progress
        )
    return simulate_parallel(
        lake,
        cfg,
        workers=workers or auto_workers(cfg),
        sample_csv=sample_csv,
        on_progress=on_progress,
    )
