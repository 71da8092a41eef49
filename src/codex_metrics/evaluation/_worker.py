"""The sandboxed fork server: runs inside bubblewrap as PID 1 of its own PID namespace.

This file is executed as a script (``python -I -S -B -c <this source> <config json>``) by
:mod:`codex_metrics.evaluation.sandbox`, so it imports nothing outside the standard library and
nothing from ``codex_metrics``. It reads one JSON request per line on stdin, runs each sample in
a forked child and writes one JSON report per line on stdout.

Per sample, the child gets a fresh working directory, its own session and process group,
rlimits (address space, CPU, file size, no core dumps, processes), a wall-clock deadline that
this server enforces with SIGKILL, ``/dev/null`` as stdin/stdout/stderr at the file-descriptor
level, a bounded in-memory capture of ``sys.stdout``/``sys.stderr`` and an audit hook that
records (and refuses) operations the sandbox forbids. After the sample, every other process in
the namespace, whatever its session, is killed with ``kill(-1, SIGKILL)`` and reaped: as PID 1,
this server is the reaper of every orphan and cannot itself be killed from inside the namespace.

The verdict "completed" is written by the child only after the program, tests included, ran to
its end; a child that exits in any other way (``os._exit``, a signal, ``SystemExit``) produces
no such report.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

_FORBIDDEN_SPAWN = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "subprocess.Popen",
    "pty.spawn",
)
_FORBIDDEN_NET = (
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.sendto",
    "socket.sendmsg",
)
_PATH_EVENTS = (
    "os.remove",
    "os.rmdir",
    "os.rename",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.utime",
    "shutil.rmtree",
    "shutil.move",
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PID_NAMESPACE = False
_MAX_REPORT_BYTES = 4 << 20
_MEMORY_ERROR_REPORT = b'{"status": "exception", "exc_mro": ["MemoryError"], "message": ""}\n'
_PRELOAD = (
    "typing",
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "hashlib",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "datetime",
    "copy",
    "operator",
    "json",
)


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
    """``sys.stdin`` of a sample: always at end of file, like ``/dev/null`` (``input()`` raises EOFError)."""

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


def _within(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _make_audit_hook(
    workdir: str, read_roots: tuple[str, ...], violations: list[str]
) -> Callable[[str, tuple[Any, ...]], None]:
    """An audit hook that records and refuses operations the sandbox forbids.

    It is a classification aid: bubblewrap is the boundary that actually holds.
    """
    main_pid = os.getpid()
    parent_pid = os.getppid()

    def refuse(kind: str, detail: str) -> None:
        if len(violations) < 20:
            violations.append(kind + ": " + detail[:200])
        raise PermissionError(1, "blocked by the evaluation sandbox (" + kind + ")")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path = args[0]
            if isinstance(path, int) or path is None:
                return
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            path = os.path.abspath(str(path))
            mode = args[1] or "r"
            flags = args[2] or 0
            writing = any(c in mode for c in "wax+") or bool(flags & _WRITE_FLAGS)
            if writing and not _within(path, (workdir, "/dev/null")):
                refuse("write outside the work directory", path)
            if not writing and not _within(path, read_roots):
                refuse("read outside the sandbox's files", path)
        elif event.startswith(_FORBIDDEN_SPAWN):
            refuse("process spawn", event)
        elif event in _FORBIDDEN_NET:
            refuse("network", event + " " + repr(args)[:100])
        elif event in _PATH_EVENTS:
            for arg in args:
                if isinstance(arg, (str, bytes)):
                    path = os.path.abspath(os.fsdecode(arg))
                    if not _within(path, (workdir,)):
                        refuse("change outside the work directory", event + " " + path)
        elif event in ("os.kill", "os.killpg"):
            pid = args[0]
            hostile = (
                pid == -1 or pid == parent_pid or pid == 1 or (event == "os.killpg" and pid == 1)
            )
            if hostile and os.getpid() == main_pid:
                # Signalling the harness: behave as if it took the sample down with it.
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _set_limits(req: dict[str, Any]) -> None:
    mem = int(req["memory_mb"]) * 1024 * 1024
    cpu = int(float(req["timeout"])) + 2
    fsize = int(req["max_file_mb"]) * 1024 * 1024
    nproc = int(req["max_processes"])
    for which, value in (
        (resource.RLIMIT_AS, mem),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_NOFILE, 256),
    ):
        if which == resource.RLIMIT_CPU:
            resource.setrlimit(which, (value, value + 1))
        else:
            resource.setrlimit(which, (value, value))


def _describe(exc: BaseException, limit: int) -> dict[str, Any]:
    mro = [cls.__name__ for cls in type(exc).__mro__]
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a hostile __str__ must not kill the report
        message = "<unprintable>"
    errno_value = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    try:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None  # skip this file
        frames = traceback.format_exception(type(exc), exc, tb, limit=-8)
        text = "".join(frames)
    except Exception:  # noqa: BLE001
        text = ""
    return {
        "exc_mro": mro,
        "exc_module": type(exc).__module__,
        "message": message[:limit],
        "errno": errno_value if isinstance(errno_value, int) else None,
        "traceback": text[-limit * 2 :],
    }


def _run_child(
    req: dict[str, Any], pipe_fd: int, workdir: str, read_roots: tuple[str, ...], nonce: str
) -> NoReturn:
    """Body of the forked child; never returns.

    The report carries ``nonce`` and leaves through a pipe moved to a random descriptor, so a
    sample that writes a fake report to guessed descriptors produces no valid report.
    """
    main_pid = os.getpid()
    result_fd = pipe_fd
    try:
        os.setsid()
        _set_limits(req)
        os.chdir(workdir)
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        result_fd = 64 + int.from_bytes(os.urandom(2), "little") % 180
        os.dup2(pipe_fd, result_fd)
        os.closerange(3, result_fd)
        os.closerange(result_fd + 1, 1024)
        memory_error_report = _MEMORY_ERROR_REPORT.replace(
            b"{", b'{"nonce": "%s", ' % nonce.encode(), 1
        )
        signal.signal(signal.SIGINT, signal.default_int_handler)
        limit = int(req["output_limit"])
        sys.stdin = EmptyStdin()
        sys.stdout = out = BoundedSink(limit)
        sys.stderr = err = BoundedSink(limit)
        violations: list[str] = []
        sys.addaudithook(_make_audit_hook(workdir, read_roots, violations))
    except BaseException as exc:  # noqa: BLE001
        os.write(
            result_fd,
            (
                json.dumps({"status": "setup_error", "nonce": nonce, "message": repr(exc)[:500]})
                + "\n"
            ).encode(),
        )
        os._exit(3)
    report: dict[str, Any] = {"status": "completed", "nonce": nonce}
    started = time.perf_counter()
    try:
        code = compile(req["program"], "<sample>", "exec")
        namespace = {"__name__": "__sample__"}
        exec(code, namespace)  # noqa: S102 - this is the point, inside the sandbox
    except BaseException as exc:  # noqa: BLE001
        if os.getpid() != main_pid:
            os._exit(1)
        elapsed = time.perf_counter() - started
        try:
            namespace = None
            traceback.clear_frames(exc.__traceback__)  # drop the sample's locals before reporting
            gc.collect()
            report = {"status": "exception", "nonce": nonce}
            report.update(_describe(exc, limit))
        except MemoryError:
            os.write(result_fd, memory_error_report)
            os._exit(0)
    else:
        elapsed = time.perf_counter() - started
    if os.getpid() != main_pid:
        os._exit(1)
    try:
        report["duration_s"] = elapsed
        report["violations"] = violations
        report["stdout"] = out.getvalue()
        report["stderr"] = err.getvalue()
        report["output_dropped"] = out.dropped + err.dropped
        data = (json.dumps(report) + "\n").encode()
    except BaseException:  # noqa: BLE001
        data = (
            memory_error_report
            if report.get("status") == "exception"
            else b'{"status": "report_error"}\n'
        )
    view = memoryview(data)
    while view:
        written = os.write(result_fd, view)
        view = view[written:]
    os._exit(0)


def _children_of(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(name))
    return found


def _kill_descendants() -> None:
    """Without a PID namespace: kill this process's children until none is left.

    Orphans of the sample re-parent to this process (it is a child subreaper), so repeating
    "kill my children, reap them" reaches every descendant, whatever its session.
    """
    me = os.getpid()
    for _ in range(1000):
        children = _children_of(me)
        if not children:
            return
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while True:
                os.waitpid(-1, 0)
        except ChildProcessError:
            pass


def _kill_everything_else() -> None:
    """Kill and reap every process in the namespace except this one (PID 1)."""
    for _ in range(100):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            while True:
                os.waitpid(-1, 0)
        except ChildProcessError:
            pass
        if not any(name.isdigit() and name != "1" for name in os.listdir("/proc")):
            return


def _wipe(directory: str) -> None:
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for name in entries:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _run_sample(req: dict[str, Any], scratch: str, read_roots: tuple[str, ...]) -> dict[str, Any]:
    # A fresh directory each time, at a fixed path so TMPDIR and HOME point at it once for all.
    workdir = os.path.join(scratch, "work")
    os.mkdir(workdir, 0o700)
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    nonce = os.urandom(16).hex()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _run_child(req, write_fd, workdir, read_roots, nonce)
    os.close(write_fd)
    pidfd = os.pidfd_open(pid)
    deadline = started + float(req["timeout"])
    chunks = []
    received = 0
    timed_out = False
    exited = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd, pidfd], [], [], remaining)
        if read_fd in ready:
            chunk = os.read(read_fd, 1 << 16)
            if chunk:
                chunks.append(chunk)
                received += len(chunk)
                if chunk.endswith(b"\n") or received > _MAX_REPORT_BYTES:
                    break  # a report, or a sample flooding the pipe: stop reading either way
            else:
                break
        if pidfd in ready:
            exited = True
            break
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    elif not exited:
        # A report arrived: give the child a moment to exit by itself, then stop waiting.
        select.select([pidfd], [], [], 0.5)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    os.close(pidfd)
    os.set_blocking(read_fd, False)
    try:
        while received <= _MAX_REPORT_BYTES:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    except BlockingIOError:
        pass
    os.close(read_fd)
    if PID_NAMESPACE:
        _kill_everything_else()
        _wipe("/dev/shm")
    else:
        _kill_descendants()
    try:
        os.rmdir(workdir)  # the common case: the sample left nothing behind
    except OSError:
        shutil.rmtree(workdir, ignore_errors=True)
    if os.listdir(scratch):
        _wipe(scratch)
    raw = b"".join(chunks).split(b"\n", 1)[0][: 1 << 20]
    return {
        "raw": raw.decode("utf-8", "replace"),
        "nonce": nonce,
        "timed_out": timed_out,
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_memory_kb": usage.ru_maxrss,
    }


def main() -> None:
    """Serve requests on stdin until it closes."""
    global PID_NAMESPACE
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    scratch = config.get("scratch", "/tmp")
    PID_NAMESPACE = bool(config.get("pid_namespace")) and os.getpid() == 1
    os.environ["TMPDIR"] = os.environ["HOME"] = os.path.join(scratch, "work")
    prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    read_roots = (
        tuple(config.get("read_roots", ()))
        + prefixes
        + (scratch, "/dev/null", "/dev/urandom", "/dev/zero", "/proc/self", "/proc/thread-self")
    )
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: samples cannot ptrace or read /proc/1
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER, for runs without a PID namespace
    except (OSError, AttributeError):
        pass
    for name in _PRELOAD:
        __import__(name)
    gc.collect()
    gc.freeze()
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    stdout.write((json.dumps({"ready": True, "pid": os.getpid()}) + "\n").encode())
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            return
        try:
            req = json.loads(line)
            reply = _run_sample(req, scratch, read_roots)
        except Exception as exc:  # noqa: BLE001 - report and keep serving
            reply = {"harness_error": repr(exc)[:500]}
        stdout.write((json.dumps(reply) + "\n").encode())
        stdout.flush()


if __name__ == "__main__":
    main()
