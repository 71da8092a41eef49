"""Reports: Markdown tables and a self-contained HTML file with SVG charts."""

from __future__ import annotations

import re

from codex_metrics.evaluation.compare import compare_runs
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.report import render_eval_html, render_eval_markdown
from codex_metrics.evaluation.results import EvalRun, SampleRecord

P, F = Outcome.PASSED, Outcome.ASSERTION_FAILURE


def run(name: str, passed: set[int]) -> EvalRun:
    records = tuple(
        SampleRecord(
            f"HumanEval/{i}",
            0,
            "",
            P if i in passed else F,
            quality_score=80.0,
            edit_distance_tokens=0.3,
        )
        for i in range(10)
    )
    return EvalRun(f"run-{name}", name, "humaneval", "replay", records)


def test_markdown_has_pass_at_k_outcomes_quality_and_flips() -> None:
    a, b = run("model-a", {0, 1, 2}), run("model-b", {1, 2, 3, 4})
    text = render_eval_markdown([a, b], compare_runs(a, b))
    assert "| run-model-a | model-a | humaneval | 10 | 10 | 30.0% |" in text
    assert "| run-model-b | model-b | humaneval | 10 | 10 | 40.0% |" in text
    assert "| assertion_failure | 7 | 6 |" in text
    assert "| tampered | 0 | 0 |" in text  # always a category, even when nobody cheated
    assert "Flipped to pass (2): HumanEval/3, HumanEval/4" in text
    assert "Flipped to fail (1): HumanEval/0" in text
    assert "| model-a | 80 | 0.30 | n/a |" in text


def test_html_is_self_contained_with_four_charts() -> None:
    a, b = run("model-a", {0, 1, 2}), run("model-b", {1, 2, 3, 4})
    page = render_eval_html([a, b], compare_runs(a, b))
    assert page.count("<svg") == 4
    assert "<script" not in page and "<link" not in page
    assert re.findall(r"(?:src|href)=", page) == []
    urls = set(re.findall(r"https?://[^\"' ]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert "HumanEval/3</td><td>fail → pass" in page


def test_any_k_the_samples_allow() -> None:
    records = tuple(
        SampleRecord(f"HumanEval/{t}", i, "", P if i < t % 3 else F)
        for t in range(6)
        for i in range(5)
    )
    run5 = EvalRun("r", "m", "humaneval", "replay", records)
    text = render_eval_markdown([run5], ks=[1, 2, 5, 10])
    assert "| pass@1 | pass@2 | pass@5 |" in text and "pass@10" not in text
    # per task c = t % 3 of n = 5: pass@1 = mean(c) / 5 = (0+1+2+0+1+2) / 30
    assert "| 20.0% |" in text
