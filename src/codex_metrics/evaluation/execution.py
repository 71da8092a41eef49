"""Running many programs on a few sandboxed fork servers.

Each worker thread owns one :class:`~codex_metrics.evaluation.sandbox.SandboxWorker` (a
bubblewrap sandbox started once) and feeds it programs one at a time. There are more workers
than cores by default, so samples stuck in a wall-clock wait do not hold the others back.
Results come back in input order whatever order the workers finish in.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence

from codex_metrics.errors import ParameterError, SandboxError
from codex_metrics.evaluation.outcomes import ExecutionResult, Outcome, classify_report
from codex_metrics.evaluation.sandbox import (
    INSTALL_HINT,
    ExecutionLimits,
    SandboxConfig,
    SandboxWorker,
    bwrap_path,
)

__all__ = ["check_sandbox", "default_workers", "run_programs"]

ResultCallback = Callable[[int, ExecutionResult], None]


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


def run_programs(
    programs: Sequence[str | None],
    *,
    limits: ExecutionLimits | None = None,
    sandbox: SandboxConfig | None = None,
    workers: int | None = None,
    on_result: ResultCallback | None = None,
) -> list[ExecutionResult]:
    """Run each program in the sandbox and classify what happened.

    Args:
        programs: Python programs to run; ``None`` marks a sample without code (its verdict is
            :attr:`Outcome.NO_CODE_EXTRACTED`, nothing runs).
        limits: per-sample limits.
        sandbox: isolation settings (bubblewrap on by default).
        workers: parallel sandboxed workers (default: :func:`default_workers`).
        on_result: called as ``on_result(index, result)`` as each result arrives (from worker
            threads; keep it quick and thread-safe).

    Returns:
        One :class:`ExecutionResult` per program, in input order.

    Raises:
        SandboxError: the sandbox is unavailable (see :data:`INSTALL_HINT`).
        ParameterError: ``workers`` is not positive.
    """
    limits = limits or ExecutionLimits()
    sandbox = sandbox or SandboxConfig()
    count = workers if workers is not None else default_workers()
    if count < 1:
        raise ParameterError("workers", f"must be at least 1, not {count}")
    check_sandbox(sandbox)
    results: list[ExecutionResult | None] = [None] * len(programs)
    jobs: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index, program in enumerate(programs):
        if program is None:
            results[index] = ExecutionResult(
                Outcome.NO_CODE_EXTRACTED, detail="no code in the answer"
            )
            if on_result is not None:
                on_result(index, results[index])  # type: ignore[arg-type]
        else:
            jobs.put(index)
    pending = jobs.qsize()
    if pending == 0:
        return [r for r in results if r is not None]
    errors: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        # The worker is started from this thread and lives exactly as long as it:
        # bwrap's --die-with-parent is tied to the thread that forked it.
        worker = SandboxWorker(sandbox)
        try:
            while not stop.is_set():
                try:
                    index = jobs.get_nowait()
                except queue.Empty:
                    return
                report = worker.run(programs[index] or "", limits)
                result = classify_report(report, memory_mb=limits.memory_mb)
                results[index] = result
                if on_result is not None:
                    on_result(index, result)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)
            stop.set()
        finally:
            worker.close()

    threads = [
        threading.Thread(target=work, name=f"eval-worker-{i}", daemon=True)
        for i in range(min(count, pending))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise SandboxError(f"{len(missing)} sample(s) were not run; the workers stopped early")
    return [r for r in results if r is not None]
