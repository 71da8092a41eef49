"""Outcomes of one executed sample, and how a worker's raw report becomes one.

A verdict of :attr:`Outcome.PASSED` comes only from the sandboxed child reporting that the whole
program, tests included, ran to its end. An exit code of 0, ``SystemExit(0)``, ``os._exit(0)``,
an ``atexit`` hook or text printed to stdout never produce it: the child writes its report on a
private pipe only after ``exec`` returned, and exits with ``os._exit`` right after, so no
``atexit`` hook runs.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["ExecutionResult", "Outcome", "classify_report"]


class Outcome(StrEnum):
    """Why a sample passed or failed. Values are the stable strings stored in results."""

    PASSED = "passed"
    ASSERTION_FAILURE = "assertion_failure"
    SYNTAX_ERROR = "syntax_error"
    IMPORT_ERROR = "import_error"
    NAME_OR_ATTRIBUTE_ERROR = "name_or_attribute_error"
    TYPE_ERROR = "type_error"
    VALUE_ERROR = "value_error"
    INDEX_KEY_ERROR = "index_key_error"
    ZERO_DIVISION = "zero_division"
    RECURSION_ERROR = "recursion_error"
    OTHER_EXCEPTION = "other_exception"
    TIMEOUT = "timeout"
    MEMORY_EXCEEDED = "memory_exceeded"
    CRASH = "crash"
    SANDBOX_VIOLATION = "sandbox_violation"
    NO_CODE_EXTRACTED = "no_code_extracted"
    HARNESS_ERROR = "harness_error"

    @property
    def passed(self) -> bool:
        """Whether this outcome counts as a pass."""
        return self is Outcome.PASSED


# Exception classes, most specific first along an exception's MRO.
_BY_EXCEPTION: dict[str, Outcome] = {
    "AssertionError": Outcome.ASSERTION_FAILURE,
    "SyntaxError": Outcome.SYNTAX_ERROR,
    "ImportError": Outcome.IMPORT_ERROR,
    "NameError": Outcome.NAME_OR_ATTRIBUTE_ERROR,
    "AttributeError": Outcome.NAME_OR_ATTRIBUTE_ERROR,
    "TypeError": Outcome.TYPE_ERROR,
    "ValueError": Outcome.VALUE_ERROR,
    "IndexError": Outcome.INDEX_KEY_ERROR,
    "KeyError": Outcome.INDEX_KEY_ERROR,
    "ZeroDivisionError": Outcome.ZERO_DIVISION,
    "RecursionError": Outcome.RECURSION_ERROR,
    "MemoryError": Outcome.MEMORY_EXCEEDED,
}
# errno values of operations the sandbox blocks: EPERM, EACCES, EAGAIN (process limit),
# EROFS, ENETUNREACH, EHOSTUNREACH, EFBIG (file size limit).
_VIOLATION_ERRNOS = {1, 13, 11, 30, 101, 113, 27}
_TIMEOUT_SIGNALS = {signal.SIGXCPU}


@dataclass(frozen=True)
class ExecutionResult:
    """The verdict on one sample, with the evidence behind it.

    Attributes:
        outcome: the category.
        error_type: exception class name, when an exception ended the program.
        error_message: its message, truncated.
        traceback: the last frames of its traceback, truncated.
        duration_s: run time of the program (in the child when it reported, else wall time).
        peak_memory_kb: peak resident memory of the sample's main process.
        exit_code: exit code of the child (negative: killed by that signal).
        stdout: the first characters the sample printed.
        violations: operations the sandbox refused, as recorded by the child's audit hook.
        detail: one line on how the verdict was reached when no exception explains it.
    """

    outcome: Outcome
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    duration_s: float | None = None
    peak_memory_kb: int | None = None
    exit_code: int | None = None
    stdout: str = ""
    violations: tuple[str, ...] = field(default_factory=tuple)
    detail: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the sample passed."""
        return self.outcome.passed


def _exception_outcome(mro: list[str], errno: int | None, message: str) -> Outcome:
    if errno in _VIOLATION_ERRNOS and "OSError" in mro:
        return Outcome.SANDBOX_VIOLATION
    if "gaierror" in mro or "herror" in mro:
        return Outcome.SANDBOX_VIOLATION
    if mro and mro[0] == "RuntimeError" and "can't start new thread" in message:
        return Outcome.SANDBOX_VIOLATION
    for name in mro:
        if name in _BY_EXCEPTION:
            return _BY_EXCEPTION[name]
    return Outcome.OTHER_EXCEPTION


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def classify_report(report: dict[str, Any], *, memory_mb: int | None = None) -> ExecutionResult:
    """Turn a worker's raw report (see ``SandboxWorker.run``) into an :class:`ExecutionResult`.

    Order of precedence: lost worker (crash), wall-clock timeout, operations refused by the
    sandbox, the child's own report (completed or exception), then how the child died.
    """
    if "worker_lost" in report:
        return ExecutionResult(Outcome.CRASH, detail=f"worker lost: {report['worker_lost']}")
    if "harness_error" in report:
        return ExecutionResult(Outcome.HARNESS_ERROR, detail=str(report["harness_error"])[:500])
    exit_code = report.get("exit_code")
    wall = report.get("wall_s")
    peak = report.get("peak_memory_kb")
    if report.get("timed_out"):
        return ExecutionResult(
            Outcome.TIMEOUT, duration_s=wall, peak_memory_kb=peak, exit_code=exit_code,
            detail="wall-clock limit reached; the sample's processes were killed",
        )  # fmt: skip
    try:
        child = json.loads(report.get("raw") or "null")
    except ValueError:
        child = None
    if not isinstance(child, dict):
        child = {}
    if "nonce" in report and child and child.get("nonce") != report["nonce"]:
        return ExecutionResult(
            Outcome.SANDBOX_VIOLATION, duration_s=wall, peak_memory_kb=peak, exit_code=exit_code,
            detail="forged report: the sample wrote its own verdict to the harness's pipe",
        )  # fmt: skip
    violations = tuple(str(v) for v in child.get("violations") or ())[:20]
    common: dict[str, Any] = {
        "duration_s": child.get("duration_s", wall),
        "peak_memory_kb": peak,
        "exit_code": exit_code,
        "stdout": str(child.get("stdout") or "")[:2000],
        "violations": violations,
    }
    status = child.get("status")
    if status == "exception":
        mro = [str(n) for n in child.get("exc_mro") or []]
        message = str(child.get("message") or "")
        outcome = _exception_outcome(mro, child.get("errno"), message)
        if violations:
            outcome = Outcome.SANDBOX_VIOLATION
        return ExecutionResult(
            outcome, error_type=mro[0] if mro else None, error_message=message[:1000],
            traceback=str(child.get("traceback") or "")[-4000:] or None, **common,
        )  # fmt: skip
    if status == "completed":
        if violations:
            return ExecutionResult(
                Outcome.SANDBOX_VIOLATION, detail="completed after a refused operation", **common
            )
        return ExecutionResult(Outcome.PASSED, **common)
    if status in ("setup_error", "report_error"):
        return ExecutionResult(
            Outcome.HARNESS_ERROR, detail=str(child.get("message") or status), **common
        )
    # No report: the child exited or was killed without finishing the tests.
    if isinstance(exit_code, int) and exit_code < 0:
        if -exit_code in _TIMEOUT_SIGNALS:
            return ExecutionResult(Outcome.TIMEOUT, detail="CPU-time limit reached", **common)
        near_limit = memory_mb is not None and peak is not None and peak >= 0.9 * memory_mb * 1024
        outcome = Outcome.MEMORY_EXCEEDED if near_limit else Outcome.CRASH
        return ExecutionResult(outcome, detail=f"killed by {_signal_name(exit_code)}", **common)
    return ExecutionResult(
        Outcome.CRASH, detail=f"exited with code {exit_code} before the tests finished", **common
    )
