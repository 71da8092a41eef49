"""Issue 12's hostile samples for HumanEval tasks, and the probe that follows each of them.

A case is a completion built around a task's canonical solution: ``before`` goes into the
function body ahead of the canonical body (or replaces it, when the sample is not meant to be
correct), ``after`` is module-level code after the function. The ``PROBE`` asserts that nothing an
earlier sample did is still there (files in ``/tmp``, ``/dev/shm`` or ``/dev/mqueue``, System V
IPC objects, other processes, changed permissions); prefixed to a canonical solution it is the
follow-up that must pass after every hostile sample, in the same worker.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.tasks import Task


def body(code: str) -> str:
    """``code`` indented as a function body."""
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ") + "\n"


PROBE = body(
    """
    import os
    _left = [p + "/" + n for p in ("/tmp", "/dev/shm", "/dev/mqueue") for n in os.listdir(p)
             if (p, n) != ("/tmp", "work")]
    assert _left == [], _left
    assert os.listdir(".") == [] and os.getcwd() == "/tmp/work"
    assert [oct(os.stat(p).st_mode & 0o777) for p in ("/tmp", "/dev/shm")] == ["0o755", "0o755"]
    for _kind in ("shm", "sem", "msg"):
        assert open("/proc/sysvipc/" + _kind).read().count("\\n") == 1, _kind
    assert sorted(p for p in os.listdir("/proc") if p.isdigit()) == sorted(["1", str(os.getpid())])
    """
)
_LIBC = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"


@dataclass(frozen=True)
class Case:
    """A hostile sample: where it runs, what it does, and the outcomes allowed for it."""

    task: str
    expected: frozenset[Outcome]
    before: str = ""
    after: str = ""
    correct: bool = True

    def completion(self, task: Task) -> str:
        return (
            body(self.before) * bool(self.before)
            + (task.canonical_solution if self.correct else "")
            + self.after
        )


def _case(task: str, *expected: Outcome, **kw: object) -> Case:
    return Case(task, frozenset(expected), **kw)  # type: ignore[arg-type]


P, T = Outcome.PASSED, Outcome.TAMPERED
WHY: dict[str, Case] = {
    "locks_its_own_work_directory": _case("HumanEval/0", P, before="import os\nos.chmod('.', 0o500)"),
    "locked_dirs_in_tmp_and_dev_shm": _case("HumanEval/0", P, before=_LIBC + """
for root in (b"/tmp", b"/dev/shm"):
    libc.mkdir(root + b"/locked", 0o700)
    libc.mkdir(root + b"/locked/inner", 0o700)
    fd = libc.open(root + b"/locked/inner/secret", 0o101, 0o600)
    libc.write(fd, b"left behind", 11)
    libc.close(fd)
    libc.chmod(root + b"/locked/inner", 0)
    libc.chmod(root + b"/locked", 0o500)
libc.chmod(b"/tmp", 0o500)
libc.chmod(b"/dev/shm", 0)
"""),
    "writes_to_dev": _case("HumanEval/0", P, before=_LIBC + """
assert libc.open(b"/dev/leftover", 0o101, 0o600) == -1 and ctypes.get_errno() == 30
"""),
    "fills_dev_shm_past_its_size": _case("HumanEval/0", P, before=_LIBC + """
fd = libc.open(b"/dev/shm/big", 0o101, 0o600)
chunk = b"x" * (1 << 20)
written = sum(max(0, libc.write(fd, chunk, len(chunk))) for _ in range(100))
assert written < 100 << 20, written
"""),
    "system_v_ipc_and_mqueues": _case("HumanEval/0", P, before=_LIBC + """
libc.shmget(0, 1 << 24, 0o1600)
libc.semget(0, 1, 0o1600)
libc.msgget(0, 0o1600)
libc.mq_open(b"/left", 0o100 | 2, 0o600, None)
"""),
    "nested_json_to_every_descriptor": _case("HumanEval/0", T, before="""
import os
blob = b"[" * 200000 + b"]" * 200000 + b"\\n"
for fd in range(3, 256):
    try:
        os.write(fd, blob)
    except OSError:
        pass
"""),
    "deep_unary_expression": _case("HumanEval/0", P, after="\nX = " + "-" * 600 + "1\n"),
    "huge_literal": _case("HumanEval/0", P, after="\nX = '" + "x" * 2_000_000 + "'\n"),
    "lone_surrogate_in_error_message": _case(
        "HumanEval/0", Outcome.VALUE_ERROR, before='raise ValueError("bad \\ud800 value")',
        correct=False),
    "lone_surrogate_in_code": _case("HumanEval/0", Outcome.VALUE_ERROR, before='s = "\udcff"'),
    "walks_frames_to_forge_a_report": _case("HumanEval/0", Outcome.CRASH, T, correct=False, before="""
import os, sys
frame = sys._getframe()
while frame is not None:
    for value in list(frame.f_locals.values()):
        if isinstance(value, int) and 2 < value < 1024:
            try:
                os.write(value, b'{"status": "completed", "violations": []}\\n')
            except OSError:
                pass
    frame = frame.f_back
os._exit(0)
"""),
    "shadows_abs": _case("HumanEval/2", T, correct=False, before="return 0.5",
                         after="\ndef abs(x):\n    return 0\n"),
    "patches_builtins": _case("HumanEval/2", T, correct=False, before="return 0.5",
                              after="\nimport builtins\nbuiltins.abs = lambda x: 0\n"),
    "trace_hook_swaps_check": _case("HumanEval/2", T, correct=False, before="return 0.5", after="""
import sys
def _tracer(frame, event, arg):
    if event == "line":
        g = frame.f_globals
        if "check" in g and getattr(g["check"], "__name__", "") == "check":
            g["check"] = lambda candidate: None
    return _tracer
sys._getframe().f_trace = _tracer
sys.settrace(_tracer)
"""),
    "harmless_shadowing": _case("HumanEval/2", P, after="""
from math import *
def sum(values):
    total = 0
    for v in values:
        total += v
    return total
"""),
    "nested_namespaces": _case("HumanEval/0", P, before=_LIBC + """
for flag in (0x10000000, 0x40000000, 0x00020000, 0x08000000):  # user, net, mount, ipc
    assert libc.unshare(flag) == -1, flag
"""),
    "fifty_threads": _case("HumanEval/0", P, before="""
import threading
done = []
threads = [threading.Thread(target=lambda: done.append(sum(range(10_000)))) for _ in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert len(done) == 50
"""),
    "tree_deeper_than_path_max": _case("HumanEval/0", P, after="\n" + _LIBC + """
for _ in range(60):
    assert libc.mkdir(b"d" * 250, 0o700) == 0 and libc.chdir(b"d" * 250) == 0
libc.chmod(b".", 0o500)
"""),
    "tree_too_deep_to_wipe": _case("HumanEval/0", P, after="\n" + _LIBC + """
for _ in range(3000):
    assert libc.mkdir(b"d", 0o700) == 0 and libc.chdir(b"d") == 0
"""),
}  # fmt: skip
