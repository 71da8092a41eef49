"""Samples files: both formats read, malformed files rejected with the line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_metrics.errors import DataNotFoundError, InputFormatError
from codex_metrics.evaluation.samples import Sample, read_samples, write_samples
from codex_metrics.evaluation.tasks import TaskSet


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_human_eval_and_evalplus_formats(tmp_path: Path, builtin: TaskSet) -> None:
    path = write(
        tmp_path / "s.jsonl",
        [
            json.dumps({"task_id": "builtin/gcd", "completion": "    return 1\n", "extra": 1}),
            json.dumps({"task_id": "builtin/gcd", "completion": "    return 2\n"}),
            "",
            json.dumps(
                {"task_id": "builtin/fizzbuzz", "solution": "def fizzbuzz(n):\n    return []\n"}
            ),
        ],
    )
    samples = read_samples(path, tasks=builtin)
    assert [(s.task_id, s.sample_index, s.whole_program) for s in samples] == [
        ("builtin/gcd", 0, False),
        ("builtin/gcd", 1, False),
        ("builtin/fizzbuzz", 0, True),
    ]


@pytest.mark.parametrize(
    ("lines", "line", "field", "text"),
    [
        (
            ['{"task_id": "builtin/gcd", "completion": "x"}', '{"task_id": oops}'],
            2,
            None,
            "not valid JSON",
        ),
        (
            [
                '{"task_id": "builtin/gcd", "completion": "x"}',
                '{"task_id": "HumanEval/0", "completion": "x"}',
            ],
            2,
            "task_id",
            "unknown task_id",
        ),
        (['{"task_id": "builtin/gcd"}'], 1, "completion", "need 'completion' or 'solution'"),
        (['{"completion": "x"}'], 1, "task_id", "missing"),
        (["[1, 2]"], 1, None, "expected a JSON object"),
        (
            ['{"task_id": "builtin/gcd", "completion": "x", "sample_index": -1}'],
            1,
            "sample_index",
            "non-negative",
        ),
        (
            ['{"task_id": "builtin/gcd", "completion": "x", "sample_index": 0}'] * 2,
            2,
            "sample_index",
            "repeated",
        ),
    ],
)
def test_malformed_files_name_the_line(
    tmp_path: Path, builtin: TaskSet, lines: list[str], line: int, field: str | None, text: str
) -> None:
    path = write(tmp_path / "bad.jsonl", lines)
    with pytest.raises(InputFormatError) as info:
        read_samples(path, tasks=builtin)
    assert info.value.line == line and info.value.field == field
    assert text in str(info.value) and f"line {line}" in str(info.value)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError):
        read_samples(tmp_path / "nope.jsonl")
    with pytest.raises(InputFormatError, match="no samples"):
        read_samples(write(tmp_path / "empty.jsonl", [""]))


def test_round_trip_keeps_raw_answers_and_versions(tmp_path: Path) -> None:
    samples = [
        Sample("builtin/gcd", 0, "    return a\n", model_version="m-1", raw="```python\n...```"),
        Sample("builtin/gcd", 1, "", model_version="m-1", raw="I cannot help", extracted=False),
    ]
    path = tmp_path / "out.jsonl"
    assert write_samples(path, samples) == 2
    assert read_samples(path) == samples
    write_samples(path, [Sample("builtin/fizzbuzz", 0, "x", model_version="m-1")], append=True)
    assert len(read_samples(path)) == 3
