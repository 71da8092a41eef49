"""The simulated world a lake holds, and the table versions that hold it.

A simulation publishes its tables (one Delta commit each), then writes its truth to
``_simulator/truth-<run_id>.json``, then appends one line to ``_simulator/worlds.jsonl`` naming
the run and the version of every table it wrote. That append is the world's commit point: until
it happens, readers keep reading the previous world at its versions (the files it needs stay on
disk: ``lake vacuum`` keeps every version a recorded world names), so a simulation killed between
two tables never shows a mixed world, and the truth beside the data is always the data's truth.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from codex_metrics.lake._locks import exclusive

__all__ = [
    "SIMULATOR_DIR",
    "SIMULATOR_SOURCE",
    "World",
    "current_world",
    "publish_world",
    "read_worlds",
]

SIMULATOR_SOURCE = "simulator"
SIMULATOR_DIR = "_simulator"
WORLDS_FILE = "worlds.jsonl"


@dataclass(frozen=True)
class World:
    """One published simulated world: its run, when it was published, its table versions."""

    run_id: str
    published_at: datetime
    versions: Mapping[str, int]

    def to_dict(self) -> dict[str, object]:
        """Plain data: run, publication time, table versions."""
        return {
            "run_id": self.run_id,
            "published_at": self.published_at.isoformat(),
            "table_versions": dict(sorted(self.versions.items())),
        }

    def to_json(self) -> str:
        """One line of ``worlds.jsonl``."""
        return json.dumps(self.to_dict(), sort_keys=True)


def read_worlds(root: Path) -> list[World]:
    """Every world published into the lake, oldest first (a torn last line is ignored)."""
    path = root / SIMULATOR_DIR / WORLDS_FILE
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    worlds = []
    for line in lines:
        try:
            doc = json.loads(line)
            worlds.append(
                World(
                    str(doc["run_id"]),
                    datetime.fromisoformat(doc["published_at"]),
                    {str(k): int(v) for k, v in doc["table_versions"].items()},
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return worlds


def current_world(root: Path, *, as_of: datetime | None = None) -> World | None:
    """The world readers see now, or the last one published at or before ``as_of``."""
    worlds = read_worlds(root)
    if as_of is not None:
        worlds = [w for w in worlds if w.published_at <= as_of]
    return worlds[-1] if worlds else None


def publish_world(root: Path, run_id: str, versions: Mapping[str, int]) -> World:
    """Record a complete world: the commit point of a simulation (an atomic append)."""
    world = World(run_id, datetime.now(UTC), dict(versions))
    folder = root / SIMULATOR_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive(root, "worlds", what="recording the simulated world"):
        fd = os.open(folder / WORLDS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (world.to_json() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    return world
