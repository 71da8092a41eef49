"""Outcomes of one executed sample, and how a worker's raw report becomes one.

A verdict of :attr:`Outcome.PASSED` comes only from the sample's verdict keeper (see
``_worker_guard.py``): the program, tests included, ran to its end in the sample's process, and
the task's ``check`` passed again against pristine builtins. An exit code of 0, ``SystemExit(0)``,
``os._exit(0)``, an ``atexit`` hook or text printed to stdout never produce it. A sample that
forged a harness event, wrote to the report channel, or passed only in its own namespace is
:attr:`Outcome.TAMPERED`.

Whatever bytes a sample manages to put into its report, the report is read here without an
exception escaping: a malformed or unreadable report is a verdict for that sample.
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["TAMPER_REASONS", "ExecutionResult", "Outcome", "classify_report"]

#: Why a sample is tampered: bit of the keeper's flags -> reason.
TAMPER_REASONS = {
    1: "a harness event was forged from the sample's code",
    2: "harness events came out of order (the harness's own control flow was altered)",
    4: "a trace or profile function was active during the pristine re-check",
    8: "the tests pass in the sample's namespace but fail against pristine builtins",
    16: "the re-check's namespace, builtins or modules were changed while it ran",
    32: "the verdict keeper was touched (closed, thrown into or inspected)",
    64: "the pristine re-check never finished",
    128: "bytes were written to the harness's report channel",
}
_STATUS_PASSED, _STATUS_FAILED, _STATUS_TAMPERED, _STATUS_COMPLETED, _STATUS_SETUP = 1, 2, 3, 4, 5
_MAX_DETAILS = 1 << 20


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
    TAMPERED = "tampered"
    NO_CODE_EXTRACTED = "no_code_extracted"
    HARNESS_ERROR = "harness_error"

    @property
    def passed(self) -> bool:
        """Whether this outcome counts as a pass."""
        return self is Outcome.PASSED

    @property
    def has_verdict(self) -> bool:
        """Whether the sample got a verdict (a harness error is a missing one)."""
        return self is not Outcome.HARNESS_ERROR


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


def _details(text: Any) -> dict[str, Any]:
    """The child's details (JSON text), or ``{}`` when they cannot be read: never an exception."""
    if not isinstance(text, str) or not text or len(text) > _MAX_DETAILS:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError, MemoryError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _tampered_detail(flags: int, bait: str) -> str:
    reasons = [text for bit, text in TAMPER_REASONS.items() if flags & bit]
    if bait:
        reasons.append(f"it wrote {bait!r}")
    return "tampered: " + "; ".join(reasons or ["unknown"])


def classify_report(report: dict[str, Any], *, memory_mb: int | None = None) -> ExecutionResult:
    """Turn a worker's raw report (see ``SandboxWorker.run``) into an :class:`ExecutionResult`.

    Order of precedence: lost worker (crash), harness error, tampering (bait bytes or the
    keeper's flags), wall-clock timeout, the keeper's verdict (passed, or the exception that ended
    the program, or refused operations), then how the child died. Never raises.
    """
    try:
        return _classify(report, memory_mb)
    except Exception as exc:  # noqa: BLE001 - a report we cannot read is the harness's fault
        return ExecutionResult(Outcome.HARNESS_ERROR, detail=f"unreadable report: {exc!r}"[:500])


def _classify(report: dict[str, Any], memory_mb: int | None) -> ExecutionResult:
    if "worker_lost" in report:
        return ExecutionResult(Outcome.CRASH, detail=f"worker lost: {report['worker_lost']}"[:500])
    if "harness_error" in report:
        return ExecutionResult(Outcome.HARNESS_ERROR, detail=str(report["harness_error"])[:500])
    exit_code = report.get("exit_code") if isinstance(report.get("exit_code"), int) else None
    wall = _number(report.get("wall_s"))
    peak = report.get("peak_memory_kb") if isinstance(report.get("peak_memory_kb"), int) else None
    verdict: dict[str, Any] = report["verdict"] if isinstance(report.get("verdict"), dict) else {}
    status = verdict.get("status")
    flags: int = verdict["flags"] if isinstance(verdict.get("flags"), int) else 0
    notes = _text(verdict.get("notes"), 20_000).splitlines()
    violations = tuple(n[len("violation: ") :][:300] for n in notes if n.startswith("violation: "))
    evidence = [n[len("evidence: ") :] for n in notes if n.startswith("evidence: ")]
    details = _details(verdict.get("payload"))
    unclean = _text(report.get("unclean"), 300)
    suffix = (
        f"; the worker could not be cleaned after it ({unclean}) and was replaced"
        if unclean
        else ""
    )
    common: dict[str, Any] = {
        "duration_s": _number(details.get("duration_s")) or wall,
        "peak_memory_kb": peak,
        "exit_code": exit_code,
        "stdout": _text(details.get("stdout"), 2000),
        "violations": violations[:20],
    }
    bait_bytes = report.get("bait_bytes")
    if (isinstance(bait_bytes, int) and bait_bytes > 0) or status == _STATUS_TAMPERED:
        bait = _text(report.get("bait"), 120)
        detail = _tampered_detail(flags | (128 if bait_bytes else 0), bait) + suffix
        return ExecutionResult(Outcome.TAMPERED, detail=detail[:1000], **common)
    if report.get("timed_out"):
        return ExecutionResult(
            Outcome.TIMEOUT, duration_s=wall, peak_memory_kb=peak, exit_code=exit_code,
            violations=violations[:20],
            detail="wall-clock limit reached; the sample's processes were killed" + suffix,
        )  # fmt: skip
    if any(n.startswith("rechecked: ") for n in notes):
        evidence.append("passed the pristine re-check")
    note = ("; ".join(evidence) + suffix).lstrip("; ") or None
    if status == _STATUS_FAILED:
        mro = [str(n) for n in details.get("exc_mro") or [] if isinstance(n, str)]
        message = _text(details.get("message"), 1000)
        errno = details.get("errno") if isinstance(details.get("errno"), int) else None
        outcome = _exception_outcome(mro, errno, message)
        if violations:
            outcome = Outcome.SANDBOX_VIOLATION
        return ExecutionResult(
            outcome, error_type=mro[0] if mro else None, error_message=message,
            traceback=_text(details.get("traceback"), 20_000)[-4000:] or None, detail=note,
            **common,
        )  # fmt: skip
    if status in (_STATUS_PASSED, _STATUS_COMPLETED):
        if violations:
            return ExecutionResult(
                Outcome.SANDBOX_VIOLATION, detail="completed after a refused operation" + suffix,
                **common,
            )  # fmt: skip
        return ExecutionResult(Outcome.PASSED, detail=note, **common)
    if status == _STATUS_SETUP:
        return ExecutionResult(
            Outcome.HARNESS_ERROR, detail=f"setup failed: {_text(verdict.get('payload'), 300)}",
            **common,
        )  # fmt: skip
    # No report: the child exited or was killed without finishing the tests.
    if exit_code is not None and exit_code < 0:
        if -exit_code in _TIMEOUT_SIGNALS:
            return ExecutionResult(
                Outcome.TIMEOUT, detail="CPU-time limit reached" + suffix, **common
            )
        near_limit = memory_mb is not None and peak is not None and peak >= 0.9 * memory_mb * 1024
        outcome = Outcome.MEMORY_EXCEEDED if near_limit else Outcome.CRASH
        return ExecutionResult(
            outcome, detail=f"killed by {_signal_name(exit_code)}{suffix}", **common
        )
    return ExecutionResult(
        Outcome.CRASH, detail=f"exited with code {exit_code} before the tests finished{suffix}",
        **common,
    )  # fmt: skip
