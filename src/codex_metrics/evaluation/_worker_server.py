"""The sandboxed fork server: PID 1 of its own PID namespace inside bubblewrap.

``sandbox.py`` runs the worker script, ``_worker_keeper.py`` + ``_worker_guard.py`` +
``_worker_child.py`` + this file, as ``python -I -S -B -c <script> <config json>``, so it imports
nothing outside the standard library.
The server reads one JSON request per line on stdin, runs each sample in a forked child
(``run_child``) and writes one JSON reply per line on stdout.

Per sample the server creates a fresh work directory, forks, enforces the wall-clock limit with a
``pidfd`` (extended once, by the same limit, when the program finished and the pristine re-check
is running), lowers the priority of a sample still running after a third of its limit (nice 19:
it keeps its whole limit, but a busy loop no longer slows down the samples around it), then
reads the verdict page the child's keeper wrote and what, if anything, the sample wrote to the
bait descriptor. Then, whatever happened, it restores a clean sandbox: every
other process in the namespace is killed and reaped (as PID 1 it inherits every orphan and
cannot be signalled from inside), ``/tmp`` and ``/dev/shm`` are emptied (after giving back the
permissions a sample may have taken away), and every System V IPC object and POSIX message queue
is removed. When that fails, the reply says ``unclean`` and the harness replaces the worker.
"""

from __future__ import annotations

import builtins
import ctypes
import dis
import gc
import json
import mmap
import os
import select
import signal
import sys
import time
import types
from typing import Any

try:  # in the package (tests, type checking); in the worker script these come first
    from codex_metrics.evaluation._worker_child import run_child
    from codex_metrics.evaluation._worker_guard import _libc_sigmask, read_verdict
    from codex_metrics.evaluation._worker_keeper import VERDICT_HEADER, VERDICT_PAGE
except ImportError:  # pragma: no cover - inside the sandbox
    pass

RULES = {
    "spawn": ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "pty.spawn"),
    "net": ("socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
            "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg"),
    "paths": ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown",
              "os.symlink", "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move"),
    "write_flags": os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND,
}  # fmt: skip
# Imported once by the server so samples need not import them; their state before any sample
# ran is what the pristine re-check's copies are made of.
PRELOAD = ("typing", "math", "re", "collections", "itertools", "functools", "heapq", "bisect",
           "string", "hashlib", "random", "statistics", "fractions", "decimal", "datetime", "copy",
           "operator", "json", "cmath", "array", "numbers", "unicodedata")  # fmt: skip
_PRELOADED = frozenset(PRELOAD)
_IPC_KINDS = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))
#: Share of its time limit after which a sample still running yields the CPU (nice 19) to the
#: samples around it: a busy loop then costs the others nothing, and its verdict is unchanged.
YIELD_AFTER = 1 / 3


class ServerState:
    """What the server keeps between samples (nothing a sample can reach matters here)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.scratch = str(config.get("scratch", "/tmp"))
        self.workdir = os.path.join(self.scratch, "work")
        self.namespace = bool(config.get("pid_namespace")) and os.getpid() == 1
        # with the seccomp filter, no sample can make System V IPC objects or message queues
        self.ipc = self.namespace and not config.get("seccomp")
        self.roots = [self.scratch] + (["/dev/shm"] if self.namespace else [])
        self.modes = {root: os.stat(root).st_mode & 0o7777 for root in self.roots}
        prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
        read_roots = (tuple(config.get("read_roots", ())) + prefixes + (self.scratch,) +
                      ("/dev/null", "/dev/urandom", "/dev/zero", "/dev/shm", "/proc/self", "/proc/sysvipc",
                       "/proc/thread-self"))  # fmt: skip
        self.policy_args = (self.workdir, read_roots, os.getpid(), RULES)
        self.cache: dict[tuple[Any, ...], Any] = {}
        self.libc = ctypes.CDLL(None, use_errno=True)


def _imported(code: types.CodeType | None) -> set[str]:
    """The preloaded modules ``code`` may import (every name it uses that is one of them)."""
    names: set[str] = set()
    stack = [code] if code is not None else []
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return names & _PRELOADED


def _defines_helpers(prelude: types.CodeType | None, entry_point: str) -> bool:
    """Whether the prompt binds names besides its imports and the entry point (``poly``, ...)."""
    previous = ""
    for instruction in dis.get_instructions(prelude) if prelude is not None else ():
        if (
            instruction.opname in ("STORE_NAME", "STORE_GLOBAL")
            and instruction.argval != entry_point
        ):
            if previous not in ("IMPORT_NAME", "IMPORT_FROM"):
                return True
        previous = instruction.opname
    return False


def compiled_check(check: dict[str, Any], cache: dict[tuple[Any, ...], Any]) -> Any:
    """(prelude code, test code, modules they import, always re-check) of a task, compiled once.

    The re-check always runs for a task whose prompt defines helpers its test calls (a sample
    could redefine them) or whose test draws random inputs (a sample could seed the generator).
    """
    key = (check.get("prelude"), check.get("test"), check.get("entry_point"))
    if key not in cache:
        try:
            prelude = compile(key[0], "<prompt>", "exec") if key[0] else None
            test = compile(str(key[1]), "<test>", "exec")
            imported = (_imported(prelude) | _imported(test)) - {"typing"}
            always = _defines_helpers(prelude, str(key[2])) or "random" in imported
            cache[key] = (prelude, test, tuple(sorted(imported)), always)
        except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
            cache[key] = None
        if len(cache) > 1024:
            cache.pop(next(iter(cache)))
    return cache[key]


def _children_of(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(name))
    return found


def _reap() -> None:
    try:
        while True:
            os.waitpid(-1, 0)
    except ChildProcessError:
        pass


def kill_the_rest(state: ServerState) -> None:
    """Kill and reap every process but this one (PID 1), whatever its session."""
    for _ in range(100):
        if state.namespace:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:  # nobody else in the namespace
                _reap()
                return
            _reap()
            if not any(n.isdigit() and n != "1" for n in os.listdir("/proc")):
                return
        else:  # orphans re-parent to this subreaper: "kill my children" reaches them all
            children = _children_of(os.getpid())
            for child in children:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _reap()
            if not children:
                return


def _clear_below(directory: int) -> None:
    """Remove everything in the open directory ``directory``, locked subdirectories included.

    Works on descriptors, so trees deeper than ``PATH_MAX`` are removed too; a tree too deep for
    the recursion limit or the descriptor limit raises, and the worker is replaced.
    """
    with os.scandir(directory) as entries:
        found = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in found:
        if is_dir:
            os.chmod(name, 0o700, dir_fd=directory)  # the owner may always take it back
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
            try:
                _clear_below(child)
            finally:
                os.close(child)
            os.rmdir(name, dir_fd=directory)
        else:
            os.unlink(name, dir_fd=directory)


def _clear(root: str, mode: int) -> None:
    """Empty ``root``, first giving the owner back the permissions a sample took away."""
    os.chmod(root, 0o700)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _clear_below(fd)
    except (OSError, RecursionError):
        pass  # what is left is reported by the caller
    finally:
        os.close(fd)
    os.chmod(root, mode)


def _ipc_ids(kind: str) -> list[int]:
    try:
        with open(f"/proc/sysvipc/{kind}", "rb") as fh:
            lines = fh.read().splitlines()[1:]
    except OSError:
        return []
    return [int(line.split()[1]) for line in lines if line.strip()]


def restore(state: ServerState) -> str | None:
    """Put the sandbox back as it was before the sample; say what could not be restored."""
    kill_the_rest(state)
    try:
        os.rmdir(state.workdir)  # the common case: the sample left nothing behind
    except OSError:
        pass
    problems = []
    for root in state.roots:
        try:
            if os.stat(root).st_mode & 0o7777 != state.modes[root] or os.listdir(root):
                _clear(root, state.modes[root])
            if os.listdir(root):
                problems.append(f"{root} could not be emptied")
        except OSError as exc:
            problems.append(f"{root}: {exc.strerror}")
    if state.ipc:
        for kind, control in _IPC_KINDS:
            for ident in _ipc_ids(kind):
                getattr(state.libc, control)(ident, 0, None)  # IPC_RMID
            if _ipc_ids(kind):
                problems.append(f"System V {kind} objects could not be removed")
        try:
            for name in os.listdir("/dev/mqueue"):
                os.unlink(os.path.join("/dev/mqueue", name))
        except OSError:
            pass
    return "; ".join(problems) or None


def run_sample(
    req: dict[str, Any], boxes: dict[str, list[Any]], state: ServerState
) -> dict[str, Any]:
    """Run one sample in a forked child; the raw reply the harness classifies."""
    try:
        os.mkdir(state.workdir, 0o700)
    except OSError:
        restore(state)
        try:
            os.mkdir(state.workdir, 0o700)
        except OSError as exc:
            return {"unready": f"cannot create a fresh work directory ({exc.strerror})"}
    check = req.get("check")
    boxes["codes"] = [compiled_check(check, state.cache) if isinstance(check, dict) else None]
    boxes["channel"][0][0:VERDICT_HEADER] = bytes(VERDICT_HEADER)
    read_fd, write_fd = os.pipe()
    timeout = float(req["timeout"])
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        run_child(req, boxes, write_fd, state.workdir, state.policy_args)
    os.close(write_fd)
    pidfd = os.pidfd_open(pid)
    deadline, extended, timed_out = started + timeout, False, False
    yield_at = started + timeout * YIELD_AFTER  # then it runs on, but only on idle CPU
    bait, bait_bytes, watch = b"", 0, [read_fd, pidfd]
    while True:
        now = time.monotonic()
        if yield_at and now >= yield_at:
            yield_at = 0.0
            try:
                os.setpriority(os.PRIO_PGRP, pid, 19)  # the sample cannot take it back
            except OSError:
                pass
        remaining = (min(deadline, yield_at) if yield_at else deadline) - now
        if remaining <= 0 and now < deadline:
            continue
        if remaining <= 0:
            if not extended and boxes["channel"][0][9] in (1, 2, 3):  # the re-check runs
                extended, deadline = True, time.monotonic() + timeout
                continue
            timed_out = True
            break
        ready, _, _ = select.select(watch, [], [], remaining)
        if read_fd in ready:
            chunk = os.read(read_fd, 1 << 16)
            if chunk:
                bait_bytes += len(chunk)
                bait += chunk[: max(0, 256 - len(bait))]
            else:
                watch.remove(read_fd)
        if pidfd in ready:
            break
    if timed_out:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    os.close(pidfd)
    os.set_blocking(read_fd, False)
    try:
        for _ in range(64):
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            bait_bytes += len(chunk)
            bait += chunk[: max(0, 256 - len(bait))]
    except BlockingIOError:
        pass
    os.close(read_fd)
    unclean = restore(state)
    page = boxes["channel"][0]
    size = VERDICT_HEADER + sum(int.from_bytes(page[i : i + 4], "little") for i in (14, 18))
    verdict = read_verdict(page[: min(size, VERDICT_PAGE)])
    return {
        "verdict": verdict,
        "bait_bytes": bait_bytes,
        "bait": bait.decode("utf-8", "backslashreplace"),
        "timed_out": timed_out,
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_memory_kb": usage.ru_maxrss,
        "unclean": unclean,
    }


def _boxes() -> dict[str, list[Any]]:
    """What the child takes for its keeper; only these lists hold it, so the child can drop it."""
    import random

    originals = {name: sys.modules[name] for name in PRELOAD if name in sys.modules}
    return {
        "channel": [mmap.mmap(-1, VERDICT_PAGE)],
        "builtins": [dict(vars(builtins))],
        "modules": [{name: dict(vars(module)) for name, module in originals.items()}],
        "originals": [originals],
        "random": [random.Random()],
        "codes": [None],
    }


def main() -> None:
    """Serve requests on stdin until it closes."""
    state = ServerState(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
    os.environ["TMPDIR"] = os.environ["HOME"] = state.workdir
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        state.libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: samples cannot ptrace or read us
        state.libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER, for runs without a namespace
        state.libc.mallopt(-8, 2)  # M_ARENA_MAX: threads share two malloc arenas, not 64 MB each
    except (OSError, AttributeError):
        pass
    for name in PRELOAD:
        __import__(name)
    _libc_sigmask()
    boxes = _boxes()
    gc.collect()
    gc.freeze()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write((json.dumps({"ready": True, "pid": os.getpid()}) + "\n").encode())
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            return
        try:
            reply = run_sample(json.loads(line), boxes, state)
        except Exception as exc:  # noqa: BLE001 - report and keep serving
            reply = {"harness_error": repr(exc)[:500], "unclean": restore(state)}
        stdout.write((json.dumps(reply) + "\n").encode())
        stdout.flush()


if __name__ == "__main__":
    main()
