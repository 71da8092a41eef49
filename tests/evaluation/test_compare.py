"""Model comparison: McNemar (exact), paired bootstrap, flips, per-category deltas."""

from __future__ import annotations

import dataclasses

import pytest

from codex_metrics.evaluation.compare import compare_runs, mcnemar_exact
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.results import EvalRun, SampleRecord


def run(name: str, outcomes: dict[str, list[Outcome]]) -> EvalRun:
    records = tuple(
        SampleRecord(task, i, "", outcome)
        for task, seq in outcomes.items()
        for i, outcome in enumerate(seq)
    )
    return EvalRun(name, name, "humaneval", "replay", records)


P, F, T = Outcome.PASSED, Outcome.ASSERTION_FAILURE, Outcome.TIMEOUT


def test_mcnemar_exact_golden() -> None:
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(2, 8) == pytest.approx(0.109375)  # 2 * (1 + 10 + 45) / 1024


def test_one_sample_per_task() -> None:
    a = run("a", {f"HumanEval/{i}": [P if i < 5 else F] for i in range(20)})
    b = run("b", {f"HumanEval/{i}": [P if i < 12 and i != 0 else T] for i in range(20)})
    c = compare_runs(a, b, seed=1)
    assert c.status == "ok" and c.tasks == 20
    assert (c.pass_rate_a, c.pass_rate_b) == (0.25, 0.55)
    assert c.mean_difference == pytest.approx(0.30)
    assert c.ci_low < 0.30 < c.ci_high and c.ci_low > 0
    assert c.flipped_to_fail == ("HumanEval/0",)
    assert c.flipped_to_pass == tuple(f"HumanEval/{i}" for i in range(5, 12))
    assert (c.only_a, c.only_b) == (1, 7)
    assert c.mcnemar_p == pytest.approx(mcnemar_exact(1, 7))
    deltas = {d.outcome: d for d in c.categories}
    assert deltas[T].share_b == pytest.approx(0.45) and deltas[F].share_a == pytest.approx(0.75)
    assert compare_runs(a, b, seed=1) == c  # seeded: reproducible


def test_several_samples_per_task_skip_mcnemar_and_tasks_are_intersected() -> None:
    a = run("a", {"t/1": [P, F], "t/2": [F, F], "t/3": [P, P]})
    b = run("b", {"t/1": [P, P], "t/2": [P, F], "t/4": [P, P]})
    c = compare_runs(a, b)
    assert c.tasks == 2 and c.mcnemar_p is None
    assert c.mean_difference == pytest.approx((0.5 + 0.5) / 2)
    assert c.tasks_only_in_a == ("t/3",) and c.tasks_only_in_b == ("t/4",)
    assert c.flipped_to_pass == ("t/2",)  # 0/2 -> 1/2: solved by half of its samples
    assert len(c.notes) == 2


def test_no_common_tasks_is_a_status_not_an_error() -> None:
    c = compare_runs(run("a", {"x/1": [P]}), run("b", {"y/1": [P]}))
    assert c.status == "no_common_tasks" and c.mean_difference is None


def test_identical_runs_have_a_zero_interval() -> None:
    a = run("a", {f"t/{i}": [P if i % 2 else F] for i in range(30)})
    c = compare_runs(a, dataclasses.replace(a, run_id="b"))
    assert (c.mean_difference, c.ci_low, c.ci_high, c.mcnemar_p) == (0.0, 0.0, 0.0, 1.0)


def test_regression_gate_one_sample_per_task_uses_exact_mcnemar() -> None:
    a = run("a", {f"t/{i}": [P] for i in range(40)})
    worse = run("b", {f"t/{i}": [F if i < 8 else P] for i in range(40)})  # lost 8, gained 0
    c = compare_runs(a, worse)
    assert c.mcnemar_p == pytest.approx(2 * 0.5**8) and c.regression
    assert "McNemar" in (c.regression_test or "")
    slightly = run("b", {f"t/{i}": [F if i < 3 else P] for i in range(40)})  # p = 0.25
    assert not compare_runs(a, slightly).regression
    assert not compare_runs(worse, a).regression  # an improvement is never a regression


def test_regression_gate_several_samples_uses_the_bootstrap_interval() -> None:
    a = run("a", {f"t/{i}": [P, P, P, F] for i in range(30)})
    b = run("b", {f"t/{i}": [P, F, F, F] for i in range(30)})
    c = compare_runs(a, b, seed=3)
    assert c.mcnemar_p is None and c.ci_high is not None and c.ci_high < 0 and c.regression
    noisy = run("b", {f"t/{i}": ([P, P, F, F] if i % 2 else [P, P, P, P]) for i in range(30)})
    assert not compare_runs(a, noisy, seed=3).regression  # mean difference is zero


def test_tampered_is_always_a_category() -> None:
    a = run("a", {"t/1": [P]})
    b = run("b", {"t/1": [Outcome.TAMPERED]})
    rows = {row["measure"].strip(): row["value"] for row in compare_runs(a, b).summary_rows()}
    assert rows["tampered"].startswith("0 -> 1")
    quiet = {r["measure"].strip() for r in compare_runs(a, a).summary_rows()}
    assert "tampered" in quiet
