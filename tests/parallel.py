"""Seed loops of the slow truth-recovery tests, spread over the machine's cores.

Each seed is a whole world (simulate, then analyse) and independent of the others, so the
loops map a module-level function over the seeds in spawned worker processes (not forked: the
test process holds DuckDB and OpenMP threads, which a fork can deadlock). Results come back in
seed order, so every test's figures are the same as with a plain loop.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["map_seeds"]

T = TypeVar("T")


def map_seeds(fn: Callable[..., T], *args: Iterable[Any]) -> list[T]:
    """``[fn(*a) for a in zip(*args)]``, in up to 4 spawned workers (one per core)."""
    workers = max(1, min(4, os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, *args))
