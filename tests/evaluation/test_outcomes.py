"""Raw worker reports become the right Outcome; passed comes only from the keeper's verdict.

A report is whatever the server sends back: the keeper's verdict page (status, tamper flags,
notes, the child's details as JSON text), what was written to the bait descriptor, and how the
child ended. Any bytes a sample manages to put there are a verdict for that sample, never an
exception in the harness.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_metrics.evaluation.outcomes import Outcome, classify_report

PASSED, FAILED, TAMPERED, COMPLETED, SETUP = 1, 2, 3, 4, 5


def report(
    status: int | None = None,
    details: dict | str | None = None,
    *,
    flags: int = 0,
    notes: str = "",
    **kw: object,
) -> dict:
    verdict = None
    if status is not None:
        payload = details if isinstance(details, str) else json.dumps(details or {})
        verdict = {"status": status, "phase": 4, "flags": flags, "notes": notes, "payload": payload}
    base = {"verdict": verdict, "bait_bytes": 0, "bait": "", "timed_out": False, "exit_code": 0}
    base.update({"wall_s": 0.01, "peak_memory_kb": 1000, "unclean": None})
    base.update(kw)
    return base


def exc(*mro: str, message: str = "", errno: int | None = None) -> dict:
    return {
        "exc_mro": [*mro, "BaseException", "object"],
        "message": message,
        "errno": errno,
        "traceback": "Traceback ...",
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
    result = classify_report(report(FAILED, exc(*mro, message="boom")))
    assert result.outcome is expected
    assert result.error_type == mro[0] and result.error_message == "boom"
    assert not result.passed


def test_blocked_operations_are_sandbox_violations() -> None:
    eagain = exc("BlockingIOError", "OSError", "Exception", errno=11)
    erofs = exc("OSError", "Exception", errno=30)
    thread = exc("RuntimeError", "Exception", message="can't start new thread")
    plain_oserror = exc("FileNotFoundError", "OSError", "Exception", errno=2)
    for details in (eagain, erofs, thread):
        assert classify_report(report(FAILED, details)).outcome is Outcome.SANDBOX_VIOLATION
    recorded = report(FAILED, exc("ValueError", "Exception"), notes="violation: network: x")
    assert classify_report(recorded).outcome is Outcome.SANDBOX_VIOLATION
    assert classify_report(report(FAILED, plain_oserror)).outcome is Outcome.OTHER_EXCEPTION


def test_passed_only_from_the_keepers_verdict() -> None:
    assert classify_report(report(PASSED, {"stdout": "hi"})).outcome is Outcome.PASSED
    assert classify_report(report(COMPLETED, {})).outcome is Outcome.PASSED  # no test to re-check
    # exit code 0 without a verdict (os._exit(0)), or "passed" printed, is a crash.
    assert classify_report(report(None, exit_code=0)).outcome is Outcome.CRASH
    printed = report(None, exit_code=0, bait="passed")
    assert classify_report(printed).outcome is Outcome.CRASH
    refused = report(PASSED, {}, notes="violation: process spawn: os.system")
    result = classify_report(refused)
    assert result.outcome is Outcome.SANDBOX_VIOLATION
    assert result.violations == ("process spawn: os.system",)


def test_tampering_wins_over_every_other_verdict() -> None:
    flagged = classify_report(report(TAMPERED, {}, flags=8))
    assert flagged.outcome is Outcome.TAMPERED and "pristine builtins" in (flagged.detail or "")
    bait = classify_report(report(PASSED, {}, bait_bytes=40, bait='{"status": "completed"}'))
    assert bait.outcome is Outcome.TAMPERED and "report channel" in (bait.detail or "")
    late = classify_report(report(TAMPERED, {}, flags=1, timed_out=True))
    assert late.outcome is Outcome.TAMPERED and "forged" in (late.detail or "")


def test_signals_timeouts_and_lost_workers() -> None:
    assert classify_report(report(None, exit_code=-11)).outcome is Outcome.CRASH
    assert classify_report(report(None, exit_code=-24)).outcome is Outcome.TIMEOUT  # SIGXCPU
    assert classify_report(report(None, exit_code=-9, timed_out=True)).outcome is Outcome.TIMEOUT
    near_limit = report(None, exit_code=-9, peak_memory_kb=250 * 1024)
    assert classify_report(near_limit, memory_mb=256).outcome is Outcome.MEMORY_EXCEEDED
    assert classify_report({"worker_lost": "the worker died"}).outcome is Outcome.CRASH
    assert classify_report({"harness_error": "boom"}).outcome is Outcome.HARNESS_ERROR
    assert classify_report(report(SETUP, "OSError()")).outcome is Outcome.HARNESS_ERROR


def test_unclean_worker_keeps_the_samples_own_verdict() -> None:
    result = classify_report(report(PASSED, {}, unclean="/tmp could not be emptied"))
    assert result.outcome is Outcome.PASSED
    assert "replaced" in (result.detail or "") and "/tmp could not be emptied" in (
        result.detail or ""
    )


def test_outcome_values_are_stable() -> None:
    assert [o.value for o in Outcome] == [
        "passed", "assertion_failure", "syntax_error", "import_error", "name_or_attribute_error",
        "type_error", "value_error", "index_key_error", "zero_division", "recursion_error",
        "other_exception", "timeout", "memory_exceeded", "crash", "sandbox_violation",
        "tampered", "no_code_extracted", "harness_error",
    ]  # fmt: skip
    assert [o for o in Outcome if not o.has_verdict] == [Outcome.HARNESS_ERROR]


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 100_000 + "]" * 100_000,  # nested deeper than any parser's recursion
        '{"exc_mro": ' + "[" * 50_000 + "]" * 50_000 + "}",
        "\udcff\ud800 not json",
        "x" * 3_000_000,  # larger than a verdict page could hold
        '{"exc_mro": "AssertionError", "errno": [1], "message": 7, "duration_s": "slow"}',
        "null",
    ],
)
def test_any_payload_is_a_verdict_never_an_exception(payload: str) -> None:
    for status in (PASSED, FAILED, TAMPERED):
        result = classify_report(report(status, payload, notes=payload[:1000]))
        assert result.outcome in (Outcome.PASSED, Outcome.OTHER_EXCEPTION, Outcome.TAMPERED)


_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(["verdict", "bait_bytes", "bait", "timed_out", "exit_code", "wall_s",
                         "peak_memory_kb", "unclean", "status", "flags", "notes", "payload"])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_KEYS, _JUNK | st.dictionaries(_KEYS, _JUNK, max_size=5), max_size=8))
def test_malformed_reports_never_raise(junk: dict) -> None:
    result = classify_report(junk)
    assert isinstance(result.outcome, Outcome)
