"""The forked child that runs one sample: limits, captured output, the program, the report.

Part of the sandboxed worker script (see ``_worker_server.py``): standard library only.

The child binds everything it needs after the sample (the report events, ``os._exit``, the clock,
the captured streams) before the sample's code starts, hands the verdict page and the pristine
snapshots to the guard (``_worker_guard.install_guard``) and drops its own references, so no frame
on the sample's stack leads to them. It then runs ``prompt + completion + test + check(...)`` as
openai/human-eval does, in one namespace (the final ``check(entry_point)`` as its own statement,
so the keeper can see whether the namespace changed while the tests ran); when that raised
nothing, it runs the pristine re-check if the keeper hands one out; then it reports and leaves
with ``os._exit``, so no ``atexit`` hook of the sample ever runs. Exit codes and printed text
never make a verdict.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any, NoReturn

try:  # in the package (tests, type checking); in the worker script these come first
    from codex_metrics.evaluation._worker_guard import install_guard
    from codex_metrics.evaluation._worker_keeper import (
        EV_CHECKING,
        EV_PRIMARY,
        EV_REPORT,
        EV_TESTING,
        STATUS_SETUP_ERROR,
        VERDICT_MAGIC,
    )
except ImportError:  # pragma: no cover - inside the sandbox
    pass

_MEMORY_ERROR = '{"exc_mro": ["MemoryError", "Exception", "BaseException", "object"]}'


class BoundedSink:
    """A text stream that keeps the first ``limit`` characters written and drops the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.closed = False

    def write(self, text: object) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        text = str(text)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def close(self) -> None:
        self.closed = True

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("captured stream has no file descriptor")

    def getvalue(self) -> str:
        return "".join(self.parts)


class EmptyStdin:
    """A sample's ``sys.stdin``: always at end of file, like ``/dev/null`` (``input()`` -> EOFError)."""

    closed = False

    def read(self, size: int = -1) -> str:
        return ""

    def readline(self, size: int = -1) -> str:
        return ""

    def readlines(self, hint: int = -1) -> list[str]:
        return []

    def __iter__(self) -> EmptyStdin:
        return self

    def __next__(self) -> str:
        raise StopIteration

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 0

    def close(self) -> None:
        self.closed = True


def set_limits(req: dict[str, Any]) -> None:
    """Address space, CPU (both phases), file size, no core dumps, processes, open files."""
    timeout = float(req["timeout"])
    cpu = int(2 * timeout) + 2  # the program, then the pristine re-check
    for which, value in (
        (resource.RLIMIT_AS, int(req["memory_mb"]) << 20),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, int(req["max_file_mb"]) << 20),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, int(req["max_processes"])),
        (resource.RLIMIT_NOFILE, 256),
    ):
        hard = value + 1 if which == resource.RLIMIT_CPU else value
        resource.setrlimit(which, (value, hard))


def describe(exc: BaseException, limit: int) -> dict[str, Any]:
    """Class, module, message, errno and last frames of the exception that ended the program."""
    mro = [cls.__name__ for cls in type(exc).__mro__]
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not kill the report
        message = "<unprintable>"
    errno_value = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    try:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # skip ours
        text = "".join(traceback.format_exception(type(exc), exc, tb, limit=-8))
    except Exception:  # noqa: BLE001
        text = ""
    return {
        "exc_mro": mro,
        "exc_module": type(exc).__module__,
        "message": message[:limit] if isinstance(message, str) else "<unprintable>",
        "errno": errno_value if type(errno_value) is int else None,
        "traceback": text[-limit * 2 :],
    }


def _setup(req: dict[str, Any], honeypot_fd: int, workdir: str) -> tuple[Any, Any]:
    os.setsid()
    set_limits(req)
    os.chdir(workdir)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # The old report pipe, kept as bait at a random descriptor: nothing legitimate writes there.
    bait = 64 + int.from_bytes(os.urandom(2), "little") % 180
    os.dup2(honeypot_fd, bait)
    os.closerange(3, bait)
    os.closerange(bait + 1, 1 << 16)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    limit = int(req["output_limit"])
    sys.stdin = EmptyStdin()
    out, err = BoundedSink(limit), BoundedSink(limit)
    sys.stdout, sys.stderr = out, err
    return out, err


def run_child(
    req: dict[str, Any],
    boxes: dict[str, list[Any]],
    honeypot_fd: int,
    workdir: str,
    policy_args: tuple[Any, ...],
) -> NoReturn:
    """Body of the forked child; never returns (see the module docstring)."""
    channel = boxes["channel"].pop()
    builtins_snapshot = boxes["builtins"].pop()
    module_snapshots = boxes["modules"].pop()
    originals = boxes["originals"].pop()
    spare_random = boxes["random"].pop()
    codes = boxes["codes"].pop()
    audit, exit_, getpid, clock = sys.audit, os._exit, os.getpid, time.perf_counter
    settrace, setprofile, compile_, exec_ = sys.settrace, sys.setprofile, compile, exec
    gettrace, getprofile = sys.gettrace, sys.getprofile
    base_exception, dumps = BaseException, json.dumps
    ev_testing, ev_primary, ev_checking, ev_report = EV_TESTING, EV_PRIMARY, EV_CHECKING, EV_REPORT
    main_pid, limit = getpid(), int(req.get("output_limit", 2000))
    check = req.get("check")
    namespace: dict[str, Any] = {"__name__": "__sample__"}
    pristine = None
    program, final = str(req["program"]), ""
    if codes is not None and isinstance(check, dict):
        prelude_code, test_code, imported, always = codes
        final = f"check({check['entry_point']})"
        if program.endswith("\n" + final):
            program = program[: -len(final)]
        else:
            final, always = "", True  # not split: the namespace cannot be watched during check
        pristine = (prelude_code, test_code, str(check["entry_point"]), imported, always,
                    builtins_snapshot, module_snapshots, originals)  # fmt: skip
    try:
        out, err = _setup(req, honeypot_fd, workdir)
        install_guard(channel, sys._getframe(0), namespace, pristine, policy_args, spare_random)
    except BaseException as exc:  # noqa: BLE001 - no sample code has run yet
        body = repr(exc)[:500].encode("utf-8", "backslashreplace")
        channel[22 : 22 + len(body)] = body
        channel[8:22] = bytes([STATUS_SETUP_ERROR, 0, 0, 0, 0, 0, 0, 0, 0, 0]) + len(body).to_bytes(
            4, "little"
        )
        channel[0:8] = VERDICT_MAGIC
        exit_(3)
    checked = pristine is not None
    del channel, builtins_snapshot, module_snapshots, originals, spare_random, codes, boxes
    del pristine  # from here on, only the keeper holds what the sample must not reach
    started = clock()
    error: BaseException | None = None
    try:
        code = compile_(program, "<sample>", "exec")
        exec_(code, namespace)
        if final:  # the test's own check(), as compiled: the keeper checks it is the one called
            tests = [c for c in code.co_consts if getattr(c, "co_name", None) == "check"]
            audit(ev_testing, tests[-1] if tests else None)
            exec_(compile_(final, "<sample>", "exec"), namespace)
    except base_exception as exc:
        error = exc
    elapsed = clock() - started
    if getpid() != main_pid:
        exit_(1)  # a process the sample forked got here: it has no say
    if gettrace() is not None:  # a trace or profile function of the sample stops here
        settrace(None)
    if getprofile() is not None:
        setprofile(None)
    audit(ev_primary, error is None)
    if error is None and checked:
        box: list[Any] = []
        audit(ev_checking, box)
        if box:  # the keeper hands a re-check out only when the sample may have changed the tests
            try:
                box[0]()
            except base_exception:
                pass
    try:
        details: dict[str, Any] = {"duration_s": elapsed}
        if error is not None:
            namespace.clear()
            traceback.clear_frames(error.__traceback__)  # free the sample's locals first
            gc.collect()
            details.update(describe(error, limit))
        details.update(stdout=out.getvalue(), stderr=err.getvalue(),
                       output_dropped=out.dropped + err.dropped)  # fmt: skip
        payload = dumps(details)
    except base_exception:  # MemoryError, or a sample that broke json or the streams
        payload = _MEMORY_ERROR if error is not None else "{}"
    audit(ev_report, payload)
    exit_(0)
