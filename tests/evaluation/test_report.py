"""Reports: Markdown tables and a self-contained HTML file with SVG charts."""

from __future__ import annotations

import re

import pytest

from codex_metrics.evaluation.compare import compare_runs
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.report import eval_figures, render_eval_html, render_eval_markdown
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


def test_figures_draw_pass_at_k_outcomes_quality_and_the_paired_difference() -> None:
    a, b = run("model-a", {0, 1, 2}), run("model-b", {1, 2, 3, 4})
    comparison = compare_runs(a, b)
    figures = eval_figures([a, b], comparison)
    titles = [f.layout.title.text for f in figures]
    assert titles == [
        "pass@k per model (error bars: 95% task-bootstrap interval)",
        "Failure categories per model",
        "Quality score distribution",
        "Token edit distance to the reference solution",
        "Paired pass-rate difference, model-b vs model-a",
    ]
    for f in figures:  # axis titles with units, a legend naming the series
        assert f.layout.xaxis.title.text and f.layout.yaxis.title.text is not None
    passk, outcomes, quality, edits, paired = figures
    assert [t.name for t in passk.data] == ["model-a", "model-b"] and passk.layout.showlegend
    assert passk.layout.yaxis.title.text == "pass@k (% of tasks)"
    assert passk.layout.yaxis.tickformat == ".0%" and passk.layout.barmode == "group"
    # One sample per task: pass@1 is the share of tasks passed; the interval brackets it.
    assert [list(t.y) for t in passk.data] == [[0.3], [0.4]]
    for t in passk.data:
        assert t.error_y.array[0] >= 0 and t.error_y.arrayminus[0] >= 0
    assert list(outcomes.data[0].x) == ["assertion failure"]
    assert [list(t.y) for t in outcomes.data] == [[0.7], [0.6]]
    assert outcomes.layout.yaxis.title.text == "share of samples (%)"
    # Every score is 80 (bin 80-100) and every distance 0.3 (bin 0.2-0.4).
    assert list(quality.data[0].y) == [0, 0, 0, 0, 1.0]
    assert quality.layout.xaxis.title.text == "quality score (0-100 points, higher is better)"
    assert list(edits.data[1].y) == [0, 1.0, 0, 0, 0]
    assert list(edits.data[1].x)[1] == "0.2-0.4"
    point = paired.data[0]
    assert list(point.x) == pytest.approx([comparison.mean_difference])
    assert point.error_x.array[0] == pytest.approx(comparison.ci_high - comparison.mean_difference)
    assert point.error_x.arrayminus[0] == pytest.approx(
        comparison.mean_difference - comparison.ci_low
    )
    assert "percentage points" in paired.layout.xaxis.title.text
    assert point.name == "no significant difference"  # 3 of 10 tasks flipped: CI spans 0


def test_a_k_a_run_cannot_reach_is_a_gap_and_duplicate_models_are_told_apart() -> None:
    five = EvalRun(
        "r5", "m", "humaneval", "replay",
        tuple(SampleRecord(f"T/{t}", i, "", P if i < 2 else F) for t in range(3) for i in range(5)),
    )  # fmt: skip
    one = run("m", {0})
    (passk, *_rest) = eval_figures([five, one], ks=[1, 5])
    assert [t.name for t in passk.data] == ["m (r5)", "m (run-m)"]
    assert list(passk.data[0].y) == pytest.approx([0.4, 1.0])
    assert list(passk.data[1].y) == [0.1, None]


def test_html_is_self_contained_plotly_with_no_network() -> None:
    from plotly.offline import get_plotlyjs

    a, b = run("model-a", {0, 1, 2}), run("model-b", {1, 2, 3, 4})
    page = render_eval_html([a, b], compare_runs(a, b))
    assert page.count('class="plotly-graph-div"') == 5
    assert page.count(get_plotlyjs()) == 1  # plotly.js inlined once, from the package
    assert not re.search(r"<script[^>]*\bsrc=", page)  # no script is fetched
    assert not re.search(r"<link[^>]*\bhref=", page)  # nor a stylesheet
    # Outside the inlined library the page names no URL at all (no CDN, no font, no image).
    assert re.findall(r"https?://", page.replace(get_plotlyjs(), "")) == []
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
