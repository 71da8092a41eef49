"""Names of data files, and the listing of a lake in the previous (plain Parquet) layout.

A data file is ``<lake>/<table>/day=YYYY-MM-DD/<source>~<scope>~<uid>.parquet`` (directly under
``<lake>/<table>/`` for whole tables). Source and scope are in the name for people looking at the
folder; the lake itself reads them from each file's Delta statistics. Schema version 1 lakes used
the same names without a transaction log; :func:`list_legacy_files` finds those files for
``lake migrate``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

__all__ = ["LegacyFile", "file_name", "list_legacy_files", "slug"]

HIDDEN_PREFIXES = ("_", ".")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_DAY_DIR = re.compile(r"^day=(\d{4}-\d{2}-\d{2})$")


def slug(value: str) -> str:
    """File-name-safe form of a source or scope; unsafe values get a hash suffix."""
    if _SAFE.match(value) and "~" not in value:
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value).strip("-")[:60] or "x"
    return f"{cleaned}-{hashlib.sha1(value.encode()).hexdigest()[:8]}"


def file_name(source: str, scope: str) -> str:
    """A fresh file name for a (source, scope) file."""
    return f"{slug(source)}~{slug(scope)}~{uuid.uuid4().hex[:16]}.parquet"


@dataclass(frozen=True)
class LegacyFile:
    """One published Parquet file of a schema-version-1 lake (no transaction log)."""

    path: Path
    table: str
    day: date | None
    source: str
    scope: str

    @classmethod
    def parse(cls, path: Path, table: str, day: date | None) -> LegacyFile | None:
        """Parse a published file's name; ``None`` for anything that is not one."""
        if path.suffix != ".parquet" or path.name.startswith(HIDDEN_PREFIXES):
            return None
        parts = path.stem.split("~")
        if len(parts) != 3:
            return None
        return cls(path=path, table=table, day=day, source=parts[0], scope=parts[1])


def list_legacy_files(table_dir: Path, table: str) -> list[LegacyFile]:
    """All published files of a schema-version-1 table, sorted by path."""
    refs: list[LegacyFile] = []
    if not table_dir.is_dir():
        return refs
    for entry in sorted(table_dir.iterdir()):
        if entry.is_file():
            ref = LegacyFile.parse(entry, table, None)
            if ref is not None:
                refs.append(ref)
        elif entry.is_dir() and (m := _DAY_DIR.match(entry.name)):
            day = date.fromisoformat(m.group(1))
            refs.extend(
                r
                for f in sorted(entry.iterdir())
                if (r := LegacyFile.parse(f, table, day)) is not None
            )
    return refs
