"""Sandboxed workers: bubblewrap around a small fork server, one per worker.

Each :class:`SandboxWorker` is one long-lived ``bwrap`` process whose PID 1 is the fork server of
``_worker_server.py``. The sandbox has no network but a private loopback, its own PID, IPC, UTS,
cgroup and user namespaces (and cannot make new ones: ``--disable-userns`` plus a seccomp
filter), read-only binds of what the interpreter needs (``/usr`` and, when it lives
elsewhere, the interpreter's prefix), a read-only ``/dev`` with a small private ``/dev/shm``, and
one private size-limited ``/tmp``; no ``/etc``, ``/home``, ``/root`` or host ``/tmp``. When the
harness runs as root it drops to an unprivileged uid (65534) *before* exec'ing bwrap: as root,
bwrap's ``--uid`` only changes the uid seen inside, which would still map to root outside.

Start-up (about 50 ms) is paid once per worker; each sample then costs a ``fork`` in the server.
How the sandbox is built and started is in :mod:`~codex_metrics.evaluation.isolation`; see
docs/sandbox.md for the threat model.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from codex_metrics.errors import ParameterError, SandboxError
from codex_metrics.evaluation.isolation import (
    INSTALL_HINT,
    bounded_sandbox,
    bwrap_path,
    launch_isolated,
    sandbox_python,
    seccomp_filter,
)

__all__ = [
    "INSTALL_HINT",
    "ExecutionLimits",
    "Program",
    "SandboxConfig",
    "SandboxWorker",
    "bounded_sandbox",
    "bwrap_path",
    "launch_isolated",
    "sandbox_python",
]

_PARTS = ("_worker_keeper.py", "_worker_guard.py", "_worker_child.py", "_worker_server.py")
_FUTURE = "from __future__ import annotations\n"
#: The worker script: the guard, the child and the server, as one standard-library program.
WORKER_SOURCE = _FUTURE + "\n".join(
    Path(__file__).with_name(part).read_text(encoding="utf-8").replace(_FUTURE, "", 1)
    for part in _PARTS
)
_START_TIMEOUT_S = 20.0
_REPLY_GRACE_S = 10.0
_MAX_REPLY_BYTES = 16 << 20


@dataclass(frozen=True)
class ExecutionLimits:
    """Limits applied to every sample.

    Attributes:
        timeout_s: wall-clock limit of one sample (program and tests), seconds; the pristine
            re-check of a sample that passed gets the same again.
        memory_mb: address-space limit (``RLIMIT_AS``), MiB.
        max_processes: process and thread limit (``RLIMIT_NPROC``) inside the sandbox.
        max_file_mb: largest file a sample may write (``RLIMIT_FSIZE``), MiB.
        output_limit: characters of stdout and of stderr kept per sample.
    """

    timeout_s: float = 3.0
    memory_mb: int = 1024
    max_processes: int = 64
    max_file_mb: int = 16
    output_limit: int = 2000

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ParameterError("timeout", f"must be positive, not {self.timeout_s}")
        if self.memory_mb < 64:
            raise ParameterError("memory_limit", f"must be at least 64 MB, not {self.memory_mb}")
        if self.max_processes < 2:
            raise ParameterError("max_processes", f"must be at least 2, not {self.max_processes}")


@dataclass(frozen=True)
class Program:
    """A program to run, and what the pristine re-check needs to run its tests again.

    Attributes:
        source: the whole program (openai/human-eval's ``prompt + completion + test + check``).
        prelude: the task's own prompt, run before the test in the re-check (helpers it defines).
        test: the task's test source, defining ``check(candidate)``; ``None``: no re-check.
        entry_point: the name of the function under test.
    """

    source: str
    prelude: str | None = None
    test: str | None = None
    entry_point: str | None = None


@dataclass(frozen=True)
class SandboxConfig:
    """How workers are isolated.

    Attributes:
        enabled: run each worker inside bubblewrap; ``False`` is the explicit
            ``--unsafe-no-sandbox`` mode (rlimits and the fork server only, no isolation).
        python: interpreter run inside the sandbox (default: this one, or ``/usr/bin/python3``
            when this one is unreadable by the sandbox uid).
        uid: unprivileged host uid (and gid) the sandbox runs as when the harness is root.
        tmpfs_mb: size of the sandbox's private ``/tmp``.
        shm_mb: size of its private ``/dev/shm``.
        seccomp: load the seccomp filter (on machines it knows: x86-64, AArch64).
        bwrap: path of the bwrap binary (default: found on ``PATH``).
    """

    enabled: bool = True
    python: Path | None = None
    uid: int = 65534
    tmpfs_mb: int = 256
    shm_mb: int = 64
    seccomp: bool = True
    bwrap: Path | None = None


def _request(program: str | Program, limits: ExecutionLimits) -> bytes:
    source = program.source if isinstance(program, Program) else program
    request: dict[str, Any] = {
        "program": source,
        "timeout": limits.timeout_s,
        "memory_mb": limits.memory_mb,
        "max_processes": limits.max_processes,
        "max_file_mb": limits.max_file_mb,
        "output_limit": limits.output_limit,
    }
    if isinstance(program, Program) and program.test and program.entry_point:
        request["check"] = {
            "prelude": program.prelude,
            "test": program.test,
            "entry_point": program.entry_point,
        }
    return (json.dumps(request) + "\n").encode("utf-8", "surrogatepass")


class SandboxWorker:
    """One sandboxed fork server; sends it samples and reads its reports.

    Not thread-safe: one thread drives one worker. The worker is (re)started lazily, so a sample
    that manages to kill its worker costs only a restart, and a worker that reports it could not
    restore a clean state is replaced before the next sample.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._scratch: str | None = None
        self._stderr: IO[bytes] | None = None
        self.restarts = 0
        self.started = 0

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker and wait for its ready line.

        Raises:
            SandboxError: bubblewrap is missing or the worker did not start.
        """
        if self.config.enabled:
            seccomp = self.config.seccomp and seccomp_filter() is not None
            argument = json.dumps({"scratch": "/tmp", "pid_namespace": True, "seccomp": seccomp})
        else:
            self._scratch = tempfile.mkdtemp(prefix="codex-metrics-unsafe-")
            argument = json.dumps({"scratch": self._scratch, "pid_namespace": False})
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = launch_isolated(
                self.config, WORKER_SOURCE, argument, scratch=self._scratch, stderr=self._stderr
            )
        except SandboxError:
            self.kill()
            raise
        self._buffer = b""
        line = self._read_line(time.monotonic() + _START_TIMEOUT_S)
        if line is None or not line.get("ready"):
            detail = self._stderr_text()
            self.kill()
            raise SandboxError(f"the sandbox worker did not start: {detail or 'no output'}")
        self.started += 1

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read(2000).decode("utf-8", "replace").strip()

    def kill(self) -> None:
        """Kill the worker and everything in its sandbox."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def close(self) -> None:
        """Stop the worker (closing its stdin ends the server), then make sure it is gone."""
        proc = self._proc
        if proc is not None and proc.poll() is None and proc.stdin is not None:
            try:
                proc.stdin.close()
                proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    # -- I/O -----------------------------------------------------------------------------
    def _read_line(self, deadline: float) -> dict[str, Any] | None:
        """The server's next reply; ``None`` when it died, went silent or broke the protocol."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or len(self._buffer) > _MAX_REPLY_BYTES:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            value = json.loads(line)
        except (ValueError, RecursionError, MemoryError):
            return None
        return value if isinstance(value, dict) else None

    def _exchange(self, request: bytes, limits: ExecutionLimits) -> dict[str, Any]:
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self.kill()
                self.restarts += 1
            self.start()
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise SandboxError("the sandbox worker is not running")
        try:
            proc.stdin.write(request)
            proc.stdin.flush()
        except OSError:
            self.kill()
            return {"worker_lost": "the worker closed its input"}
        # two limits: the program, then the pristine re-check of a sample that passed
        reply = self._read_line(time.monotonic() + 2 * limits.timeout_s + _REPLY_GRACE_S)
        if reply is None:
            alive = proc.poll() is None
            self.kill()
            return {"worker_lost": "no answer in time" if alive else "the worker died"}
        return reply

    def run(self, program: str | Program, limits: ExecutionLimits) -> dict[str, Any]:
        """Run one program; return the worker's raw report (see :func:`classify_report`).

        A worker that died or stopped answering gives ``{"worker_lost": reason}``; one that says
        it could not restore a clean state after the sample keeps that sample's report (with
        ``unclean`` set) and is replaced before the next sample; one that could not even prepare
        a clean state is replaced and the sample runs again on the new worker.

        Raises:
            SandboxError: the worker cannot be started.
        """
        request = _request(program, limits)
        reply = self._exchange(request, limits)
        if "unready" in reply:
            self.kill()
            self.restarts += 1
            reply = self._exchange(request, limits)
            if "unready" in reply:
                self.kill()
                return {"harness_error": f"no clean sandbox for the sample: {reply['unready']}"}
        if reply.get("unclean"):
            self.kill()  # the next sample gets a fresh sandbox
            self.restarts += 1
        return reply

    def __enter__(self) -> SandboxWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
