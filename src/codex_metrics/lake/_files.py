"""Naming and listing of the lake's files.

A published file is ``<lake>/<table>/day=YYYY-MM-DD/<source>~<scope>~<uid>.parquet`` (or directly
under ``<lake>/<table>/`` for whole tables). Source and scope are in the name so a write can
replace exactly the files of one (table, source, scope, day) without opening any file. Staging
files live under ``<lake>/_staging/<pid>-<uid>/``, outside every table directory, so no reader
glob can ever see them; they are renamed into place (same filesystem, atomic) when published.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

STAGING_DIR = "_staging"
HIDDEN_PREFIXES = ("_", ".")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_DAY_DIR = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")


def slug(value: str) -> str:
    """File-name-safe form of a source or scope; unsafe values get a hash suffix."""
    if _SAFE.match(value) and "~" not in value:
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-")[:60] or "x"
    return f"{cleaned}-{hashlib.sha1(value.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class FileRef:
    """One published Parquet file of a table."""

    path: Path
    table: str
    day: date | None
    source: str
    scope: str

    @classmethod
    def parse(cls, path: Path, table: str, day: date | None) -> FileRef | None:
        """Parse a published file's name; ``None`` for anything that is not one."""
        if path.suffix != ".parquet" or path.name.startswith(HIDDEN_PREFIXES):
            return None
        parts = path.stem.split("~")
        if len(parts) != 3:
            return None
        return cls(path=path, table=table, day=day, source=parts[0], scope=parts[1])


def file_name(source: str, scope: str) -> str:
    """A fresh file name for a (source, scope) file."""
    return f"{slug(source)}~{slug(scope)}~{uuid.uuid4().hex[:16]}.parquet"


def day_dir(table_dir: Path, day: date | None) -> Path:
    """Directory that holds a table's files of ``day`` (the table dir for whole tables)."""
    return table_dir if day is None else table_dir / f"day={day.isoformat()}"


def list_files(table_dir: Path, table: str) -> list[FileRef]:
    """All published files of a table, sorted by path."""
    refs: list[FileRef] = []
    if not table_dir.is_dir():
        return refs
    for entry in sorted(table_dir.iterdir()):
        if entry.is_file():
            ref = FileRef.parse(entry, table, None)
        elif entry.is_dir() and (m := _DAY_DIR.match(entry.name)):
            day = date.fromisoformat(m.group(1))
            refs.extend(
                r
                for f in sorted(entry.iterdir())
                if (r := FileRef.parse(f, table, day)) is not None
            )
            continue
        else:
            continue
        if ref is not None:
            refs.append(ref)
    return refs


def new_staging_dir(lake_root: Path) -> Path:
    """Create a private staging directory for one writer."""
    path = lake_root / STAGING_DIR / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(lake_root: Path) -> int:
    """Remove staging directories left by writers that are no longer running."""
    root = lake_root / STAGING_DIR
    removed = 0
    if not root.is_dir():
        return removed
    for entry in root.iterdir():
        pid_text = entry.name.split("-", 1)[0]
        if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != 0:
            continue
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        removed += 1
    return removed
