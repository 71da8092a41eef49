"""Samples files: the JSONL that generation writes and replay, scoring and resumption read.

Accepted input, one JSON object per line:

* openai/human-eval samples: ``{"task_id", "completion"}`` (the completion is appended to the
  task's prompt); repeated ``task_id`` lines are further samples of that task, numbered in
  file order;
* evalplus samples: ``{"task_id", "solution"}`` (a whole program, run without the prompt);
* our own generation output, which adds ``sample_index``, ``model_version``, ``raw`` (the model's
  answer before extraction), ``extracted`` (whether code was found) and the cost of generating
  it: ``latency_s`` (the request's wall time) and ``prompt_tokens`` / ``completion_tokens`` (the
  request's usage, split evenly over the ``n`` samples it returned, so sums are exact).

Other keys are ignored. A malformed file is rejected as a whole, naming the line and field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_metrics.errors import DataNotFoundError, InputFormatError
from codex_metrics.evaluation.jsonl import jsonl_records
from codex_metrics.evaluation.tasks import TaskSet

__all__ = ["Sample", "read_samples", "write_samples"]


@dataclass(frozen=True)
class Sample:
    """One model answer to one task.

    Attributes:
        task_id: the task answered.
        sample_index: 0-based index among this task's samples.
        code: the code to test: a completion, or a whole program when ``whole_program``.
        whole_program: ``True`` for evalplus-style ``solution`` samples.
        model_version: model version that produced it, when known.
        raw: the model's raw answer before code extraction, when known.
        extracted: ``False`` when no code could be extracted from the raw answer.
        latency_s: wall time of the request that generated it, seconds.
        prompt_tokens: its share of the request's prompt tokens.
        completion_tokens: its share of the request's completion tokens.
    """

    task_id: str
    sample_index: int
    code: str
    whole_program: bool = False
    model_version: str | None = None
    raw: str | None = None
    extracted: bool = True
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON record written to a samples file (human-eval compatible)."""
        record: dict[str, Any] = {"task_id": self.task_id}
        record["solution" if self.whole_program else "completion"] = self.code
        record["sample_index"] = self.sample_index
        if self.model_version is not None:
            record["model_version"] = self.model_version
        if self.raw is not None:
            record["raw"] = self.raw
        if not self.extracted:
            record["extracted"] = False
        for key in ("latency_s", "prompt_tokens", "completion_tokens"):
            if getattr(self, key) is not None:
                record[key] = getattr(self, key)
        return record


def _sample_from(record: Any, path: Path, line: int, counts: dict[str, int]) -> Sample:
    if not isinstance(record, dict):
        raise InputFormatError(path, "expected a JSON object", line=line)
    task_id = record.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise InputFormatError(path, "missing or not a string", line=line, field="task_id")
    if isinstance(record.get("completion"), str):
        code, whole = record["completion"], False
    elif isinstance(record.get("solution"), str):
        code, whole = record["solution"], True
    else:
        raise InputFormatError(
            path, "missing: need 'completion' or 'solution'", line=line, field="completion"
        )
    index = record.get("sample_index")
    if index is None:
        index = counts.get(task_id, 0)
    elif not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InputFormatError(
            path, "must be a non-negative integer", line=line, field="sample_index"
        )
    counts[task_id] = max(counts.get(task_id, 0), index + 1)
    model = record.get("model_version")
    raw = record.get("raw")
    latency = record.get("latency_s")
    tokens = {
        key: record[key]
        for key in ("prompt_tokens", "completion_tokens")
        if isinstance(record.get(key), int) and not isinstance(record.get(key), bool)
    }
    return Sample(
        task_id=task_id,
        sample_index=index,
        code=code,
        whole_program=whole,
        model_version=model if isinstance(model, str) else None,
        raw=raw if isinstance(raw, str) else None,
        extracted=record.get("extracted") is not False,
        latency_s=float(latency)
        if isinstance(latency, int | float) and not isinstance(latency, bool)
        else None,
        **tokens,
    )


def read_samples(path: Path, *, tasks: TaskSet | None = None) -> list[Sample]:
    """Read and validate a samples file.

    Args:
        path: the JSONL file.
        tasks: when given, every ``task_id`` must belong to it.

    Raises:
        DataNotFoundError: the file does not exist.
        InputFormatError: bad JSON, a missing field, an unknown task or a repeated
            (task_id, sample_index), naming the line.
    """
    if not path.is_file():
        raise DataNotFoundError(f"samples file {path} does not exist")
    samples: list[Sample] = []
    counts: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    with path.open(encoding="utf-8") as fh:
        for number, record in jsonl_records(path, fh):
            sample = _sample_from(record, path, number, counts)
            if tasks is not None and sample.task_id not in tasks:
                raise InputFormatError(
                    path,
                    f"unknown task_id {sample.task_id!r} for suite {tasks.name!r}",
                    line=number,
                    field="task_id",
                )
            key = (sample.task_id, sample.sample_index)
            if key in seen:
                raise InputFormatError(
                    path, f"repeated sample {key}", line=number, field="sample_index"
                )
            seen.add(key)
            samples.append(sample)
    if not samples:
        raise InputFormatError(path, "no samples in the file")
    return samples


def write_samples(path: Path, samples: Iterable[Sample], *, append: bool = False) -> int:
    """Write samples as JSONL, atomically unless appending. Returns the number written."""
    lines = [json.dumps(s.to_record()) + "\n" for s in samples]
    path.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with path.open("a", encoding="utf-8") as fh:
            fh.writelines(lines)
            fh.flush()
            os.fsync(fh.fileno())
        return len(lines)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return len(lines)
