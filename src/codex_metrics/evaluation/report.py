"""Evaluation reports: Markdown, and self-contained HTML with inline SVG charts.

The HTML needs nothing from the network (no script, no font, no stylesheet link): charts are SVG
drawn here. Charts: pass@k per model, failure categories per model, quality distributions
(quality score and token edit distance), and the flipped tasks of a two-run comparison.
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

__all__ = ["render_eval_html", "render_eval_markdown"]

_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948")


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


# -- SVG ----------------------------------------------------------------------------------------
def _bars_svg(
    title: str, groups: list[str], series: list[tuple[str, list[float]]], *, unit: str = "%"
) -> str:
    """Grouped vertical bars; values in 0..1 shown as percentages."""
    width, height, left, bottom = 640, 260, 40, 40
    plot_w, plot_h = width - left - 10, height - bottom - 30
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
    ]
    parts.append(
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>'
    )
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = 30 + plot_h * (1 - tick)
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{int(tick * 100)}</text>'
        )
    for gi, group in enumerate(groups):
        x0 = left + gi * group_w + group_w * 0.1
        for si, (_name, values) in enumerate(series):
            value = values[gi]
            h = plot_h * max(0.0, min(1.0, value))
            x = x0 + si * bar_w
            colour = _COLOURS[si % len(_COLOURS)]
            parts.append(
                f'<rect x="{x:.1f}" y="{30 + plot_h - h:.1f}" width="{bar_w * 0.95:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{html.escape(group)}: {100 * value:.1f}{unit}</title></rect>'
            )
        label_x = left + gi * group_w + group_w / 2
        parts.append(
            f'<text x="{label_x:.1f}" y="{height - bottom + 14}" font-size="10" text-anchor="middle">'
            f"{html.escape(group)}</text>"
        )
    for si, (name, _values) in enumerate(series):
        parts.append(
            f'<rect x="{left + si * 150}" y="{height - 14}" width="10" height="10" fill="{_COLOURS[si % len(_COLOURS)]}"/>'
            f'<text x="{left + si * 150 + 14}" y="{height - 5}" font-size="11">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _histogram(values: list[float], bins: np.ndarray) -> list[float]:
    import numpy as np

    if not values:
        return [0.0] * (len(bins) - 1)
    counts, _ = np.histogram(values, bins=bins)
    return [float(c) / len(values) for c in counts]


def render_eval_html(
    runs: Sequence[EvalRun],
    comparison: RunComparison | None = None,
    *,
    ks: Sequence[int] | None = None,
) -> str:
    """A self-contained HTML report: the Markdown tables plus inline SVG charts."""
    names = [run.model_version for run in runs]
    ks = _ks(runs, ks)
    charts = [
        _bars_svg(
            "pass@k per model",
            [f"pass@{k}" for k in ks],
            [(run.model_version, [run.pass_at_k(ks).get(k, 0.0) for k in ks]) for run in runs],
        )
    ]
    used = [
        o
        for o in Outcome
        if o is not Outcome.PASSED and any(r.outcome_counts()[o.value] for r in runs)
    ]
    if used:
        charts.append(
            _bars_svg(
                "failure categories (share of samples)",
                [o.value.replace("_", " ") for o in used],
                [
                    (
                        run.model_version,
                        [run.outcome_counts()[o.value] / len(run.records) for o in used],
                    )
                    for run in runs
                ],
            )
        )
    import numpy as np

    score_bins = np.linspace(0, 100, 6)
    if any(r.quality_score is not None for run in runs for r in run.records):
        charts.append(
            _bars_svg(
                "quality score distribution (share of samples)",
                [
                    f"{int(lo)}-{int(hi)}"
                    for lo, hi in zip(score_bins[:-1], score_bins[1:], strict=True)
                ],
                [
                    (
                        run.model_version,
                        _histogram(
                            [r.quality_score for r in run.records if r.quality_score is not None],
                            score_bins,
                        ),
                    )
                    for run in runs
                ],
            )
        )
    dist_bins = np.linspace(0, 1, 6)
    if any(r.edit_distance_tokens is not None for run in runs for r in run.records):
        charts.append(
            _bars_svg(
                "token edit distance to the reference (share of samples)",
                [
                    f"{lo:.1f}-{hi:.1f}"
                    for lo, hi in zip(dist_bins[:-1], dist_bins[1:], strict=True)
                ],
                [
                    (
                        run.model_version,
                        _histogram(
                            [
                                r.edit_distance_tokens
                                for r in run.records
                                if r.edit_distance_tokens is not None
                            ],
                            dist_bins,
                        ),
                    )
                    for run in runs
                ],
            )
        )
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
