"""Raw worker reports become the right Outcome, and passed comes only from a completed run."""

from __future__ import annotations

import json

import pytest

from codex_metrics.evaluation.outcomes import Outcome, classify_report


def report(child: dict | None, **kw: object) -> dict:
    base = {
        "raw": json.dumps(child) if child is not None else "",
        "timed_out": False,
        "exit_code": 0,
    }
    base.update({"wall_s": 0.01, "peak_memory_kb": 1000})
    base.update(kw)
    return base


def exc(
    *mro: str, message: str = "", errno: int | None = None, violations: list[str] | None = None
) -> dict:
    return {
        "status": "exception",
        "exc_mro": [*mro, "BaseException", "object"],
        "message": message,
        "errno": errno,
        "traceback": "Traceback ...",
        "violations": violations or [],
        "duration_s": 0.002,
    }


@pytest.mark.parametrize(
    ("mro", "expected"),
    [
        (("AssertionError", "Exception"), Outcome.ASSERTION_FAILURE),
        (("IndentationError", "SyntaxError", "Exception"), Outcome.SYNTAX_ERROR),
        (("ModuleNotFoundError", "ImportError", "Exception"), Outcome.IMPORT_ERROR),
        (("UnboundLocalError", "NameError", "Exception"), Outcome.NAME_OR_ATTRIBUTE_ERROR),
        (("AttributeError", "Exception"), Outcome.NAME_OR_ATTRIBUTE_ERROR),
        (("TypeError", "Exception"), Outcome.TYPE_ERROR),
        (("UnicodeDecodeError", "UnicodeError", "ValueError", "Exception"), Outcome.VALUE_ERROR),
        (("KeyError", "LookupError", "Exception"), Outcome.INDEX_KEY_ERROR),
        (("IndexError", "LookupError", "Exception"), Outcome.INDEX_KEY_ERROR),
        (("ZeroDivisionError", "ArithmeticError", "Exception"), Outcome.ZERO_DIVISION),
        (("RecursionError", "RuntimeError", "Exception"), Outcome.RECURSION_ERROR),
        (("MemoryError", "Exception"), Outcome.MEMORY_EXCEEDED),
        (("StopIteration", "Exception"), Outcome.OTHER_EXCEPTION),
        (("SystemExit",), Outcome.OTHER_EXCEPTION),
        (("EOFError", "Exception"), Outcome.OTHER_EXCEPTION),
    ],
)
def test_exception_classes_map_to_outcomes(mro: tuple[str, ...], expected: Outcome) -> None:
    result = classify_report(report(exc(*mro, message="boom")))
    assert result.outcome is expected
    assert result.error_type == mro[0] and result.error_message == "boom"
    assert not result.passed


def test_blocked_operations_are_sandbox_violations() -> None:
    eagain = exc("BlockingIOError", "OSError", "Exception", errno=11)
    erofs = exc("OSError", "Exception", errno=30)
    thread = exc("RuntimeError", "Exception", message="can't start new thread")
    recorded = exc("ValueError", "Exception", violations=["network: socket.connect"])
    plain_oserror = exc("FileNotFoundError", "OSError", "Exception", errno=2)
    for child in (eagain, erofs, thread, recorded):
        assert classify_report(report(child)).outcome is Outcome.SANDBOX_VIOLATION
    assert classify_report(report(plain_oserror)).outcome is Outcome.OTHER_EXCEPTION


def test_passed_only_from_a_completed_report() -> None:
    completed = {"status": "completed", "violations": [], "duration_s": 0.01, "stdout": "hi"}
    assert classify_report(report(completed)).outcome is Outcome.PASSED
    # exit code 0 without a report (os._exit(0)), or "passed" printed, is a crash.
    assert classify_report(report(None, exit_code=0)).outcome is Outcome.CRASH
    assert classify_report(report(None, exit_code=0, raw="passed")).outcome is Outcome.CRASH
    refused = dict(completed, violations=["process spawn: os.system"])
    assert classify_report(report(refused)).outcome is Outcome.SANDBOX_VIOLATION


def test_signals_timeouts_and_lost_workers() -> None:
    assert classify_report(report(None, exit_code=-11)).outcome is Outcome.CRASH
    assert classify_report(report(None, exit_code=-24)).outcome is Outcome.TIMEOUT  # SIGXCPU
    assert classify_report(report(None, exit_code=-9, timed_out=True)).outcome is Outcome.TIMEOUT
    near_limit = report(None, exit_code=-9, peak_memory_kb=250 * 1024)
    assert classify_report(near_limit, memory_mb=256).outcome is Outcome.MEMORY_EXCEEDED
    assert classify_report({"worker_lost": "the worker died"}).outcome is Outcome.CRASH
    assert classify_report({"harness_error": "boom"}).outcome is Outcome.HARNESS_ERROR
    assert classify_report(report({"status": "setup_error"})).outcome is Outcome.HARNESS_ERROR


def test_outcome_values_are_stable() -> None:
    assert [o.value for o in Outcome] == [
        "passed", "assertion_failure", "syntax_error", "import_error", "name_or_attribute_error",
        "type_error", "value_error", "index_key_error", "zero_division", "recursion_error",
        "other_exception", "timeout", "memory_exceeded", "crash", "sandbox_violation",
        "no_code_extracted", "harness_error",
    ]  # fmt: skip


def test_a_report_without_the_worker_nonce_is_forged() -> None:
    completed = {"status": "completed", "violations": [], "nonce": "abc"}
    assert classify_report(report(completed, nonce="abc")).outcome is Outcome.PASSED
    forged = classify_report(report({"status": "completed", "violations": []}, nonce="abc"))
    assert forged.outcome is Outcome.SANDBOX_VIOLATION and "forged" in (forged.detail or "")
