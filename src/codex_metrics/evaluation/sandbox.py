"""Sandboxed workers: bubblewrap around a small fork server, one per worker.

Each :class:`SandboxWorker` is one long-lived ``bwrap`` process whose PID 1 is the fork server in
``_worker.py``. The sandbox has no network, its own PID, IPC, UTS, cgroup and user namespaces,
a private size-limited tmpfs as its only writable place, and read-only binds of what the Python
interpreter needs (``/usr`` and, when it lives elsewhere, the interpreter's prefix); no ``/etc``,
no ``/home``, no ``/root``, no host ``/tmp``. When the harness runs as root, it drops to an
unprivileged uid (65534 by default) *before* exec'ing bwrap: as root, bwrap's ``--uid`` only
changes the uid seen inside, which would still map to root outside. The sandbox dies with the
harness thread that started it (``--die-with-parent``).

Start-up (about 50 ms) is paid once per worker; each sample then costs a ``fork`` in the server.
See docs/sandbox.md for the threat model.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from codex_metrics.errors import SandboxError

__all__ = [
    "INSTALL_HINT",
    "ExecutionLimits",
    "SandboxConfig",
    "SandboxWorker",
    "bwrap_path",
    "sandbox_python",
]

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
    "bubblewrap`) or pass --unsafe-no-sandbox to run untrusted code without isolation"
)
_WORKER_SOURCE = (Path(__file__).with_name("_worker.py")).read_text(encoding="utf-8")
_START_TIMEOUT_S = 20.0
_REPLY_GRACE_S = 10.0


@dataclass(frozen=True)
class ExecutionLimits:
    """Limits applied to every sample.

    Attributes:
        timeout_s: wall-clock limit of one sample (program and tests), seconds.
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
        from codex_metrics.errors import ParameterError

        if not self.timeout_s > 0:
            raise ParameterError("timeout", f"must be positive, not {self.timeout_s}")
        if self.memory_mb < 64:
            raise ParameterError("memory_limit", f"must be at least 64 MB, not {self.memory_mb}")
        if self.max_processes < 2:
            raise ParameterError("max_processes", f"must be at least 2, not {self.max_processes}")


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
        bwrap: path of the bwrap binary (default: found on ``PATH``).
    """

    enabled: bool = True
    python: Path | None = None
    uid: int = 65534
    tmpfs_mb: int = 256
    bwrap: Path | None = None


def bwrap_path(config: SandboxConfig | None = None) -> Path | None:
    """The bwrap binary to use, or ``None`` when bubblewrap is not installed."""
    if config is not None and config.bwrap is not None:
        return config.bwrap if config.bwrap.exists() else None
    found = shutil.which("bwrap") or ("/usr/bin/bwrap" if Path("/usr/bin/bwrap").exists() else None)
    return Path(found) if found else None


def _world_traversable(path: Path) -> bool:
    """Whether "other" users can reach and read ``path`` (every parent executable by others)."""
    try:
        for parent in reversed(path.parents):
            if not parent.stat().st_mode & 0o001:
                return False
        return bool(path.stat().st_mode & 0o005)
    except OSError:
        return False


def sandbox_python(config: SandboxConfig) -> Path:
    """The interpreter the sandbox runs, resolved to a real file.

    Raises:
        SandboxError: when no usable interpreter is found.
    """
    if config.python is not None:
        return Path(os.path.realpath(config.python))
    own = Path(os.path.realpath(sys.executable))
    dropping = config.enabled and os.geteuid() == 0
    if not dropping or _world_traversable(own):
        return own
    for candidate in (
        f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}",
        "/usr/bin/python3",
    ):
        if Path(candidate).exists() and _world_traversable(Path(os.path.realpath(candidate))):
            return Path(os.path.realpath(candidate))
    raise SandboxError(
        f"the interpreter {own} is not readable by the sandbox uid {config.uid} and no "
        "/usr/bin/python3 exists; pass --sandbox-python with a world-readable Python"
    )


def _interpreter_prefix(python: Path) -> Path:
    """The installation prefix of ``python`` (``<prefix>/bin/pythonX.Y``)."""
    return python.parent.parent


def _bwrap_command(
    bwrap: Path, python: Path, config: SandboxConfig, worker_config: str
) -> list[str]:
    inner_uid = str(config.uid)
    cmd = [
        str(bwrap),
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--uid",
        inner_uid,
        "--gid",
        inner_uid,
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            cmd += ["--ro-bind", top, top]
    prefix = _interpreter_prefix(python)
    if not str(prefix).startswith("/usr/") and str(prefix) != "/usr":
        cmd += ["--ro-bind", str(prefix), str(prefix)]
    cmd += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(config.tmpfs_mb * 1024 * 1024), "--tmpfs", "/tmp",
        "--remount-ro", "/",
        "--chdir", "/tmp",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "TMPDIR", "/tmp",
        str(python), "-I", "-S", "-B", "-c", _WORKER_SOURCE, worker_config,
    ]  # fmt: skip
    return cmd


class SandboxWorker:
    """One sandboxed fork server; sends it samples and reads its reports.

    Not thread-safe: one thread drives one worker. The worker is (re)started lazily, so a
    sample that manages to kill its worker costs only a restart.
    """

    def __init__(self, config: SandboxConfig, *, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.env = dict(env or {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"})
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._scratch: str | None = None
        self._stderr: IO[bytes] | None = None
        self.restarts = 0

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker and wait for its ready line.

        Raises:
            SandboxError: bubblewrap is missing or the worker did not start.
        """
        python = sandbox_python(self.config)
        popen_kwargs: dict[str, Any] = {}
        env = self.env  # the worker's whole environment: no secret of the harness reaches it
        if self.config.enabled:
            bwrap = bwrap_path(self.config)
            if bwrap is None:
                raise SandboxError(f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
            worker_config = json.dumps({"scratch": "/tmp", "pid_namespace": True})
            cmd = _bwrap_command(bwrap, python, self.config, worker_config)
            if os.geteuid() == 0:
                popen_kwargs.update(user=self.config.uid, group=self.config.uid, extra_groups=[])
        else:
            self._scratch = tempfile.mkdtemp(prefix="codex-metrics-unsafe-")
            worker_config = json.dumps({"scratch": self._scratch, "pid_namespace": False})
            cmd = [str(python), "-I", "-S", "-B", "-c", _WORKER_SOURCE, worker_config]
            env = {**self.env, "HOME": self._scratch, "TMPDIR": self._scratch}
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            close_fds=True,
            start_new_session=True,
            **popen_kwargs,
        )
        self._buffer = b""
        line = self._read_line(time.monotonic() + _START_TIMEOUT_S)
        if line is None or not line.get("ready"):
            detail = self._stderr_text()
            self.kill()
            raise SandboxError(f"the sandbox worker did not start: {detail or 'no output'}")

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
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
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
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def run(self, program: str, limits: ExecutionLimits) -> dict[str, Any]:
        """Run one program; return the worker's raw report.

        The report is ``{"raw", "timed_out", "exit_code", "wall_s", "cpu_s", "peak_memory_kb"}``,
        or ``{"worker_lost": reason}`` when the worker died or stopped answering (it is then
        restarted for the next sample).
        """
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                self.kill()
                self.restarts += 1
            self.start()
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise SandboxError("the sandbox worker is not running")
        request = {
            "program": program,
            "timeout": limits.timeout_s,
            "memory_mb": limits.memory_mb,
            "max_processes": limits.max_processes,
            "max_file_mb": limits.max_file_mb,
            "output_limit": limits.output_limit,
        }
        try:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            return {"worker_lost": "the worker closed its input"}
        reply = self._read_line(time.monotonic() + limits.timeout_s + _REPLY_GRACE_S)
        if reply is None:
            alive = proc.poll() is None
            self.kill()
            return {"worker_lost": "no answer in time" if alive else "the worker died"}
        return reply

    def __enter__(self) -> SandboxWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
