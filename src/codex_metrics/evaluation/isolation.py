"""How a sandboxed process is built and started: the bubblewrap command, its limits, its uid.

Every process that touches untrusted input runs this way: the fork servers that execute samples
(:class:`~codex_metrics.evaluation.sandbox.SandboxWorker`) and the process that scores their
quality. The sandbox has no network but a private loopback, its own PID, IPC, UTS, cgroup and
user namespaces and cannot make new ones (``--disable-userns`` plus the seccomp filter
described below), read-only binds of ``/usr`` (and the interpreter's prefix when it lives
elsewhere), a read-only ``/dev`` with a private size-limited ``/dev/shm`` and POSIX message queue
mount, and one private size-limited ``/tmp``. When the harness runs as root it drops to an
unprivileged uid *before* exec'ing bwrap (as root, bwrap's ``--uid`` only changes the uid seen
inside). Only the environment given here reaches the process.

**The seccomp filter.** bubblewrap's ``--disable-userns`` already stops a sample from creating
namespaces (and, without a namespace of its own, from mounting anything). The filter is a second
wall and closes what namespaces leave open: System V IPC and POSIX message queues (their objects
outlive the process that made them and hold memory no rlimit counts; nothing in Python's standard
library uses them), namespaces and mounts, and kernel surface a test never needs (``bpf``,
``perf_event_open``, ``userfaultfd``, ``io_uring``, keyrings, module and kexec loading,
``ptrace``, ``process_vm_*``, ``personality``). Refused calls fail with ``EPERM``; calls through
another ABI than the machine's own (``int 0x80`` on x86-64, x32) are refused whole. It is classic
BPF built here by hand, no libseccomp needed, for x86-64 and AArch64; elsewhere there is none and
the per-sample clean-up still removes IPC objects.
"""

from __future__ import annotations

import errno
import os
import platform
import shutil
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_metrics.errors import ParameterError, SandboxError

if TYPE_CHECKING:
    from codex_metrics.evaluation.sandbox import SandboxConfig

__all__ = [
    "BLOCKED_SYSCALLS",
    "INSTALL_HINT",
    "TMPFS_SHARE",
    "bounded_sandbox",
    "bwrap_path",
    "launch_isolated",
    "sandbox_python",
    "seccomp_filter",
]

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install "
    "bubblewrap`) or pass --unsafe-no-sandbox to run untrusted code without isolation"
)
#: Share of the machine's memory all workers' tmpfs together may fill.
TMPFS_SHARE = 0.25


def _memory_mb() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 4096


def bounded_sandbox(
    config: SandboxConfig, workers: int, *, memory_mb: int | None = None
) -> SandboxConfig:
    """``config`` with tmpfs sizes scaled so ``workers`` sandboxes fill at most a quarter of RAM.

    Each worker has two size-limited tmpfs (``/tmp`` and ``/dev/shm``), whose pages count
    against the machine's memory whatever a sample does; their sum over all workers stays below
    :data:`TMPFS_SHARE` of ``memory_mb`` (default: this machine's ``MemTotal``).

    Raises:
        ParameterError: even 16 MB + 4 MB per worker would not fit (too many workers).
    """
    budget = int((memory_mb or _memory_mb()) * TMPFS_SHARE)
    per_worker = budget // max(1, workers)
    wanted = config.tmpfs_mb + config.shm_mb
    if per_worker >= wanted:
        return config
    if per_worker < 20:
        raise ParameterError(
            "workers", f"{workers} workers need at least {20 * workers} MB of tmpfs; use fewer"
        )
    shm = max(4, config.shm_mb * per_worker // wanted)
    return replace(config, tmpfs_mb=per_worker - shm, shm_mb=shm)


#: The refused system calls, by name.
BLOCKED_SYSCALLS = (
    "shmget", "semget", "msgget", "mq_open",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "ptrace", "process_vm_readv",
    "process_vm_writev", "personality",
)  # fmt: skip

# (AUDIT_ARCH_* value, {syscall name: number}) per machine.
_X86_64 = {
    "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240, "unshare": 272, "setns": 308,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "keyctl": 250,
    "add_key": 248, "request_key": 249, "kexec_load": 246, "kexec_file_load": 320,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311, "personality": 135,
}  # fmt: skip
_AARCH64 = {
    "shmget": 194, "semget": 190, "msgget": 186, "mq_open": 180, "unshare": 97, "setns": 268,
    "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "keyctl": 219,
    "add_key": 217, "request_key": 218, "kexec_load": 104, "kexec_file_load": 294,
    "init_module": 105, "finit_module": 273, "delete_module": 106, "ptrace": 117,
    "process_vm_readv": 270, "process_vm_writev": 271, "personality": 92,
}  # fmt: skip
_ARCHES = {
    "x86_64": (0xC000003E, _X86_64),
    "amd64": (0xC000003E, _X86_64),
    "aarch64": (0xC00000B7, _AARCH64),
    "arm64": (0xC00000B7, _AARCH64),
}
_X32_BIT = 0x40000000  # x86-64 syscall numbers with this bit set are the x32 ABI

# Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_OFFSET_NR = 0  # struct seccomp_data: int nr; __u32 arch; ...
_OFFSET_ARCH = 4


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def seccomp_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter (``struct sock_filter`` array) for ``machine``, or ``None``.

    Args:
        machine: ``platform.machine()`` value (default: this machine).

    Returns:
        The raw program bubblewrap's ``--seccomp`` reads, or ``None`` on an unknown machine.
    """
    found = _ARCHES.get((machine or platform.machine()).lower())
    if found is None:
        return None
    arch, numbers = found
    deny = _RET_ERRNO | errno.EPERM
    blocked = sorted({numbers[name] for name in BLOCKED_SYSCALLS})
    program = [
        _insn(_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        _insn(_JEQ_K, 1, 0, arch),  # our ABI: go on; any other ABI: refuse
        _insn(_RET_K, 0, 0, deny),
        _insn(_LD_W_ABS, 0, 0, _OFFSET_NR),
    ]
    if arch == 0xC000003E:
        program.append(_insn(_JGE_K, len(blocked) + 1, 0, _X32_BIT))  # x32 ABI: refuse
    for index, number in enumerate(blocked):
        # equal: jump to the final "refuse"; else fall through to the next comparison
        program.append(_insn(_JEQ_K, len(blocked) - index, 0, number))
    program.append(_insn(_RET_K, 0, 0, _RET_ALLOW))
    program.append(_insn(_RET_K, 0, 0, deny))
    return b"".join(program)


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


def _bwrap_command(
    bwrap: Path, python: Path, config: SandboxConfig, seccomp_fd: int | None
) -> list[str]:
    inner_uid = str(config.uid)
    cmd = [str(bwrap), "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
           "--new-session", "--as-pid-1", "--uid", inner_uid, "--gid", inner_uid,
           "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]  # fmt: skip
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            cmd += ["--ro-bind", top, top]
    prefix = python.parent.parent
    if not str(prefix).startswith("/usr/") and str(prefix) != "/usr":
        cmd += ["--ro-bind", str(prefix), str(prefix)]
    cmd += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(config.shm_mb << 20), "--tmpfs", "/dev/shm",
        "--mqueue", "/dev/mqueue",
        "--remount-ro", "/dev",
        "--size", str(config.tmpfs_mb << 20), "--tmpfs", "/tmp",
        "--remount-ro", "/",
        "--chdir", "/tmp",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "TMPDIR", "/tmp",
    ]  # fmt: skip
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return cmd


def launch_isolated(
    config: SandboxConfig,
    script: str,
    argument: str,
    *,
    scratch: str | None = None,
    stderr: Any = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start ``python -I -S -B -c script argument`` in a sandbox of its own (pipes on stdin/out).

    With the sandbox off (``--unsafe-no-sandbox``) the script runs as a plain process with
    ``scratch`` as its home. Only the environment given here reaches it either way.

    Raises:
        SandboxError: bubblewrap is missing or the process cannot be started.
    """
    python = sandbox_python(config)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
    kwargs: dict[str, Any] = {}
    seccomp_fd = None
    tail = [str(python), "-I", "-S", "-B", "-c", script, argument]
    if config.enabled:
        bwrap = bwrap_path(config)
        if bwrap is None:
            raise SandboxError(f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}")
        program = seccomp_filter() if config.seccomp else None
        if program is not None:
            seccomp_fd = os.memfd_create("codex-metrics-seccomp")
            os.write(seccomp_fd, program)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            kwargs["pass_fds"] = (seccomp_fd,)
        cmd = _bwrap_command(bwrap, python, config, seccomp_fd) + tail
        if os.geteuid() == 0:
            kwargs.update(user=config.uid, group=config.uid, extra_groups=[])
    else:
        cmd = tail
        if scratch is not None:
            env.update(HOME=scratch, TMPDIR=scratch)
    try:
        return subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
            close_fds=True, start_new_session=True, **kwargs,
        )  # fmt: skip
    except OSError as exc:
        raise SandboxError(f"the sandboxed process did not start: {exc}") from None
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
