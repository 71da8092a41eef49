"""Real experiments: a TOML declaration and an assignments file into ``experiments``/``assignments`` rows.

The library side of ``ingest experiment FILE.toml`` and ``ingest assignments FILE``: parse, check
and return Arrow tables with the columns of the lake's ``experiments`` and ``assignments``
specs (bookkeeping columns are the writer's). A whole file is accepted or refused: any bad line
raises :class:`~codex_metrics.errors.InputFormatError` naming the file, line and field.

An experiment file::

    id = "exp-model-c-vs-b"
    description = "model C against B on completions"
    start = 2026-11-02T00:00:00Z          # TOML datetime or "YYYY-MM-DD" (UTC midnight)
    end = 2026-11-16                      # exclusive; omit while it runs
    pre_period_start = 2026-10-26         # CUPED baseline; optional
    planned_developers = 1200             # N* of sequential analysis; optional
    primary_metrics = ["acceptance_rate_by_count"]
    secondary_metrics = ["edit_distance_mean"]

    [[arms]]                              # the first arm is the control
    name = "A"
    model_version = "gpt-4.1"
    weight = 0.5

    [[arms]]
    name = "B"
    model_version = "codex-completion-b"
    weight = 0.5

    [[guardrails]]
    metric = "latency_p90_ms"
    margin = 0.05                         # may get worse by at most 5%
    filters = { feature = "code_completion" }

Arm weights are relative (stored normalised to sum to 1; omitted weights are equal).

An assignments file is CSV with a header, or NDJSON (one object per line, told by its first
character, so an archived copy reads the same), with ``arm``,
``assigned_at`` (ISO 8601; a date means UTC midnight), one of ``login`` (pseudonymised with
the lake's key before it is stored) or ``developer_id`` (already pseudonymous), and
``experiment_id`` unless the caller gives it. Either file may be gzip- or zstd-compressed (the
ingest archive keeps them so).
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from codex_metrics.errors import InputFormatError, MetricError
from codex_metrics.metrics import get_metric

__all__ = ["parse_assignments", "parse_experiment_toml"]

_TS = pa.timestamp("us", tz="UTC")
_ARM = pa.struct([("arm", pa.string()), ("model_version", pa.string()), ("weight", pa.float64())])
_GUARDRAIL = pa.struct([("metric", pa.string()), ("margin", pa.float64())])
_FILTER = pa.struct([("metric", pa.string()), ("dimension", pa.string()), ("value", pa.string())])
_COMPRESSION = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}


def _read_text(path: Path) -> str:
    """The file's text, decompressing gzip or zstd (told by the first bytes)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
        codec = next((c for magic, c in _COMPRESSION.items() if head.startswith(magic)), None)
        if codec is None:
            return path.read_text(encoding="utf-8")
        with pa.input_stream(str(path), compression=codec) as stream:
            return bytes(stream.read()).decode("utf-8")
    except (OSError, UnicodeDecodeError, pa.ArrowInvalid) as exc:
        raise InputFormatError(path, f"cannot read the file ({exc})") from None


class _Toml:
    """The parsed document with the text, to point at the line of a key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = _read_text(path)
        try:
            self.doc = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            line = int(match.group(1)) if match else None
            raise InputFormatError(path, f"not valid TOML ({exc})", line=line) from None

    def line_of(self, key: str, occurrence: int = 0) -> int | None:
        """1-based line of the ``occurrence``-th ``key = ...`` (or ``[[key]]``) in the file."""
        pattern = re.compile(rf"^\s*(\[\[\s*{re.escape(key)}\s*\]\]|{re.escape(key)}\s*=)")
        hits = [i + 1 for i, line in enumerate(self.text.splitlines()) if pattern.match(line)]
        return hits[occurrence] if occurrence < len(hits) else (hits[-1] if hits else None)

    def line_in(self, table: str, occurrence: int, key: str) -> int | None:
        """Line of ``key = ...`` inside the ``occurrence``-th ``[[table]]`` (else its header)."""
        header = self.line_of(table, occurrence)
        if header is None:
            return None
        lines = self.text.splitlines()
        for i in range(header, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i]):
                return i + 1
        return header

    def fail(
        self, key: str, message: str, occurrence: int = 0, *, field: str | None = None
    ) -> InputFormatError:
        """An error at ``key`` (or at ``field`` of the ``occurrence``-th ``[[key]]``)."""
        line = self.line_in(key, occurrence, field) if field else self.line_of(key, occurrence)
        return InputFormatError(self.path, message, line=line, field=field or key)


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _metric(
    doc: _Toml, key: str, name: Any, occurrence: int = 0, *, field: str | None = None
) -> str:
    if not isinstance(name, str) or not name:
        raise doc.fail(key, f"{name!r} is not a metric name", occurrence, field=field)
    try:
        get_metric(name)
    except MetricError as exc:
        raise doc.fail(key, str(exc), occurrence, field=field) from None
    return name


def _arms(doc: _Toml) -> list[dict[str, Any]]:
    arms = doc.doc.get("arms")
    if not isinstance(arms, list) or len(arms) < 2:
        raise doc.fail("arms", "declare at least two [[arms]] (the first is the control)")
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, arm in enumerate(arms):
        name, model, weight = arm.get("name"), arm.get("model_version"), arm.get("weight", 1.0)
        if not isinstance(name, str) or not name or name in names:
            raise doc.fail("arms", f"arm {i + 1} needs a unique name", i, field="name")
        if not isinstance(model, str) or not model:
            raise doc.fail("arms", f"arm {name} needs a model_version", i, field="model_version")
        if not isinstance(weight, int | float) or weight <= 0:
            raise doc.fail("arms", f"arm {name}: weight must be positive", i, field="weight")
        names.add(name)
        out.append({"arm": name, "model_version": model, "weight": float(weight)})
    total = sum(a["weight"] for a in out)
    return [{**a, "weight": a["weight"] / total} for a in out]


def _guardrails(doc: _Toml) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    guardrails, filters = [], []
    for i, g in enumerate(doc.doc.get("guardrails", []) or []):
        metric = _metric(doc, "guardrails", g.get("metric"), i, field="metric")
        margin = g.get("margin")
        if not isinstance(margin, int | float) or not 0 < margin < 1:
            raise doc.fail(
                "guardrails",
                f"{metric}: margin must be a fraction in (0, 1) such as 0.05",
                i,
                field="margin",
            )
        guardrails.append({"metric": metric, "margin": float(margin)})
        filters += _filters(doc, metric, g.get("filters", {}), "guardrails", i)
    for metric, spec in (doc.doc.get("filters", {}) or {}).items():
        filters += _filters(doc, _metric(doc, "filters", metric), spec, "filters", 0)
    return guardrails, filters


def _filters(doc: _Toml, metric: str, spec: Any, key: str, occurrence: int) -> list[dict[str, str]]:
    if not isinstance(spec, Mapping):
        raise doc.fail(
            key,
            f"{metric}: filters must be a table such as {{ feature = ... }}",
            occurrence,
            field="filters" if key == "guardrails" else None,
        )
    out = []
    for dim, values in spec.items():
        for value in values if isinstance(values, list) else [values]:
            out.append({"metric": metric, "dimension": str(dim), "value": str(value)})
    return out


def parse_experiment_toml(path: Path | str) -> pa.Table:
    """One ``experiments`` row from a TOML declaration (see the module docstring).

    Raises:
        InputFormatError: the file is not TOML, or a field is missing or wrong (with its line).
    """
    doc = _Toml(Path(path))
    d = doc.doc
    eid = d.get("id")
    if not isinstance(eid, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", eid or ""):
        raise doc.fail("id", f"id must be letters, digits, '.', '_' or '-', got {eid!r}")
    start = _timestamp(d.get("start"))
    if start is None:
        raise doc.fail("start", "start must be a date or UTC timestamp (2026-11-02)")
    stamps = {}
    for key in ("end", "pre_period_start"):
        stamps[key] = _timestamp(d[key]) if key in d else None
        if key in d and stamps[key] is None:
            raise doc.fail(key, f"{key} must be a date or UTC timestamp")
    if stamps["end"] is not None and stamps["end"] <= start:
        raise doc.fail("end", "end must be after start")
    if stamps["pre_period_start"] is not None and stamps["pre_period_start"] >= start:
        raise doc.fail("pre_period_start", "pre_period_start must be before start")
    primary = d.get("primary_metrics")
    if not isinstance(primary, list) or not primary:
        raise doc.fail("primary_metrics", "declare at least one primary metric")
    primary = [_metric(doc, "primary_metrics", m) for m in primary]
    secondary = [_metric(doc, "secondary_metrics", m) for m in d.get("secondary_metrics", [])]
    planned = d.get("planned_developers")
    if planned is not None and (not isinstance(planned, int) or planned < 2):
        raise doc.fail("planned_developers", "planned_developers must be an integer of at least 2")
    guardrails, filters = _guardrails(doc)
    return pa.table(
        {
            "experiment_id": [eid],
            "description": [str(d.get("description", ""))],
            "arms": pa.array([_arms(doc)], pa.list_(_ARM)),
            "pre_period_start": pa.array([stamps["pre_period_start"]], _TS),
            "start": pa.array([start], _TS),
            "end": pa.array([stamps["end"]], _TS),
            "primary_metrics": pa.array([primary], pa.list_(pa.string())),
            "guardrail_metrics": pa.array([guardrails], pa.list_(_GUARDRAIL)),
            "secondary_metrics": pa.array([secondary], pa.list_(pa.string())),
            "planned_developers": pa.array([planned], pa.int64()),
            "metric_filters": pa.array([filters], pa.list_(_FILTER)),
        }
    )


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    text = _read_text(path)
    if text.lstrip().startswith("{"):
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFormatError(path, f"not JSON ({exc.msg})", line=i) from None
            if not isinstance(record, dict):
                raise InputFormatError(path, "each line must be a JSON object", line=i)
            yield i, record
        return
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise InputFormatError(path, "empty file: expected a CSV header", line=1)
    for record in reader:
        yield reader.line_num, dict(record)


def parse_assignments(
    path: Path | str,
    *,
    pseudonymise: Callable[[str], str],
    experiment_id: str | None = None,
    arms: set[str] | Mapping[str, set[str]] | None = None,
) -> pa.Table:
    """``assignments`` rows from a CSV or NDJSON file (see the module docstring).

    Args:
        path: the file (``.csv``, or ``.ndjson``/``.jsonl``).
        pseudonymise: turns a login into the stored developer id (the lake's keyed hash).
        experiment_id: the experiment of every row (else each row's ``experiment_id``).
        arms: the experiment's arm names, to refuse rows of an unknown arm; or experiment id ->
            arm names (the experiments in the lake), to also refuse an unknown experiment.

    Raises:
        InputFormatError: a bad line (named with its line number and field), or no rows.
    """
    path = Path(path)
    cols: dict[str, list[Any]] = {
        k: [] for k in ("experiment_id", "developer_id", "arm", "assigned_at")
    }
    for line, rec in _records(path):
        login, dev = rec.get("login"), rec.get("developer_id")
        if bool(login) == bool(dev):
            raise InputFormatError(
                path, "give exactly one of login or developer_id", line=line, field="login"
            )
        eid = experiment_id or rec.get("experiment_id")
        if not eid:
            raise InputFormatError(
                path, "no experiment_id (column or option)", line=line, field="experiment_id"
            )
        allowed = arms
        if isinstance(arms, Mapping):
            if eid not in arms:
                declared = f" (the lake has {', '.join(sorted(arms))})" if arms else ""
                raise InputFormatError(
                    path,
                    f"experiment {eid!r} is not in the lake{declared}; ingest its declaration "
                    "first: codex-metrics ingest experiment FILE.toml",
                    line=line,
                    field="experiment_id",
                )
            allowed = arms[eid]
        arm = rec.get("arm")
        if not arm or (allowed is not None and arm not in allowed):
            known = f"; the experiment's arms are {', '.join(sorted(allowed))}" if allowed else ""
            raise InputFormatError(path, f"unknown arm {arm!r}{known}", line=line, field="arm")
        at = _timestamp(rec.get("assigned_at"))
        if at is None:
            raise InputFormatError(
                path,
                f"{rec.get('assigned_at')!r} is not an ISO date or timestamp",
                line=line,
                field="assigned_at",
            )
        cols["experiment_id"].append(str(eid))
        cols["developer_id"].append(pseudonymise(str(login)) if login else str(dev))
        cols["arm"].append(str(arm))
        cols["assigned_at"].append(at)
    if not cols["arm"]:
        raise InputFormatError(path, "no assignment rows")
    return pa.table(
        {
            "experiment_id": pa.array(cols["experiment_id"], pa.string()),
            "developer_id": pa.array(cols["developer_id"], pa.string()),
            "arm": pa.array(cols["arm"], pa.string()),
            "assigned_at": pa.array(cols["assigned_at"], _TS),
        }
    )
