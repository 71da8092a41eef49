"""Evaluation results: per-sample records, runs and the results JSONL.

The results file is openai/human-eval's ``_results.jsonl`` (``task_id``, ``completion``,
``result``, ``passed``) with our fields added on every line (``sample_index``, ``outcome``,
``error_type``, timings, quality, generation cost, ``run_id``, ``model_version``, ``suite``).
Run metadata (provider, settings, start and finish, pass@k, missing verdicts) goes to a sidecar
``<results>.run.json``. The lake tables are written by :mod:`~codex_metrics.evaluation.store`.

Every string a record holds is valid UTF-8: a lone surrogate (from a sample's code, an error
message or a model's answer) is kept as its escape (backslash, ``u``, four hex digits), so no
writer downstream fails.
A sample without a verdict (``harness_error``) is left out of pass@k and counted as missing.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from codex_metrics.errors import DataNotFoundError, InputFormatError
from codex_metrics.evaluation.jsonl import jsonl_records
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.pass_at_k import pass_at_k_table

__all__ = ["EvalRun", "SampleRecord", "clean_text", "read_results", "write_results"]


def clean_text(value: str) -> str:
    """``value`` as valid UTF-8: each lone surrogate becomes its backslash escape, as text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _clean(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class SampleRecord:
    """The verdict and measurements of one sample (one line of the results file).

    ``generation_latency_s``, ``prompt_tokens`` and ``completion_tokens`` are the cost of
    generating the sample, when ``eval generate`` made it.
    """

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
    generation_latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def sanitised(cls, **fields: Any) -> SampleRecord:
        """A record whose strings are all valid UTF-8 (see :func:`clean_text`)."""
        return cls(**{name: _clean(value) for name, value in fields.items()})

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
        """``{task_id: (samples with a verdict, passed)}``; tasks with no verdict are left out."""
        n: Counter[str] = Counter()
        c: Counter[str] = Counter()
        for r in self.records:
            if r.outcome.has_verdict:
                n[r.task_id] += 1
                c[r.task_id] += r.passed
        return {task: (n[task], c[task]) for task in n}

    @property
    def verdicts_missing(self) -> int:
        """Samples the harness could not judge (``harness_error``); the run is incomplete."""
        return sum(not r.outcome.has_verdict for r in self.records)

    def generation_cost(self) -> dict[str, float | int | None]:
        """Totals of the samples' generation cost (``None`` where no sample recorded it)."""
        latencies = [
            r.generation_latency_s for r in self.records if r.generation_latency_s is not None
        ]
        prompt = [r.prompt_tokens for r in self.records if r.prompt_tokens is not None]
        completion = [r.completion_tokens for r in self.records if r.completion_tokens is not None]
        return {
            "prompt_tokens_total": sum(prompt) if prompt else None,
            "completion_tokens_total": sum(completion) if completion else None,
            "generation_latency_mean_ms": 1000 * sum(latencies) / len(latencies)
            if latencies
            else None,
        }

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
            "verdicts_missing": self.verdicts_missing,
            "status": "incomplete" if self.verdicts_missing else "complete",
            **self.generation_cost(),
        }


_FIELDS = tuple(f for f in SampleRecord.__dataclass_fields__ if f != "completion")


def _record_line(run: EvalRun, r: SampleRecord) -> dict[str, Any]:
    line: dict[str, Any] = {
        "task_id": r.task_id,
        "completion": r.completion,
        "result": r.result,
        "passed": r.passed,
    }
    line.update((name, getattr(r, name)) for name in _FIELDS)
    line["outcome"] = r.outcome.value
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
    return SampleRecord.sanitised(outcome=outcome, **values)


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
        run_id=clean_text(str(meta.get("run_id") or first.get("run_id") or path.stem)),
        model_version=clean_text(
            str(meta.get("model_version") or first.get("model_version") or path.stem)
        ),
        suite=clean_text(str(meta.get("suite") or first.get("suite") or "humaneval")),
        provider=clean_text(str(meta.get("provider") or "replay")),
        records=tuple(records),
        settings=dict(meta.get("settings") or {}),
        started_at=_parse_time(meta.get("started_at")),
        finished_at=_parse_time(meta.get("finished_at")),
    )
