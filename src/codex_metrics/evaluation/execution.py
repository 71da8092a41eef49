"""Running many programs on a few sandboxed fork servers.

Each worker thread owns one :class:`~codex_metrics.evaluation.sandbox.SandboxWorker` (a
bubblewrap sandbox started once) and feeds it programs one at a time. By default the pool
starts with one worker per core and grows (up to :func:`default_workers`) while samples sit in
a wall-clock wait, so a time-out does not hold the others back and fast samples do not pay
for workers they do not need. Results come back in input order whatever order the workers
finish in.

No sample can stop the run. A sample that kills its worker is a ``crash`` and the worker is
restarted; a worker that cannot restore a clean sandbox after a sample is replaced (the sample
keeps its own verdict); anything else that goes wrong in the harness for one sample makes that
sample a ``harness_error`` (a missing verdict) and the others go on. Only when no worker can be
started at all does the run stop, with :class:`~codex_metrics.errors.SandboxError`.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence

from codex_metrics.errors import ParameterError, SandboxError
from codex_metrics.evaluation.outcomes import ExecutionResult, Outcome, classify_report
from codex_metrics.evaluation.sandbox import (
    INSTALL_HINT,
    ExecutionLimits,
    Program,
    SandboxConfig,
    SandboxWorker,
    bounded_sandbox,
    bwrap_path,
)

__all__ = ["check_sandbox", "default_workers", "run_programs"]

ResultCallback = Callable[[int, ExecutionResult], None]
_START_ATTEMPTS = 3  # consecutive failures to start a worker before its thread gives up
#: A sample running longer than this is waiting (a time-out, a sleep): the pool may grow.
_STUCK_SECONDS = 0.25
_POLL_SECONDS = 0.05


def default_workers() -> int:
    """Workers to use: four per core (at least 4, at most 32).

    Most samples finish in milliseconds, but a timing-out sample holds its worker for the whole
    time limit without needing a core; oversubscribing keeps the cores busy meanwhile.
    """
    return max(4, min(32, 4 * (os.cpu_count() or 1)))


def check_sandbox(sandbox: SandboxConfig) -> None:
    """Refuse to run untrusted code when bubblewrap is missing and the sandbox is on.

    Raises:
        SandboxError: with how to install bubblewrap or how to opt out.
    """
    if sandbox.enabled and bwrap_path(sandbox) is None:
        raise SandboxError(
            f"bubblewrap (bwrap) is not installed, refusing to run untrusted code; {INSTALL_HINT}"
        )


class _Run:
    """The shared state of one :func:`run_programs` call."""

    def __init__(self, count: int, on_result: ResultCallback | None) -> None:
        self.results: list[ExecutionResult | None] = [None] * count
        self.jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.on_result = on_result
        self.started_any = False
        self.start_errors: list[str] = []
        self.busy_since: dict[int, float] = {}  # worker thread ident -> its sample's start

    def stuck(self) -> int:
        """Workers whose current sample has run longer than :data:`_STUCK_SECONDS`."""
        now = time.monotonic()
        with self.lock:
            return sum(now - t > _STUCK_SECONDS for t in self.busy_since.values())

    def record(self, index: int, result: ExecutionResult) -> None:
        self.results[index] = result
        if self.on_result is not None:
            try:
                self.on_result(index, result)
            except Exception:  # noqa: BLE001 - a progress display must not lose verdicts
                pass


def _work(
    run: _Run,
    programs: Sequence[str | Program | None],
    limits: ExecutionLimits,
    config: SandboxConfig,
) -> None:
    # The worker is started from this thread and lives exactly as long as it:
    # bwrap's --die-with-parent is tied to the thread that forked it.
    worker = SandboxWorker(config)
    failures = 0
    try:
        while True:
            try:
                index = run.jobs.get_nowait()
            except queue.Empty:
                return
            me = threading.get_ident()
            with run.lock:
                run.busy_since[me] = time.monotonic()
            try:
                report = worker.run(programs[index] or "", limits)
            except SandboxError as exc:  # this worker cannot start: leave the sample to others
                failures += 1
                with run.lock:
                    run.start_errors.append(str(exc))
                run.jobs.put(index)
                if failures >= _START_ATTEMPTS:
                    return
                continue
            except Exception as exc:  # noqa: BLE001 - a harness bug costs one verdict, no more
                worker.kill()
                report = {"harness_error": f"{type(exc).__name__}: {exc}"[:500]}
            finally:
                with run.lock:
                    run.busy_since.pop(me, None)
            failures = 0
            if worker.started:
                run.started_any = True
            run.record(index, classify_report(report, memory_mb=limits.memory_mb))
    finally:
        worker.close()


def run_programs(
    programs: Sequence[str | Program | None],
    *,
    limits: ExecutionLimits | None = None,
    sandbox: SandboxConfig | None = None,
    workers: int | None = None,
    on_result: ResultCallback | None = None,
) -> list[ExecutionResult]:
    """Run each program in the sandbox and classify what happened.

    Args:
        programs: Python programs to run: a :class:`Program` (with its task's test, so a
            sample that passes also gets the pristine re-check), a plain string, or ``None``
            for a sample without code (its verdict is :attr:`Outcome.NO_CODE_EXTRACTED`).
        limits: per-sample limits.
        sandbox: isolation settings (bubblewrap on by default); tmpfs sizes are scaled down
            when the workers' together would not fit in a quarter of the machine's memory.
        workers: a fixed number of parallel sandboxed workers (default: one per core, growing
            up to :func:`default_workers` while samples wait on their time limit).
        on_result: called as ``on_result(index, result)`` as each result arrives (from worker
            threads; keep it quick and thread-safe).

    Returns:
        One :class:`ExecutionResult` per program, in input order.

    Raises:
        SandboxError: the sandbox is unavailable (see :data:`INSTALL_HINT`) or no worker
            could be started.
        ParameterError: ``workers`` is not positive.
    """
    limits = limits or ExecutionLimits()
    sandbox = sandbox or SandboxConfig()
    count = workers if workers is not None else default_workers()
    if count < 1:
        raise ParameterError("workers", f"must be at least 1, not {count}")
    check_sandbox(sandbox)
    run = _Run(len(programs), on_result)
    for index, program in enumerate(programs):
        if program is None:
            run.record(
                index, ExecutionResult(Outcome.NO_CODE_EXTRACTED, detail="no code in the answer")
            )
        else:
            run.jobs.put(index)
    pending = run.jobs.qsize()
    if pending:
        most = min(count, pending)
        # Explicit workers: a fixed pool. Default: one per core, more while samples wait.
        first = most if workers is not None else min(most, os.cpu_count() or 1)
        config = bounded_sandbox(sandbox, most) if sandbox.enabled else sandbox
        pool: list[threading.Thread] = []

        def grow() -> None:
            thread = threading.Thread(
                target=_work,
                args=(run, programs, limits, config),
                name=f"eval-worker-{len(pool)}",
                daemon=True,
            )
            pool.append(thread)
            thread.start()

        for _ in range(first):
            grow()
        while len(pool) < most and any(t.is_alive() for t in pool):
            alive = sum(t.is_alive() for t in pool)
            if not run.jobs.empty() and alive < first + run.stuck():
                grow()
            else:
                time.sleep(_POLL_SECONDS)
        for thread in pool:
            thread.join()
    missing = [i for i, r in enumerate(run.results) if r is None]
    if missing and not run.started_any:
        reason = run.start_errors[-1] if run.start_errors else "unknown reason"
        raise SandboxError(f"no sandbox worker could be started: {reason}")
    for index in missing:
        reason = run.start_errors[-1] if run.start_errors else "no worker was left to run it"
        run.record(index, ExecutionResult(Outcome.HARNESS_ERROR, detail=f"not run: {reason}"[:500]))
    return [r for r in run.results if r is not None]
