"""Hostile programs are contained, get the expected outcome, and leave the worker usable.

Every hostile sample runs in one long-lived sandboxed worker; after each, the canonical solution
of the same task runs in that same worker and must still pass.
"""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from codex_metrics.evaluation.outcomes import Outcome, classify_report
from codex_metrics.evaluation.sandbox import ExecutionLimits, SandboxConfig, SandboxWorker
from codex_metrics.evaluation.tasks import TaskSet
from tests.evaluation.conftest import requires_bwrap

pytestmark = [pytest.mark.sandbox, requires_bwrap]

LIMITS = ExecutionLimits(timeout_s=1.5, memory_mb=256, max_processes=32, output_limit=500)
HOST_MARKER = Path("/tmp/codex-metrics-hostile-marker")
# Root drops to 65534 before bwrap; anyone else runs the sandbox as themselves.
SANDBOX_HOST_UID = 65534 if os.geteuid() == 0 else os.getuid()


def body(code: str) -> str:
    """A completion for builtin/fizzbuzz made of ``code`` (indented as a function body)."""
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ") + "\n"


CORRECT = body(
    """
    return ["FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0
            else str(i) for i in range(1, n + 1)]
    """
)

HOSTILE: dict[str, tuple[str, set[Outcome]]] = {
    "fork_bomb": (
        body("import os\nwhile True:\n    os.fork()"),
        {Outcome.SANDBOX_VIOLATION, Outcome.CRASH},
    ),
    "thread_storm": (
        body(
            "import threading, time\n"
            "while True:\n"
            "    threading.Thread(target=time.sleep, args=(100,), daemon=True).start()"
        ),
        {Outcome.SANDBOX_VIOLATION, Outcome.CRASH},
    ),
    "memory_bomb": (
        body("chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))"),
        {Outcome.MEMORY_EXCEEDED},
    ),
    "sleep_forever": (body("import time\ntime.sleep(10**6)"), {Outcome.TIMEOUT}),
    "ignore_sigalrm_busy_loop": (
        body("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"),
        {Outcome.TIMEOUT},
    ),
    "read_stdin": (body("return input()"), {Outcome.OTHER_EXCEPTION}),
    "close_streams_then_fail": (
        body(
            "import os, sys\nsys.stdout.close()\nsys.stderr.close()\n"
            "for fd in (1, 2):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n"
            "return []"
        ),
        {Outcome.ASSERTION_FAILURE},
    ),
    "network_connect": (
        body("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\n" + "return []"),
        {Outcome.SANDBOX_VIOLATION},
    ),
    "dns_lookup": (
        body("import socket\nsocket.getaddrinfo('example.com', 80)\nreturn []"),
        {Outcome.SANDBOX_VIOLATION},
    ),
    "write_outside_workdir": (
        body(f"open({str(HOST_MARKER)!r}, 'w').write('pwned')\nreturn []"),
        {Outcome.SANDBOX_VIOLATION},
    ),
    "read_etc_shadow": (body("return open('/etc/shadow').read()"), {Outcome.SANDBOX_VIOLATION}),
    "kill_parent": (
        body("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nreturn []"),
        {Outcome.CRASH},
    ),
    "kill_minus_one": (
        body("import os, signal\nos.kill(-1, signal.SIGKILL)\nreturn []"),
        {Outcome.CRASH},
    ),
    "os_exit_0": (body("import os\nos._exit(0)"), {Outcome.CRASH}),
    "system_exit_0": (body("raise SystemExit(0)"), {Outcome.OTHER_EXCEPTION}),
    "atexit_forces_exit_0": (
        body("import atexit, os\natexit.register(lambda: os._exit(0))\nreturn []"),
        {Outcome.ASSERTION_FAILURE},
    ),
    "prints_passed": (body("print('passed')\nreturn ['passed']"), {Outcome.ASSERTION_FAILURE}),
    "segfault": (body("import ctypes\nctypes.string_at(0)"), {Outcome.CRASH}),
    "deep_recursion": (
        body("def f(k):\n    return f(k + 1)\nreturn f(0)"),
        {Outcome.RECURSION_ERROR},
    ),
    "deep_recursion_raised_limit": (
        # recursion through C (map) with the limit raised overflows the C stack
        body(
            "import sys\nsys.setrecursionlimit(10**6)\ndef f(k):\n    return list(map(f, [k + 1]))\nreturn f(0)"
        ),
        {Outcome.RECURSION_ERROR, Outcome.CRASH},
    ),
    "posix_system_shell": (
        body(f"import posix\nposix.system('touch {HOST_MARKER}')\nreturn []"),
        {Outcome.SANDBOX_VIOLATION, Outcome.ASSERTION_FAILURE},
    ),
    "flood_the_report_pipe": (
        body(
            "import os\nwhile True:\n    for fd in range(3, 10):\n        try:\n"
            '            os.write(fd, b\'{"status": "completed"\' * 4096)\n'
            "        except OSError:\n            pass"
        ),
        {Outcome.CRASH, Outcome.TIMEOUT, Outcome.TAMPERED},
    ),
    "forge_a_pass_report": (
        body(
            "import os\nfor fd in range(3, 256):\n    try:\n"
            '        os.write(fd, b\'{"status": "completed", "violations": []}\\n\')\n'
            "    except OSError:\n        pass\nos._exit(0)"
        ),
        {Outcome.TAMPERED},
    ),
    "unbounded_output_then_correct": (
        body(
            "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 10**6)\n"
            + CORRECT.strip("\n").strip()
        ),
        {Outcome.PASSED},
    ),
    "unbounded_output_then_wrong": (
        body("for _ in range(200):\n    print('x' * 10**6)\nreturn []"),
        {Outcome.ASSERTION_FAILURE},
    ),
}


@pytest.fixture(scope="module")
def worker():
    with SandboxWorker(SandboxConfig()) as w:
        w.start()
        yield w


@pytest.fixture(autouse=True)
def _no_marker():
    HOST_MARKER.unlink(missing_ok=True)
    yield
    assert not HOST_MARKER.exists(), "a sample changed the host filesystem"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_sample_is_contained(name: str, worker: SandboxWorker, builtin: TaskSet) -> None:
    task = builtin["builtin/fizzbuzz"]
    completion, expected = HOSTILE[name]
    started = time.monotonic()
    result = classify_report(
        worker.run(task.sandbox_program(completion), LIMITS), memory_mb=LIMITS.memory_mb
    )
    elapsed = time.monotonic() - started
    assert result.outcome in expected, (name, result)
    assert not result.passed or expected == {Outcome.PASSED}
    assert elapsed < LIMITS.timeout_s + 2.0, f"{name} took {elapsed:.1f}s"
    if name.startswith("unbounded_output"):
        assert len(result.stdout) <= LIMITS.output_limit
    follow_up = classify_report(worker.run(task.sandbox_program(CORRECT), LIMITS))
    assert follow_up.outcome is Outcome.PASSED, (name, follow_up)


def test_specific_evidence_is_kept(worker: SandboxWorker, builtin: TaskSet) -> None:
    task = builtin["builtin/fizzbuzz"]
    stdin = classify_report(worker.run(task.sandbox_program(HOSTILE["read_stdin"][0]), LIMITS))
    assert stdin.error_type == "EOFError"
    exit0 = classify_report(worker.run(task.sandbox_program(HOSTILE["system_exit_0"][0]), LIMITS))
    assert (exit0.error_type, exit0.error_message) == ("SystemExit", "0")
    net = classify_report(worker.run(task.sandbox_program(HOSTILE["network_connect"][0]), LIMITS))
    assert any("network" in v for v in net.violations)
    assert "create_connection" in (net.traceback or "")
    seg = classify_report(worker.run(task.sandbox_program(HOSTILE["segfault"][0]), LIMITS))
    assert seg.exit_code == -11 and "SIGSEGV" in (seg.detail or "")


def test_api_key_is_not_in_the_sandbox(monkeypatch: pytest.MonkeyPatch, builtin: TaskSet) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    task = builtin["builtin/fizzbuzz"]
    probe = (
        body("import os\nprint(dict(os.environ))\nassert 'OPENAI_API_KEY' not in os.environ\n")
        + CORRECT
    )
    with SandboxWorker(SandboxConfig()) as fresh:
        result = classify_report(fresh.run(task.sandbox_program(probe), LIMITS))
    assert result.outcome is Outcome.PASSED, result
    assert "sk-test-secret" not in result.stdout and "PATH" in result.stdout


def test_child_in_own_session_is_killed_before_next_sample(
    worker: SandboxWorker, builtin: TaskSet
) -> None:
    task = builtin["builtin/fizzbuzz"]
    escapee = (
        body(
            "import os, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(1000)\n"
            "    os._exit(0)\n"
            "time.sleep(0.2)\n"
        )
        + CORRECT
    )
    first = classify_report(worker.run(task.sandbox_program(escapee), LIMITS))
    assert first.outcome is Outcome.PASSED, first
    census = "import os\nothers = sorted(p for p in os.listdir('/proc') if p.isdigit() and p not in ('1', str(os.getpid())))\nassert others == [], others\n"
    second = classify_report(worker.run(census, LIMITS))
    assert second.outcome is Outcome.PASSED, second


def test_sample_runs_unprivileged_without_network_or_host_files(worker: SandboxWorker) -> None:
    probe = (
        "import os, socket\n"
        "assert os.getuid() != 0 and os.getpid() > 1\n"
        "assert not os.path.exists('/etc/passwd') and not os.path.exists('/home')\n"
        "assert [n for n in socket.if_nameindex()] == [(1, 'lo')]\n"  # bubblewrap's private loopback
    )
    result = classify_report(worker.run(probe, LIMITS))
    assert result.outcome is Outcome.PASSED, result


def test_loopback_exists_but_connecting_is_refused(worker: SandboxWorker) -> None:
    # bubblewrap always brings up a private loopback in the sandbox's network namespace; nothing
    # else is there, and the audit hook refuses binds and connects even to it.
    probe = "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\n"
    result = classify_report(worker.run(probe, LIMITS))
    assert result.outcome is Outcome.SANDBOX_VIOLATION
    assert result.violations == ("network: socket.bind",)


def sandbox_uid_processes() -> set[str]:
    found = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            if int(uid_line.split()[1]) == SANDBOX_HOST_UID:
                found.add(pid)
    return found


def test_no_sandbox_process_outlives_the_worker(builtin: TaskSet) -> None:
    task = builtin["builtin/fizzbuzz"]
    before = sandbox_uid_processes()
    with SandboxWorker(SandboxConfig()) as w:
        sleeper = body(
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\nreturn []"
        )
        w.run(task.sandbox_program(sleeper), LIMITS)
        running = sandbox_uid_processes() - before
        assert len(running) >= 2, running  # bwrap and the server
    deadline = time.monotonic() + 10
    while sandbox_uid_processes() - before and time.monotonic() < deadline:
        time.sleep(0.05)  # the namespace's processes die asynchronously after its PID 1
    assert sandbox_uid_processes() - before == set()


def test_benign_file_use_in_the_work_directory_is_allowed(worker: SandboxWorker) -> None:
    program = (
        "import os, tempfile\n"
        "with tempfile.NamedTemporaryFile() as fh:\n"
        "    fh.write(b'x')\n"
        "    assert fh.name.startswith(os.getcwd())\n"
        "open('notes.txt', 'w').write('hello')\n"
        "assert open('notes.txt').read() == 'hello'\n"
        "assert 'VmRSS' in open('/proc/self/status').read()\n"
    )
    result = classify_report(worker.run(program, LIMITS))
    assert result.outcome is Outcome.PASSED, result
    leftover = classify_report(worker.run("import os\nassert os.listdir('.') == []\n", LIMITS))
    assert leftover.outcome is Outcome.PASSED, leftover  # a fresh work directory each time
