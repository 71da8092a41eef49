"""Advisory file locks under ``<lake>/.codex-metrics/locks/``.

Delta's optimistic concurrency refuses a commit that removes a file another commit removed, but
two commits that only add files to the same partition would both succeed. Every codex-metrics
writer therefore commits under a per-table lock, re-reading the table's latest version inside
it, so writers of one (source, scope, day) follow each other instead of adding up. Writers also
hold a shared "writing" lock from their first data file to their commit, which ``lake vacuum``
takes exclusively: vacuum never deletes a file a live writer is about to commit. ``flock`` locks
are released by the kernel when a process dies, so a killed writer never leaves one behind.

These locks serialise processes on one machine (or a shared POSIX filesystem with working
``flock``); several machines writing to an object store need a Delta locking provider instead
(docs/scale.md).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codex_metrics.errors import LakeBusyError

__all__ = ["HIDDEN_DIR", "FileLock", "exclusive"]

HIDDEN_DIR = ".codex-metrics"
_POLL_S = 0.05


def _lock_path(root: Path, name: str) -> Path:
    path = root / HIDDEN_DIR / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class FileLock:
    """One advisory lock held by this process until :meth:`release` (or process exit)."""

    def __init__(self, root: Path, name: str, *, exclusive: bool) -> None:
        self.root = root
        self.name = name
        self.exclusive = exclusive
        self._fd: int | None = None

    def acquire(self, *, timeout_s: float = 600.0, what: str = "") -> FileLock:
        """Take the lock, waiting up to ``timeout_s``.

        Raises:
            LakeBusyError: another process held it for the whole wait.
        """
        fd = os.open(_lock_path(self.root, self.name), os.O_RDWR | os.O_CREAT, 0o644)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LakeBusyError(
                        self.root,
                        f"{what or 'lock ' + self.name} waited {timeout_s:.0f} s for another "
                        "codex-metrics process; retry when it has finished",
                    ) from None
                time.sleep(_POLL_S)
        self._fd = fd
        return self

    def try_acquire(self) -> bool:
        """Take the lock if free right now; returns whether it was taken."""
        fd = os.open(_lock_path(self.root, self.name), os.O_RDWR | os.O_CREAT, 0o644)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (closing the descriptor releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def exclusive(root: Path, name: str, *, timeout_s: float = 600.0, what: str = "") -> Iterator[None]:
    """Hold lock ``name`` exclusively (waiting up to ``timeout_s``)."""
    lock = FileLock(root, name, exclusive=True).acquire(timeout_s=timeout_s, what=what)
    try:
        yield
    finally:
        lock.release()
