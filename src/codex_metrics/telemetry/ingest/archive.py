"""Raw archives: every ingested file, compressed, under ``<lake>/.codex-metrics/raw/``.

GitHub keeps usage reports for one year and offers a rolling 28-day window; the lake keeps
the files themselves, so history survives and ``ingest --reprocess`` re-derives every table
after a parser fix. Layout, one folder per command::

    .codex-metrics/raw/copilot-report/<hash[:20]>.zst            the file (zstd)
    .codex-metrics/raw/copilot-report/<hash[:20]>.json           name, hash, fetched_at, options
    .codex-metrics/raw/copilot-report/<hash[:20]>.rejects.ndjson lines left out by --skip-bad-lines

A file is named by the hash of its bytes (BLAKE2b), so ingesting it again finds its archive and, unless
``--fetched-at`` says otherwise, the time it was first fetched. Archives hold people's logins:
``lake forget`` rewrites them without that person's records.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from codex_metrics.telemetry.ingest._reading import open_binary
from codex_metrics.telemetry.ingest._records import Reject

__all__ = [
    "RAW_DIR",
    "ArchiveEntry",
    "StagedFile",
    "archive_entries",
    "find_entry",
    "forget_in_archives",
    "stage_file",
]

RAW_DIR = "raw"
_BLOCK = 8 << 20


@dataclass
class ArchiveEntry:
    """The record kept beside an archived file."""

    command: str
    name: str
    digest: str
    size: int
    fetched_at: str
    archived_at: str
    options: dict[str, Any] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)
    rejected: int = 0
    forgotten: int = 0

    @property
    def key(self) -> str:
        """The file's name in the archive (a prefix of its hash)."""
        return self.digest[:20]

    def data_path(self, raw: Path) -> Path:
        """The compressed copy."""
        return raw / self.command / f"{self.key}.zst"

    def meta_path(self, raw: Path) -> Path:
        """This record."""
        return raw / self.command / f"{self.key}.json"

    def rejects_path(self, raw: Path) -> Path:
        """Lines left out by ``--skip-bad-lines`` (beside the archive)."""
        return raw / self.command / f"{self.key}.rejects.ndjson"

    @property
    def fetched(self) -> datetime:
        """``fetched_at`` as a datetime."""
        return datetime.fromisoformat(self.fetched_at)

    def save(self, raw: Path) -> None:
        """Write the record atomically."""
        path = self.meta_path(raw)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1, sort_keys=True))
        os.replace(tmp, path)

    def save_rejects(self, raw: Path, rejects: Iterable[Reject]) -> Path | None:
        """Write the rejects file (``None`` and no file when there are none)."""
        items = list(rejects)
        path = self.rejects_path(raw)
        if not items:
            path.unlink(missing_ok=True)
            return None
        with path.open("w", encoding="utf-8") as fh:
            for r in items:
                fh.write(json.dumps(r.to_dict()) + "\n")
        return path


def find_entry(raw: Path, command: str, digest: str) -> ArchiveEntry | None:
    """The archive record of a file with this hash, if it was archived before."""
    path = raw / command / f"{digest[:20]}.json"
    return _load(path) if path.is_file() else None


def _load(path: Path) -> ArchiveEntry:
    return ArchiveEntry(**json.loads(path.read_text()))


def archive_entries(raw: Path, commands: Iterable[str] | None = None) -> Iterator[ArchiveEntry]:
    """Every archive record (of some commands), oldest fetch first."""
    wanted = set(commands) if commands else None
    found = []
    if raw.is_dir():
        for folder in sorted(p for p in raw.iterdir() if p.is_dir()):
            if wanted is not None and folder.name not in wanted:
                continue
            found += [_load(p) for p in folder.glob("*.json") if not p.name.startswith(".")]
    yield from sorted(found, key=lambda e: (e.fetched_at, e.name))


@dataclass(frozen=True)
class StagedFile:
    """A file hashed and compressed to a temporary path, not yet in the archive."""

    digest: str
    size: int
    temp: Path

    def keep(self, entry: ArchiveEntry, raw: Path) -> Path:
        """Move the compressed copy into the archive under ``entry``'s name."""
        target = entry.data_path(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.temp, target)
        return target

    def drop(self) -> None:
        """Delete the temporary copy."""
        self.temp.unlink(missing_ok=True)


def stage_file(path: Path, raw: Path) -> StagedFile:
    """Hash ``path`` and write a zstd copy of it (decompressed first) beside the archive."""
    raw.mkdir(parents=True, exist_ok=True)
    digest = hashlib.blake2b(digest_size=32)
    size = 0
    temp = raw / f".staging-{os.getpid()}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}.zst"
    with open_binary(path) as src, pa.output_stream(str(temp), compression="zstd") as out:
        while True:
            block = src.read(_BLOCK)
            if not block:
                break
            digest.update(block)
            size += len(block)
            out.write(block)
    return StagedFile(digest.hexdigest(), size, temp)


#: Keys (and OTLP attribute keys) whose value names a person in vendor files.
PERSON_KEYS = ("user_login", "login", "email", "user.email", "user.account_id", "developer")
#: Commands whose archives may be CSV (an assignments file may also be NDJSON: told by its text).
_CSV_COMMANDS = ("developers", "survey", "assignments")


def _names_person(obj: dict[str, Any], people: set[str]) -> bool:
    for key in PERSON_KEYS:
        value = obj.get(key)
        if isinstance(value, str | int) and str(value).strip().lower() in people:
            return True
    assignee = obj.get("assignee")
    if isinstance(assignee, dict) and _names_person(assignee, people):
        return True
    for item in obj.get("attributes") or []:
        if isinstance(item, dict) and item.get("key") in PERSON_KEYS:
            value = (item.get("value") or {}).get("stringValue")
            if isinstance(value, str) and value.strip().lower() in people:
                return True
    return False


def _prune(value: Any, people: set[str]) -> tuple[Any, int]:
    """``value`` without the objects (list elements) that name one of ``people``."""
    if isinstance(value, list):
        kept, dropped = [], 0
        for item in value:
            if isinstance(item, dict) and _names_person(item, people):
                dropped += 1
                continue
            item, n = _prune(item, people)
            kept.append(item)
            dropped += n
        return kept, dropped
    if isinstance(value, dict):
        out, dropped = {}, 0
        for k, v in value.items():
            out[k], n = _prune(v, people)
            dropped += n
        return out, dropped
    return value, 0


def _forget_json(text: str, people: set[str]) -> tuple[str, int]:
    try:
        doc = json.loads(text)
    except ValueError:
        pass
    else:
        if isinstance(doc, dict) and _names_person(doc, people):
            return "", 1  # a one-line NDJSON file whose only record is the person's
        pruned, dropped = _prune(doc, people)
        return json.dumps(pruned), dropped
    lines, dropped = [], 0
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            lines.append(line)  # a line the parser rejected stays as it was
            continue
        if isinstance(obj, dict) and _names_person(obj, people):
            dropped += 1
            continue
        obj, n = _prune(obj, people)
        dropped += n
        lines.append(json.dumps(obj) if n else line)
    return "\n".join(lines) + "\n", dropped


def _forget_csv(text: str, people: set[str]) -> tuple[str, int]:
    rows = list(csv.reader(io.StringIO(text)))
    kept = [r for i, r in enumerate(rows) if i == 0 or not {c.strip().lower() for c in r} & people]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(kept)
    return buf.getvalue(), len(rows) - len(kept)


def forget_in_archives(raw: Path, people: Iterable[str]) -> int:
    """Rewrite every archived file (and rejects file) without the records of ``people``.

    ``people`` are logins, emails or ids as they appear in the vendor files (compared without
    case). Returns the number of records removed.
    """
    wanted = {p.strip().lower() for p in people if p.strip()}
    total = 0
    for entry in archive_entries(raw):
        path = entry.data_path(raw)
        with open_binary(path) as fh:
            text = fh.read().decode("utf-8", errors="replace")
        is_csv = entry.command in _CSV_COMMANDS and not text.lstrip().startswith("{")
        forget = _forget_csv if is_csv else _forget_json
        new_text, dropped = forget(text, wanted)
        rejects = entry.rejects_path(raw)
        if rejects.is_file():
            lines = rejects.read_text().splitlines()
            kept = [x for x in lines if not any(p in x.lower() for p in wanted)]
            if len(kept) != len(lines):
                rejects.write_text("".join(x + "\n" for x in kept))
                dropped += len(lines) - len(kept)
        if not dropped:
            continue
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with pa.output_stream(str(tmp), compression="zstd") as out:
            out.write(new_text.encode())
        os.replace(tmp, path)
        entry.forgotten += dropped
        entry.save(raw)
        total += dropped
    return total
