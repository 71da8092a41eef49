"""Evaluation reports: Markdown, and self-contained HTML with Plotly charts.

The HTML needs nothing from the network: the charts are Plotly figures from the shared chart
package (:mod:`codex_metrics.charts`), the same stack as the dashboard and the experiment
report, with plotly.js inlined from the installed package (never a CDN). Charts: pass@k per
model with intervals, failure categories per model, quality distributions (quality score and
token edit distance), and a two-run comparison's paired pass-rate difference; the flipped tasks
are a table.
"""

from __future__ import annotations

import html
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from codex_metrics.evaluation.compare import RunComparison
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.results import EvalRun

if TYPE_CHECKING:
    import numpy as np
    import plotly.graph_objects as go

__all__ = ["eval_figures", "render_eval_html", "render_eval_markdown"]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def _quality_line(run: EvalRun) -> str:
    score = _median([r.quality_score for r in run.records])
    dist = _median([r.edit_distance_tokens for r in run.records])
    compiled = [r.compile_ok for r in run.records if r.compile_ok is not None]
    ratio = sum(compiled) / len(compiled) if compiled else None
    return (
        f"| {run.model_version} | {'n/a' if score is None else f'{score:.0f}'} | "
        f"{'n/a' if dist is None else f'{dist:.2f}'} | {_pct(ratio)} |"
    )


def _ks(runs: Sequence[EvalRun], ks: Sequence[int] | None) -> list[int]:
    return sorted({k for run in runs for k in run.pass_at_k(ks or (1, 10, 100))})


def render_eval_markdown(
    runs: Sequence[EvalRun],
    comparison: RunComparison | None = None,
    *,
    ks: Sequence[int] | None = None,
) -> str:
    """A Markdown report of one or more runs (and their comparison, when given).

    Args:
        runs: the runs.
        comparison: their comparison, for a two-run report.
        ks: the pass@k values to show (default 1, 10, 100; each where the samples allow it).
    """
    ks = _ks(runs, ks)
    lines = ["# Code evaluation report", ""]
    lines += [
        "| run | model version | suite | tasks | samples | "
        + " | ".join(f"pass@{k}" for k in ks)
        + " |"
    ]
    lines += ["|" + "---|" * (5 + len(ks))]
    for run in runs:
        table = run.pass_at_k(ks)
        values = " | ".join(_pct(table.get(k)) for k in ks)
        lines.append(
            f"| {run.run_id} | {run.model_version} | {run.suite} | {len(run.counts())} | "
            f"{len(run.records)} | {values} |"
        )
    lines += [
        "",
        "## Outcomes",
        "",
        "| outcome | " + " | ".join(r.model_version for r in runs) + " |",
    ]
    lines += ["|---|" + "---|" * len(runs)]
    counts = [run.outcome_counts() for run in runs]
    for outcome in Outcome:
        if any(c[outcome.value] for c in counts) or outcome is Outcome.TAMPERED:
            lines.append(
                f"| {outcome.value} | " + " | ".join(str(c[outcome.value]) for c in counts) + " |"
            )
    lines += [
        "",
        "## Code quality",
        "",
        "| model version | median score | median token distance | compiles |",
    ]
    lines += ["|---|---|---|---|"] + [_quality_line(run) for run in runs]
    if comparison is not None:
        lines += ["", *_comparison_markdown(comparison)]
    return "\n".join(lines) + "\n"


def _comparison_markdown(c: RunComparison) -> list[str]:
    out = [f"## {c.model_b} vs {c.model_a}", ""]
    if c.status != "ok" or c.mean_difference is None or c.ci_low is None or c.ci_high is None:
        return [*out, f"No comparison: {c.status}."]
    out.append(
        f"Pass rate {_pct(c.pass_rate_a)} → {_pct(c.pass_rate_b)} on {c.tasks} tasks: "
        f"difference {100 * c.mean_difference:+.1f} points, {int(c.confidence * 100)}% paired bootstrap "
        f"interval [{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}]."
    )
    if c.mcnemar_p is not None:
        out.append(
            f"Exact McNemar test: p = {c.mcnemar_p:.4f} ({c.only_a} tasks only A solves, {c.only_b} only B)."
        )
    out += [
        "",
        f"Flipped to pass ({len(c.flipped_to_pass)}): {', '.join(c.flipped_to_pass) or 'none'}",
    ]
    out += [
        f"Flipped to fail ({len(c.flipped_to_fail)}): {', '.join(c.flipped_to_fail) or 'none'}",
        "",
    ]
    out += ["| outcome | A | B | delta (points) |", "|---|---|---|---|"]
    out += [
        f"| {d.outcome.value} | {d.count_a} | {d.count_b} | {100 * d.delta:+.1f} |"
        for d in c.categories
    ]
    out += [f"- {note}" for note in c.notes]
    return out


# -- Figures (Plotly, from the shared chart package) --------------------------------------------
def _shares(values: list[float], bins: np.ndarray) -> list[float]:
    """The share of ``values`` in each bin (the last bin includes its upper edge)."""
    import numpy as np

    if not values:
        return [0.0] * (len(bins) - 1)
    counts, _ = np.histogram(values, bins=bins)
    return [float(c) / len(values) for c in counts]


def _bin_labels(bins: np.ndarray, fmt: str) -> list[str]:
    return [f"{lo:{fmt}}-{hi:{fmt}}" for lo, hi in zip(bins[:-1], bins[1:], strict=True)]


def _series_names(runs: Sequence[EvalRun]) -> list[str]:
    """Each run's legend name: its model version, with the run id when two runs share one."""
    versions = [run.model_version for run in runs]
    return [
        v if versions.count(v) == 1 else f"{v} ({run.run_id})"
        for v, run in zip(versions, runs, strict=True)
    ]


def eval_figures(
    runs: Sequence[EvalRun],
    comparison: RunComparison | None = None,
    *,
    ks: Sequence[int] | None = None,
) -> list[go.Figure]:
    """The report's charts, in page order.

    pass@k per model (bars with 95% task-bootstrap intervals), failure categories per model,
    the quality-score and token-edit-distance distributions (shares of samples per bin), and,
    for a two-run comparison, the paired pass-rate difference with its interval. A chart whose
    data no run has is left out.
    """
    import numpy as np

    from codex_metrics.charts import ForestRow, forest_plot, grouped_bars
    from codex_metrics.evaluation.intervals import pass_at_k_intervals

    ks = _ks(runs, ks)
    names = _series_names(runs)
    by_run = [{p.k: p for p in pass_at_k_intervals(run, ks)} for run in runs]
    # A k a run's samples do not allow is a gap, not a zero.
    figures = [
        grouped_bars(
            [f"pass@{k}" for k in ks],
            {n: [t[k].value if k in t else None for k in ks] for n, t in zip(names, by_run, strict=True)},
            title="pass@k per model (error bars: 95% task-bootstrap interval)",
            x_title="k (samples drawn per task)",
            y_title="pass@k (% of tasks)",
            intervals={
                n: ([t[k].ci_low if k in t else None for k in ks],
                    [t[k].ci_high if k in t else None for k in ks])
                for n, t in zip(names, by_run, strict=True)
            },
        )
    ]  # fmt: skip
    failures = [o for o in Outcome if o is not Outcome.PASSED]
    used = [o for o in failures if any(r.outcome_counts()[o.value] for r in runs)]
    if used:
        figures.append(
            grouped_bars(
                [o.value.replace("_", " ") for o in used],
                {
                    n: [run.outcome_counts()[o.value] / len(run.records) for o in used]
                    for n, run in zip(names, runs, strict=True)
                },
                title="Failure categories per model",
                x_title="outcome of a sample",
                y_title="share of samples (%)",
            )
        )
    scores = [[r.quality_score for r in run.records if r.quality_score is not None] for run in runs]
    if any(scores):
        bins = np.linspace(0, 100, 6)
        figures.append(
            grouped_bars(
                _bin_labels(bins, ".0f"),
                {n: _shares(v, bins) for n, v in zip(names, scores, strict=True)},
                title="Quality score distribution",
                x_title="quality score (0-100 points, higher is better)",
                y_title="share of scored samples (%)",
            )
        )
    edits = [
        [r.edit_distance_tokens for r in run.records if r.edit_distance_tokens is not None]
        for run in runs
    ]
    if any(edits):
        bins = np.linspace(0, 1, 6)
        figures.append(
            grouped_bars(
                _bin_labels(bins, ".1f"),
                {n: _shares(v, bins) for n, v in zip(names, edits, strict=True)},
                title="Token edit distance to the reference solution",
                x_title="normalised token edit distance (0 = identical, 1 = all different)",
                y_title="share of samples (%)",
            )
        )
    c = comparison
    if c is None or c.status != "ok":
        return figures
    if c.mean_difference is not None and c.ci_low is not None and c.ci_high is not None:
        group = "neutral" if c.ci_low <= 0 <= c.ci_high else "better" if c.ci_low > 0 else "worse"
        level = f"{int(c.confidence * 100)}%"
        figures.append(
            forest_plot(
                [
                    ForestRow(
                        f"{c.model_b} − {c.model_a}",
                        c.mean_difference,
                        c.ci_low,
                        c.ci_high,
                        group=group,
                        hover=f"{c.tasks} tasks, paired by task",
                    )
                ],
                title=f"Paired pass-rate difference, {c.model_b} vs {c.model_a}",
                x_title=f"difference in pass rate (percentage points), {level} paired bootstrap "
                "interval",
                legend={
                    "better": f"{c.model_b} passes more",
                    "worse": f"{c.model_b} passes fewer",
                    "neutral": "no significant difference",
                },
            )  # fmt: skip
        )
    return figures


def render_eval_html(
    runs: Sequence[EvalRun],
    comparison: RunComparison | None = None,
    *,
    ks: Sequence[int] | None = None,
) -> str:
    """A self-contained HTML report: Plotly charts (plotly.js inlined) and the Markdown tables."""
    from codex_metrics.charts import figures_html

    names = [run.model_version for run in runs]
    ks = _ks(runs, ks)
    charts = figures_html(eval_figures(runs, comparison, ks=ks))
    flipped = ""
    if comparison is not None and comparison.status == "ok":
        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{direction}</td></tr>"
            for direction, tasks in (
                ("fail → pass", comparison.flipped_to_pass),
                ("pass → fail", comparison.flipped_to_fail),
            )
            for t in tasks
        )
        flipped = (
            f"<h2>Flipped tasks ({html.escape(comparison.model_a)} → {html.escape(comparison.model_b)})</h2>"
            f"<table><tr><th>task</th><th>direction</th></tr>{rows or '<tr><td colspan=2>none</td></tr>'}</table>"
        )
    markdown = render_eval_markdown(runs, comparison, ks=ks)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Code evaluation report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
        "pre{background:#f6f6f6;padding:1em;white-space:pre-wrap}</style></head><body>"
        f"<h1>Code evaluation report: {html.escape(', '.join(names))}</h1>"
        + "".join(f"<figure>{c}</figure>" for c in charts)
        + flipped
        + f"<h2>Tables</h2><pre>{html.escape(markdown)}</pre></body></html>\n"
    )
