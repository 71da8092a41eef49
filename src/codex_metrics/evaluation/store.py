"""Evaluation runs in the lake: ``eval_results`` (one row per sample) and ``eval_runs`` (one per run).

:func:`publish` writes a run to both tables, each in one Delta commit, with the run id as the
scope, so re-publishing a run replaces its own rows and nothing else. Every string is made valid
UTF-8 on the way in (:func:`~codex_metrics.evaluation.results.clean_text`): a lone surrogate in a
sample's code or error message never stops a commit.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_metrics.errors import DataNotFoundError
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.results import EvalRun, SampleRecord, clean_text

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["EVAL_SOURCE", "publish", "run_from_lake", "run_row", "runs_from_lake", "to_arrow"]

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


def _text(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def to_arrow(run: EvalRun) -> pa.Table:
    """The run as rows of the lake's ``eval_results`` table (bookkeeping added by the lake)."""
    import pyarrow as pa

    rows = run.records
    settings = clean_text(json.dumps(run.settings, sort_keys=True, default=str))
    columns: dict[str, Any] = {
        "eval_run_id": [clean_text(run.run_id)] * len(rows),
        "model_version": [clean_text(run.model_version)] * len(rows),
        "suite": [clean_text(run.suite)] * len(rows),
        "task_id": [clean_text(r.task_id) for r in rows],
        "sample_index": [r.sample_index for r in rows],
        "outcome": [r.outcome.value for r in rows],
        "passed": [r.passed for r in rows],
        "duration_s": [r.duration_s for r in rows],
        "peak_memory_kb": [r.peak_memory_kb for r in rows],
        "edit_distance_tokens": [r.edit_distance_tokens for r in rows],
        "edit_distance_chars": [r.edit_distance_chars for r in rows],
        "quality_score": [r.quality_score for r in rows],
        "error_type": [_text(r.error_type) for r in rows],
        "error_message": [_text(r.error_message) for r in rows],
        "traceback_excerpt": [_text(r.traceback[-2000:]) if r.traceback else None for r in rows],
        "exit_code": [r.exit_code for r in rows],
        "compile_ok": [r.compile_ok for r in rows],
        "complexity": [r.complexity for r in rows],
        "ruff_findings": [r.ruff_findings for r in rows],
        "security_findings": [r.security_findings for r in rows],
        "provider": [clean_text(run.provider)] * len(rows),
        "run_settings": [settings] * len(rows),
        "run_started_at": [run.started_at] * len(rows),
        "run_finished_at": [run.finished_at] * len(rows),
    }
    return pa.table(columns)


def run_row(run: EvalRun) -> pa.Table:
    """The run as one row of the lake's ``eval_runs`` table."""
    from importlib.metadata import PackageNotFoundError, version

    import pyarrow as pa

    try:
        tool_version = version("codex-metrics")
    except PackageNotFoundError:  # running from a source tree
        tool_version = None
    pass_at = run.pass_at_k()
    row: dict[str, Any] = {
        "eval_run_id": clean_text(run.run_id),
        "model_version": clean_text(run.model_version),
        "suite": clean_text(run.suite),
        "provider": clean_text(run.provider),
        "is_reference": run.provider == "reference",
        "samples": len(run.records),
        "tasks": len({r.task_id for r in run.records}),
        "samples_passed": sum(r.passed for r in run.records),
        "verdicts_missing": run.verdicts_missing,
        "pass_at_1": pass_at.get(1),
        "pass_at_k": json.dumps({str(k): v for k, v in pass_at.items() if k != 1}),
        "outcome_counts": json.dumps(run.outcome_counts()),
        "settings": clean_text(json.dumps(run.settings, sort_keys=True, default=str)),
        "started_at": run.started_at or run.finished_at or datetime.now(UTC),
        "finished_at": run.finished_at,
        "status": "incomplete" if run.verdicts_missing else "complete",
        **run.generation_cost(),
        "tool_version": tool_version,
    }
    return pa.Table.from_pylist([row])


def publish(run: EvalRun, lake_path: Path) -> int:
    """Write the run to ``eval_results`` and ``eval_runs`` (replacing an earlier copy of the run).

    Returns:
        Sample rows written.
    """
    from codex_metrics.lake import Lake

    lake = Lake.open(lake_path)
    report = lake.write_table("eval_results", to_arrow(run), source=EVAL_SOURCE, scope=run.run_id)
    lake.write_table("eval_runs", run_row(run), source=EVAL_SOURCE, scope=run.run_id)
    return report.rows_written


_RUNS_SQL = """
SELECT eval_run_id AS run_id, any_value(model_version) AS model_version, any_value(suite) AS suite,
       any_value(provider) AS provider, any_value(run_settings) AS settings,
       min(run_started_at) AS started_at, max(run_finished_at) AS finished_at,
       count(*) AS samples, count(DISTINCT task_id) AS tasks, avg(passed::INT) AS pass_rate
FROM eval_results GROUP BY eval_run_id ORDER BY started_at NULLS LAST, run_id
"""


def runs_from_lake(lake_path: Path) -> list[dict[str, Any]]:
    """One row per run stored in the lake (from ``eval_results``, so older lakes work too)."""
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
