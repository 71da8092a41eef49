"""People's CSV files: a developers roster and survey answers -> ``developers``, ``surveys``.

Headers are matched case-insensitively with spaces as underscores; unknown columns are
ignored. A person is named by ``login``, ``email``, ``id`` or ``developer`` (pseudonymised like
every other source, so the roster joins the Copilot and Codex rows of the same login).

* developers: ``experience`` (years), ``experience_level`` (junior, mid, senior; derived from
  years when absent: < 3, 3-8, > 8), ``team``, ``role``, ``start_date``, ``org``,
  ``primary_language``, ``editor``, ``plan``. A roster replaces the previous one of its org.
* surveys: ``submitted_at`` (a day or a time, UTC), ``satisfaction`` (1-5, required), ``nps``
  (0-10), ``perceived_productivity``, ``flow``, ``ease_of_use``, ``trust``, ``frustration``
  (1-5). Survey tools name columns after their questions: ``--map "How satisfied are
  you?=satisfaction"`` maps a column to a field. Likert labels ("Strongly agree", "Very
  satisfied") are read as 1-5.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from codex_metrics.errors import InputFormatError
from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
from codex_metrics.lake.tables import TABLES
from codex_metrics.telemetry.ingest._reading import open_binary
from codex_metrics.telemetry.ingest._records import IngestOptions, ParsedBatch, Reject, hash64
from codex_metrics.telemetry.ingest._rows import RowError

__all__ = ["LIKERT", "SURVEY_FIELDS", "parse_developers", "parse_survey"]

IDENTITY_COLUMNS = ("login", "user_login", "email", "developer", "developer_id", "id", "user")
SURVEY_FIELDS = ("developer", "submitted_at", "org", "satisfaction", "nps",
                 "perceived_productivity", "flow", "ease_of_use", "trust", "frustration")  # fmt: skip
_LIKERT_ITEMS = ("satisfaction", "perceived_productivity", "flow", "ease_of_use", "trust",
                 "frustration")  # fmt: skip
_ALIASES = {"timestamp": "submitted_at", "date": "submitted_at", "submitted": "submitted_at",
            "respondent": "developer", "experience_years": "experience", "start": "start_date",
            "language": "primary_language"}  # fmt: skip
#: Likert labels read as 1-5 (agreement and satisfaction scales).
LIKERT = {
    "strongly disagree": 1, "disagree": 2, "neutral": 3, "neither agree nor disagree": 3,
    "agree": 4, "strongly agree": 5, "very dissatisfied": 1, "dissatisfied": 2,
    "neither satisfied nor dissatisfied": 3, "satisfied": 4, "very satisfied": 5,
}  # fmt: skip


def _norm(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _rows(path: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """``(line, header, row)`` of every non-empty data row."""
    with open_binary(path) as fh:
        text = fh.read().decode("utf-8-sig", errors="strict")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InputFormatError(path, "the file is empty") from None
    except csv.Error as exc:
        raise InputFormatError(path, f"not CSV ({exc})", line=1) from None
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, header, row
    except csv.Error as exc:
        raise InputFormatError(path, f"not CSV ({exc})", line=reader.line_num) from None


def _columns(
    header: list[str], column_map: Mapping[str, str], known: tuple[str, ...]
) -> dict[int, str]:
    """Column index -> field: ``--map`` first, then the header's own name or alias."""
    mapped = {_norm(k): v for k, v in column_map.items()}
    out: dict[int, str] = {}
    for i, name in enumerate(header):
        n = _norm(name)
        target = mapped.get(n) or _ALIASES.get(n, n)
        if target in IDENTITY_COLUMNS:
            target = "developer"
        if target in known:
            out[i] = target
    return out


def _identity(values: Mapping[str, str], header: list[str]) -> str:
    person = values.get("developer", "").strip()
    if not person:
        raise RowError("developer", f"is missing (name one column {', '.join(IDENTITY_COLUMNS)})")
    return person


def _number(value: str, name: str, low: float, high: float | None = None) -> float | None:
    text = value.strip()
    if not text:
        return None
    if name in _LIKERT_ITEMS and text.lower() in LIKERT:
        return LIKERT[text.lower()]
    try:
        number = float(text)
    except ValueError:
        raise RowError(name, f"{value!r} is not a number") from None
    if number < low or (high is not None and number > high):
        limits = f"{low:g}-{high:g}" if high is not None else f">= {low:g}"
        raise RowError(name, f"{value!r} is outside {limits}")
    return number


def _when(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise RowError("submitted_at", "is missing")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RowError("submitted_at", f"{value!r} is not a day or time (ISO 8601)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day(value: str, name: str) -> date | None:
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise RowError(name, f"{value!r} is not a day (YYYY-MM-DD)") from None


def _collect(
    path: Path, options: IngestOptions, known: tuple[str, ...], build: Any
) -> tuple[list[dict[str, Any]], list[Reject]]:
    rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    columns: dict[int, str] | None = None
    for line, header, row in _rows(path):
        if columns is None:
            columns = _columns(header, options.column_map, known)
            if "developer" not in columns.values():
                raise InputFormatError(
                    path, f"no column names a person ({', '.join(IDENTITY_COLUMNS)}); "
                    "rename one or pass --map COLUMN=developer", line=1)  # fmt: skip
        values = {field: row[i] if i < len(row) else "" for i, field in columns.items()}
        try:
            rows.append(build(values, header))
        except RowError as exc:
            if not options.skip_bad_lines:
                raise InputFormatError(path, exc.message, line=line, field=exc.field) from None
            rejects.append(Reject(line, exc.field, exc.message, ",".join(row)))
    return rows, rejects


def _table(name: str, rows: list[dict[str, Any]], *, day: str | None = None) -> pa.Table:
    cols = {
        c.name: pa.array([r.get(c.name) for r in rows], c.type)
        for c in TABLES[name].columns
        if c.name not in BOOKKEEPING_COLUMNS
    }
    if day:
        cols["day"] = pa.array([r[day].date() for r in rows], pa.date32())
    return pa.table(cols)


def parse_developers(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
    """The ``developers`` rows of a roster CSV.

    Raises:
        InputFormatError: no person column, or a bad value (line and column).
    """
    known = ("developer", "experience", "experience_level", "team", "role", "start_date",
             "org", "primary_language", "editor", "plan")  # fmt: skip

    def build(values: Mapping[str, str], header: list[str]) -> dict[str, Any]:
        years = _number(values.get("experience", ""), "experience", 0, 80)
        level = values.get("experience_level", "").strip().lower() or None
        if level is not None and level not in ("junior", "mid", "senior"):
            raise RowError("experience_level", f"{level!r} is not junior, mid or senior")
        if level is None and years is not None:
            level = "junior" if years < 3 else "mid" if years <= 8 else "senior"
        text = {k: (values.get(k, "").strip() or None) for k in known}
        return {
            "developer_id": options.pseudonymise(_identity(values, header)),
            "org": text["org"] or options.org or "default",
            "experience_years": years,
            "experience_level": level,
            "primary_language": (text["primary_language"] or "").lower() or None,
            "editor": (text["editor"] or "").lower() or None,
            "plan": text["plan"],
            "team": text["team"],
            "role": text["role"],
            "start_date": _day(values.get("start_date", ""), "start_date"),
        }

    rows, rejects = _collect(path, options, known, build)
    tables = {"developers": _table("developers", rows)} if rows else {}
    yield ParsedBatch(scope=options.org or "default", tables=tables, rejects=rejects)


def parse_survey(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
    """The ``surveys`` rows of a survey-answers CSV (``--map COLUMN=FIELD`` for its headers).

    Raises:
        InputFormatError: no person column, or a bad value (line and column).
    """
    unknown = sorted(set(options.column_map.values()) - set(SURVEY_FIELDS))
    if unknown:
        raise InputFormatError(
            path, f"--map names unknown field(s) {', '.join(unknown)}; fields: "
            + ", ".join(SURVEY_FIELDS))  # fmt: skip

    def build(values: Mapping[str, str], header: list[str]) -> dict[str, Any]:
        person = _identity(values, header)
        when = _when(values.get("submitted_at", ""))
        org = values.get("org", "").strip() or options.org or "default"
        out: dict[str, Any] = {
            "response_id": hash64("survey", person.lower(), when.isoformat(), org),
            "developer_id": options.pseudonymise(person),
            "org": org,
            "submitted_at": when,
        }
        for item in _LIKERT_ITEMS:
            value = _number(values.get(item, ""), item, 1, 5)
            out[item] = None if value is None else _whole(value, item)
        nps = _number(values.get("nps", ""), "nps", 0, 10)
        out["nps"] = None if nps is None else _whole(nps, "nps")
        if out["satisfaction"] is None:
            raise RowError(
                "satisfaction", "is missing (map a column with --map COLUMN=satisfaction)"
            )
        return out

    rows, rejects = _collect(path, options, SURVEY_FIELDS, build)
    tables = {"surveys": _table("surveys", rows, day="submitted_at")} if rows else {}
    yield ParsedBatch(scope=options.org or "default", tables=tables, rejects=rejects)


def _whole(value: float, name: str) -> int:
    if not float(value).is_integer():
        raise RowError(name, f"{value!r} is not a whole number")
    return int(value)
