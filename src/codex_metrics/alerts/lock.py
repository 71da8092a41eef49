"""The check lock: one ``alerts check`` at a time per lake (cron runs may overlap)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from codex_metrics.lake._locks import FileLock

if TYPE_CHECKING:
    from codex_metrics.lake import Lake

__all__ = ["CHECK_LOCK", "check_lock"]

#: Name of the lock file under ``<lake>/.codex-metrics/locks/``.
CHECK_LOCK = "alerts-check"


@contextmanager
def check_lock(lake: Lake) -> Iterator[bool]:
    """Hold the exclusive check lock; yields False (without waiting) when another holds it."""
    lock = FileLock(lake.root, CHECK_LOCK, exclusive=True)
    if not lock.try_acquire():
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
