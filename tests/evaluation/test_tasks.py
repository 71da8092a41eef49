"""Task suites: HumanEval, the built-in suite, user suites (directory or JSONL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_metrics.errors import DataNotFoundError, InputFormatError
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.runner import evaluate
from codex_metrics.evaluation.samples import Sample
from codex_metrics.evaluation.tasks import TaskSet, load_suite, load_tasks
from tests.evaluation.conftest import requires_bwrap


def test_humaneval_has_164_tasks(humaneval: TaskSet) -> None:
    assert len(humaneval) == 164
    first = humaneval["HumanEval/0"]
    assert first.entry_point == "has_close_elements" and "def check(candidate)" in first.test
    program = first.program("    return False\n")
    assert program.startswith(first.prompt) and program.endswith("check(has_close_elements)")
    assert first.program("def f(): pass", whole_program=True).startswith("def f(): pass\n")


def test_builtin_suite_has_everyday_tasks(builtin: TaskSet) -> None:
    assert len(builtin) >= 22
    assert {"builtin/fizzbuzz", "builtin/is_palindrome"} <= set(builtin.ids)
    assert all(t.canonical_solution and t.suite == "builtin" for t in builtin)
    with pytest.raises(DataNotFoundError):
        builtin["builtin/nope"]


@requires_bwrap
@pytest.mark.sandbox
def test_builtin_references_pass_and_stubs_fail(builtin: TaskSet) -> None:
    samples = [Sample(t.task_id, 0, t.canonical_solution) for t in builtin]
    samples += [Sample(t.task_id, 1, "    pass\n") for t in builtin]
    run = evaluate(samples, builtin, quality=False)
    verdicts = {(r.task_id, r.sample_index): r.outcome for r in run.records}
    assert all(verdicts[(t.task_id, 0)] is Outcome.PASSED for t in builtin)
    assert all(verdicts[(t.task_id, 1)] is not Outcome.PASSED for t in builtin)


def make_task_dir(root: Path, name: str, *, entry: str = "double") -> None:
    d = root / name
    d.mkdir(parents=True)
    (d / "prompt.py").write_text(f'def {entry}(x):\n    """Twice x."""\n')
    (d / "solution.py").write_text("    return 2 * x\n")
    (d / "test.py").write_text("def check(candidate):\n    assert candidate(2) == 4\n")


def test_user_suite_from_directories_and_jsonl(tmp_path: Path) -> None:
    make_task_dir(tmp_path / "mine", "double")
    suite = load_suite(tmp_path / "mine")
    assert suite.name == "mine" and suite.ids == ["mine/double"]
    assert suite["mine/double"].entry_point == "double"
    records = [
        {
            "task_id": "x/1",
            "prompt": "def f():\n",
            "entry_point": "f",
            "test": "def check(c):\n    assert c() == 1\n",
        }
    ]
    path = tmp_path / "suite.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    assert load_tasks(str(path)).ids == ["x/1"]


def test_user_suite_errors_name_the_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"task_id": "a", "prompt": "p", "entry_point": "f", "test": "def check(c): pass"}\n{"task_id": "b"}\n'
    )
    with pytest.raises(InputFormatError) as info:
        load_suite(path)
    assert (info.value.line, info.value.field) == (2, "prompt")
    path.write_text('{"task_id": "a", "prompt": "p", "entry_point": "f", "test": "assert True"}\n')
    with pytest.raises(InputFormatError, match="check"):
        load_suite(path)
    with pytest.raises(DataNotFoundError):
        load_suite(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFormatError):
        load_suite(tmp_path / "empty")
