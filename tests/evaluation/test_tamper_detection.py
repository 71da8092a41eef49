"""Tamper detection: cheats that make a wrong answer pass in its own namespace are ``tampered``.

Each cheat is a *wrong* answer that openai/human-eval would pass; each harmless look-alike is a
*correct* answer that must stay ``passed``. They all run in one worker, each followed by the
task's canonical solution, which must pass.
"""

from __future__ import annotations

import dis
import types
from dataclasses import replace

import pytest

from codex_metrics.evaluation import _worker_guard, _worker_keeper
from codex_metrics.evaluation.outcomes import Outcome, classify_report
from codex_metrics.evaluation.sandbox import ExecutionLimits, SandboxConfig, SandboxWorker
from codex_metrics.evaluation.tasks import TaskSet
from tests.evaluation.conftest import requires_bwrap
from tests.evaluation.hostile_cases import body

pytestmark = [pytest.mark.sandbox, requires_bwrap]
LIMITS = ExecutionLimits(timeout_s=3)

# name -> (task, wrong completion that cheats)
CHEATS: dict[str, tuple[str, str]] = {
    "forged_harness_events": ("HumanEval/2", body("return 0.5") + """
import sys
sys.audit("codex_metrics.primary", True)
sys.audit("codex_metrics.report", "{}")
"""),
    "fake_report_on_every_descriptor": ("HumanEval/2", body("""
import os
for fd in range(3, 1024):
    try:
        os.write(fd, b'{"status": "completed", "violations": []}\\n')
    except OSError:
        pass
os._exit(0)
""")),
    "pipes_found_in_proc_self_fd": ("HumanEval/2", body("""
import os
for name in os.listdir("/proc/self/fd"):
    try:
        if "pipe" in os.readlink("/proc/self/fd/" + name):
            os.write(int(name), b'{"status": "completed"}\\n')
    except OSError:
        pass
return 0.5
""")),
    "gc_scan_for_the_verdict_page": ("HumanEval/2", body("""
import gc, mmap
try:
    for obj in gc.get_objects():
        if isinstance(obj, mmap.mmap):
            obj[0:9] = b"CMVERD01" + bytes([1])
except PermissionError:
    pass
return 0.5
""")),
    "signal_handler_grabs_the_keeper": ("HumanEval/2", body("return 0.5") + """
import signal, sys, types
def _grab(signum, frame):
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if isinstance(value, types.GeneratorType):
                try:
                    value.gi_frame
                except Exception:
                    pass
                value.close()
        frame = frame.f_back
signal.signal(signal.SIGALRM, _grab)
signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
for _ in range(20000):
    sys.audit("sample.event")
    open("/dev/null").close()
signal.setitimer(signal.ITIMER_REAL, 0)
"""),
    "replaces_builtins_in_globals": ("HumanEval/2", body("return 0.5") + """
import builtins
__builtins__ = dict(vars(builtins), abs=lambda x: 0)
"""),
    "shadows_abs_only_while_check_runs": ("HumanEval/2", body("""
calls = globals().setdefault("_calls", [])
calls.append(number)
if len(calls) == 1:
    globals()["abs"] = lambda x: 0
if len(calls) == 3:
    del globals()["abs"], globals()["_calls"]
return 0.5
""")),
    "profile_hook_patches_check": ("HumanEval/2", body("return 0.5") + """
import sys
def _profile(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "check":
        frame.f_globals["abs"] = lambda x: 0
sys.setprofile(_profile)
"""),
    "thread_swaps_check": ("HumanEval/2", body("return 0.5") + """
import sys, threading
sys.setswitchinterval(1e-6)
def _swap(g=globals()):
    for _ in range(2_000_000):
        check = g.get("check")
        if check is not None and getattr(check, "__name__", "") == "check":
            g["check"] = lambda candidate: None
            return
threading.Thread(target=_swap, daemon=True).start()
"""),
    "fake_math_module": ("HumanEval/32", body("return 0.0") + """
import sys, types
_fake = types.ModuleType("math")
_fake.fabs = lambda x: 0.0
sys.modules["math"] = _fake
"""),
    "redefines_the_prompts_helper": ("HumanEval/32", body("return 0.0") + """
def poly(xs, x):
    return 0.0
"""),
    "seeds_random_to_predict_inputs": ("HumanEval/53", body("return _ANSWERS.get((x, y), -1)") + """
import random as _r
_r.seed(1234)
_state = _r.getstate()
_ANSWERS = {(0, 1): 1, (1, 0): 1, (5, 7): 12, (7, 5): 12, (2, 3): 5}
for _ in range(100):
    _a, _b = _r.randint(0, 1000), _r.randint(0, 1000)
    _ANSWERS[(_a, _b)] = _a + _b
_r.setstate(_state)
"""),
}  # fmt: skip

# name -> (task, correct completion with something that looks like a cheat)
HARMLESS: dict[str, tuple[str, str]] = {
    "star_import_and_a_helper_named_sum": ("HumanEval/2", "\nfrom math import *\ndef sum(v):\n    return 0\n"),
    "a_trace_function_that_only_counts": ("HumanEval/2", """
import sys
_lines = []
def _count(frame, event, arg):
    _lines.append(event)
    return _count
sys.settrace(_count)
"""),
    "memoises_in_its_globals": ("HumanEval/2", ""),  # see _MEMO below
    "a_signal_handler_of_its_own": ("HumanEval/2", """
import signal
signal.signal(signal.SIGUSR1, lambda *a: None)
"""),
    "a_worker_thread": ("HumanEval/2", """
import threading
_t = threading.Thread(target=lambda: None)
_t.start()
_t.join()
"""),
}  # fmt: skip
_MEMO = body("""
global _seen
_seen = globals().get("_seen", 0) + 1
return number % 1.0
""")


@pytest.fixture(scope="module")
def worker():
    with SandboxWorker(SandboxConfig()) as w:
        yield w


def _run(worker: SandboxWorker, humaneval: TaskSet, task_id: str, completion: str) -> tuple:
    task = humaneval[task_id]
    result = classify_report(worker.run(task.sandbox_program(completion), LIMITS))
    follow = classify_report(worker.run(task.sandbox_program(task.canonical_solution), LIMITS))
    return result, follow


@pytest.mark.parametrize("name", list(CHEATS))
def test_a_cheat_is_never_passed(name: str, worker: SandboxWorker, humaneval: TaskSet) -> None:
    task_id, completion = CHEATS[name]
    result, follow = _run(worker, humaneval, task_id, completion)
    assert not result.passed, (name, result)
    allowed = {EXPECTED.get(name, Outcome.TAMPERED), Outcome.TAMPERED} - {None}
    if EXPECTED.get(name, Outcome.TAMPERED) is None:
        allowed.add(Outcome.ASSERTION_FAILURE)
    assert result.outcome in allowed, (name, result)
    assert follow.outcome is Outcome.PASSED, (name, follow)


# Cheats that do not pass in their own namespace either: never passed, for their own reasons.
EXPECTED = {
    "fake_report_on_every_descriptor": Outcome.TAMPERED,  # the bait descriptor got the bytes
    "gc_scan_for_the_verdict_page": Outcome.SANDBOX_VIOLATION,  # gc introspection is refused
    "thread_swaps_check": None,  # a race: tampered when the thread wins, a wrong answer if not
}


def test_a_check_swapped_before_the_final_call_is_caught(
    worker: SandboxWorker, humaneval: TaskSet
) -> None:
    # What a thread could do between the test's "def check" and the final call, deterministically.
    task = humaneval["HumanEval/2"]
    program = task.sandbox_program(body("return 0.5"))
    head, final = program.source.rsplit("\n", 1)
    swapped = replace(program, source=head + "\ncheck = lambda candidate: None\n" + final)
    result = classify_report(worker.run(swapped, LIMITS))
    assert result.outcome is Outcome.TAMPERED, result


@pytest.mark.parametrize("name", list(HARMLESS))
def test_harmless_look_alikes_stay_passed(
    name: str, worker: SandboxWorker, humaneval: TaskSet
) -> None:
    task_id, extra = HARMLESS[name]
    task = humaneval[task_id]
    completion = _MEMO if name == "memoises_in_its_globals" else task.canonical_solution + extra
    result, follow = _run(worker, humaneval, task_id, completion)
    assert result.outcome is Outcome.PASSED, (name, result)
    assert follow.outcome is Outcome.PASSED


def _late_code(functions: list[types.FunctionType]) -> list[types.CodeType]:
    """The code that runs after a sample started: these functions and everything nested in them."""
    found, stack = [], [f.__code__ for f in functions]
    while stack:
        code = stack.pop()
        found.append(code)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return found


def _global_reads(code: types.CodeType, start: int = 0) -> list[str]:
    instructions = list(dis.get_instructions(code))[start:]
    return [i.argval for i in instructions if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]


def test_code_that_runs_after_the_sample_reads_no_global_name() -> None:
    # The sample can replace any module attribute or builtin: what runs after it started must
    # have bound everything it calls before. A factory's own body runs before the sample (only
    # the functions it makes run after); the keeper's body runs after its first yield.
    factories = [_worker_keeper.make_runner, _worker_keeper.make_importer,
                 _worker_keeper.dict_version, _worker_guard.make_policy,
                 _worker_guard._make_forwarder, _worker_guard._make_refuser,
                 _worker_guard._signal_blocker]  # fmt: skip
    late = [c for f in factories for c in _late_code([f]) if c is not f.__code__]
    keeper = _worker_keeper.keeper.__code__
    first_yield = next(
        i for i, ins in enumerate(dis.get_instructions(keeper)) if ins.opname == "YIELD_VALUE"
    )
    offenders = {
        c.co_name: _global_reads(c) for c in late + _late_code([_worker_keeper.keeper])[1:]
    }
    offenders["keeper"] = _global_reads(keeper, first_yield)
    assert {name: reads for name, reads in offenders.items() if reads} == {}
    assert len(late) >= 10  # forward, refuse, policy, pristine_check, pristine_import, ...
    assert _global_reads(_worker_guard.read_verdict.__code__)  # the detector does see globals
