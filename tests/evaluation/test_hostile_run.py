"""Issue 12, end to end: no sample leaves anything for the next one, and none can crash the run.

Every case under the issue's "Why" runs through ``codex-metrics eval run`` with one worker (so
any carry-over would show), quality scoring and lake publishing on. Each hostile sample is
followed, in the same worker, by a probe that finds nothing left behind plus the task's canonical
solution, which must pass.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app
from codex_metrics.evaluation.outcomes import Outcome, classify_report
from codex_metrics.evaluation.samples import Sample, write_samples
from codex_metrics.evaluation.sandbox import ExecutionLimits, SandboxConfig, SandboxWorker
from codex_metrics.evaluation.tasks import TaskSet
from codex_metrics.lake import Lake
from tests.evaluation.conftest import requires_bwrap
from tests.evaluation.hostile_cases import PROBE, WHY, body

pytestmark = [pytest.mark.sandbox, requires_bwrap]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, humaneval: TaskSet) -> dict:
    folder = tmp_path_factory.mktemp("hostile")
    samples = []
    for index, case in enumerate(WHY.values()):
        task = humaneval[case.task]
        samples.append(Sample(case.task, 2 * index, case.completion(task)))
        samples.append(Sample(case.task, 2 * index + 1, PROBE + task.canonical_solution))
    write_samples(folder / "samples.jsonl", samples)
    out, lake = folder / "results.jsonl", folder / "lake"
    result = CliRunner().invoke(
        app,
        ["eval", "run", str(folder / "samples.jsonl"), "--output", str(out), "--workers", "1",
         "--lake", str(lake), "--run-id", "hostile", "--model-version", "hostile-model"],
    )  # fmt: skip
    raw = out.read_bytes() if out.exists() else b""
    return {"result": result, "raw": raw, "lake": lake, "out": out}


def test_the_run_finishes_and_every_string_written_is_utf8(hostile_run: dict) -> None:
    result = hostile_run["result"]
    assert result.exit_code == 0, result.output
    text = hostile_run["raw"].decode("utf-8")  # strict: no lone surrogate reached the file
    assert len(text.splitlines()) == 2 * len(WHY)
    assert "tampered" in result.stderr  # the CLI says so


@pytest.mark.parametrize("name", list(WHY))
def test_each_case_gets_its_verdict_and_the_canonical_after_it_passes(
    name: str, hostile_run: dict
) -> None:
    lines = [json.loads(line) for line in hostile_run["raw"].splitlines()]
    index = list(WHY).index(name)
    hostile, follow_up = lines[2 * index], lines[2 * index + 1]
    assert Outcome(hostile["outcome"]) in WHY[name].expected, hostile
    assert follow_up["outcome"] == "passed", (name, follow_up)
    if hostile["outcome"] == "tampered":
        assert hostile["passed"] is False and hostile["detail"].startswith("tampered:")


def test_quality_survives_every_sample(hostile_run: dict) -> None:
    lines = {line["sample_index"] // 2: line for line in map(json.loads, hostile_run["raw"].splitlines())
             if line["sample_index"] % 2 == 0}  # fmt: skip
    names = list(WHY)
    deep = lines[names.index("deep_unary_expression")]
    assert deep["compile_ok"] is True and deep["complexity"] is not None
    huge = lines[names.index("huge_literal")]
    assert (
        huge["compile_ok"] is True and huge["edit_distance_tokens"] is None
    )  # too long to compare
    broken = lines[names.index("lone_surrogate_in_code")]
    assert broken["compile_ok"] is False and broken["quality_score"] == 0.0


def test_the_run_is_published_with_its_run_row(hostile_run: dict) -> None:
    con = Lake.open(hostile_run["lake"], create=False).connect()
    count, tampered = con.execute(
        "SELECT count(*), sum((outcome = 'tampered')::INT) FROM eval_results WHERE eval_run_id = 'hostile'"
    ).fetchone()
    expected_tampered = sum(
        json.loads(line)["outcome"] == "tampered" for line in hostile_run["raw"].splitlines()
    )
    assert (count, tampered) == (2 * len(WHY), expected_tampered)
    row = con.execute(
        "SELECT status, samples, verdicts_missing, outcome_counts FROM eval_runs WHERE eval_run_id = 'hostile'"
    ).fetchone()
    assert row[:3] == ("complete", 2 * len(WHY), 0)
    assert json.loads(row[3])["tampered"] == expected_tampered


def test_ipc_objects_are_removed_when_no_seccomp_filter_refuses_them(humaneval: TaskSet) -> None:
    case = WHY["system_v_ipc_and_mqueues"]
    task = humaneval[case.task]
    creates = body(case.before + _COUNT_IPC) + task.canonical_solution
    limits = ExecutionLimits(timeout_s=5)
    with SandboxWorker(SandboxConfig(seccomp=False)) as worker:
        made = classify_report(worker.run(task.sandbox_program(creates), limits))
        assert made.outcome is Outcome.PASSED, made  # they were created this time
        after = classify_report(
            worker.run(task.sandbox_program(PROBE + task.canonical_solution), limits)
        )
        assert after.outcome is Outcome.PASSED, after


_COUNT_IPC = """
import os
assert sum(open("/proc/sysvipc/" + k).read().count("\\n") - 1 for k in ("shm", "sem", "msg")) >= 3
assert os.listdir("/dev/mqueue") == ["left"]
"""


def test_the_worker_that_could_not_be_cleaned_was_replaced(hostile_run: dict) -> None:
    lines = [json.loads(line) for line in hostile_run["raw"].splitlines()]
    index = list(WHY).index("tree_too_deep_to_wipe")
    assert "replaced" in (lines[2 * index]["detail"] or "")
    assert all(
        "replaced" not in (line["detail"] or "") for i, line in enumerate(lines) if i != 2 * index
    )
