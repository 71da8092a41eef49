"""Render an experiment report as Markdown, HTML or JSON.

HTML carries an inline-SVG forest plot of relative lifts (no JavaScript needed).

JSON is the envelope of DESIGN.md: rows with a ``status``/``message`` where a value is
undefined (NaN becomes ``null``), plus metadata (options, generated_at, metric sources).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Any

from codex_metrics.experiments.frequentist import Effect
from codex_metrics.experiments.results import ExperimentReport, MetricAnalysis, Role

__all__ = [
    "render_experiment_html",
    "render_experiment_json",
    "render_experiment_markdown",
    "report_to_dict",
]


def _clean(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def report_to_dict(report: ExperimentReport) -> dict[str, Any]:
    """The report as plain JSON-ready data (NaN and inf become null)."""
    doc = asdict(report)
    doc["health"]["counts"]["by_slice"] = {
        f"{d}={v}": c for (d, v), c in report.health.counts.by_slice.items()
    }
    return _clean(doc)


def render_experiment_json(report: ExperimentReport) -> str:
    """The report as indented JSON."""
    return json.dumps(report_to_dict(report), indent=2, sort_keys=False)


def _num(x: float, unit: str = "") -> str:
    if x is None or not math.isfinite(x):
        return "–"
    if unit == "ratio" or (not unit and abs(x) < 1):
        return f"{x:.4f}"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.2f}"


def _pct(x: float) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x * 100:+.1f}%"


def _p(x: float) -> str:
    return "–" if x is None or not math.isfinite(x) else (f"{x:.2g}" if x < 0.001 else f"{x:.3f}")


def _ci(e: Effect, pct: bool, unit: str = "") -> str:
    if not e.ok and not math.isfinite(e.ci_low):
        return "–"
    if pct:
        return f"[{_pct(e.ci_low)}, {_pct(e.ci_high)}]"
    return f"[{_num(e.ci_low, unit)}, {_num(e.ci_high, unit)}]"


def _metric_row(m: MetricAnalysis) -> list[str]:
    c = m.comparison
    if c is None:
        return [m.metric, m.role.value, "–", "–", "–", "–", "–", "–", "–", m.message]
    cuped = f"−{m.variance_reduction * 100:.0f}% var" if m.cuped_applied else "no"
    note = "" if c.absolute.ok else c.absolute.message
    if m.guardrail_outcome is not None:
        note = f"guardrail {m.guardrail_outcome.value} (margin {m.guardrail.margin * 100:.0f}%)"  # type: ignore[union-attr]
    abs_txt = f"{_num(c.absolute.estimate, m.unit)} {_ci(c.absolute, False, m.unit)}"
    rel_txt = f"{_pct(c.relative.estimate)} {_ci(c.relative, True)}"
    return [
        m.metric,
        m.role.value,
        _num(c.control_mean, m.unit),
        _num(c.treatment_mean, m.unit),
        abs_txt,
        rel_txt,
        _p(m.p_value),
        _p(m.adjusted_p_value),
        cuped,
        note,
    ]


_METRIC_HEAD = [
    "metric",
    "role",
    "control",
    "treatment",
    "abs. lift [CI]",
    "rel. lift [CI]",
    "p",
    "adj. p",
    "CUPED",
    "note",
]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _health_lines(report: ExperimentReport) -> list[str]:
    h, d = report.health, report.design
    out = [
        f"- Sample-ratio check: χ² = {_num(h.srm.chi2)}, p = {_p(h.srm.p_value)} → **{h.srm.level.value}**",
        f"- Crossover developers (several arms, excluded): {h.counts.crossover}",
        f"- Developers served another arm's model: {h.counts.exposure_mismatch}",
        f"- Developers served the treatment model without assignment: {h.counts.unassigned_active}",
    ]
    flagged = [
        f"{k} (p = {_p(r.p_value)}, {r.level.value})"
        for k, r in h.srm_slices.items()
        if r.level.value != "ok"
    ]
    out.append(
        f"- Slice SRM (BH-adjusted): {', '.join(flagged) if flagged else 'no slice flagged'}"
    )
    if d.planned_developers:
        total = sum(h.counts.developers.values())
        out.append(f"- Developers: {total:,} of {d.planned_developers:,} planned")
    return out


def _arm_rows(report: ExperimentReport) -> list[list[str]]:
    h = report.health
    return [
        [
            a.name,
            a.model_version,
            f"{a.weight:.2f}",
            f"{h.counts.developers.get(a.name, 0):,}",
            f"{h.srm.expected.get(a.name, float('nan')):,.1f}",
        ]
        for a in report.design.arms
    ]


def render_experiment_markdown(report: ExperimentReport) -> str:
    """The report as Markdown."""
    d, o = report.design, report.options
    parts = [
        f"# Experiment {d.experiment_id}",
        d.description,
        f"**Verdict: {report.verdict.decision.value.upper()}.** {report.verdict.reason}",
        f"Period {d.start:%Y-%m-%d} to {d.end:%Y-%m-%d}" if d.end else f"Since {d.start:%Y-%m-%d}",
        "## Assignment health",
        _md_table(["arm", "model", "weight", "developers", "expected"], _arm_rows(report)),
        "\n".join(_health_lines(report)),
        "## Metrics",
        _md_table(_METRIC_HEAD, [_metric_row(m) for m in report.metrics]),
        f"Adjusted p: Holm over primary and guardrail metrics (guardrails: one-sided "
        f"non-inferiority p), Benjamini–Hochberg over secondary metrics. α = {o.alpha}. "
        + ("Intervals are always-valid confidence sequences (sequential). " if o.sequential else "")
        + "Ratio metrics use the delta method on per-developer sums; with CUPED the lift is "
        "adjusted for pre-period differences, so it can differ from treatment − control. "
        "Relative intervals use "
        f"the {'Fieller' if o.relative_ci == 'fieller' else 'linear delta (gbstats)'} method.",
    ]
    extra = [m for m in report.metrics if m.bootstrap or m.mixed]
    if extra:
        rows = []
        for m in extra:
            b, x = m.bootstrap, m.mixed
            rows.append(
                [
                    m.metric,
                    f"{_num(b.se)} [{_num(b.ci_low)}, {_num(b.ci_high)}]" if b else "–",
                    _num(m.comparison.absolute.se) if m.comparison else "–",
                    f"{_num(x.estimate)} [{_num(x.ci_low)}, {_num(x.ci_high)}] ({x.method}, {x.status.value})"
                    if x
                    else "–",
                ]
            )
        parts += [
            "## Cross-checks",
            _md_table(
                ["metric", "Poisson bootstrap SE [CI], unadjusted", "delta SE", "mixed model β"],
                rows,
            ),
        ]
    if report.slices:
        rows = [
            [
                s.metric,
                f"{s.dimension}={s.value}",
                f"{s.comparison.control_n}/{s.comparison.treatment_n}",
                f"{_pct(s.comparison.relative.estimate)} {_ci(s.comparison.relative, True)}",
                _p(s.adjusted_p_value),
                "" if s.comparison.absolute.ok else s.comparison.absolute.status.value,
            ]
            for s in report.slices
        ]
        parts += [
            "## Slices (primary metrics, BH-adjusted; exploratory)",
            _md_table(
                ["metric", "slice", "n control/treatment", "rel. lift [CI]", "adj. p", "status"],
                rows,
            ),
        ]
    if report.evals:
        e = report.evals
        parts += [
            "## Offline evals",
            (
                f"Pass rate {e.model_control} {e.pass_rate_control:.3f} vs {e.model_treatment} "
                f"{e.pass_rate_treatment:.3f} over {e.tasks} common tasks: Δ = {_pct(e.delta)} "
                f"(95% CI {_pct(e.ci_low)} to {_pct(e.ci_high)}, paired by task)."
            ),
        ]
    if report.notes:
        parts += ["## Notes", "\n".join(f"- {n}" for n in report.notes)]
    parts.append(f"_Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by codex-metrics._")
    return "\n\n".join(p for p in parts if p) + "\n"


def forest_plot_svg(report: ExperimentReport, *, width: int = 760) -> str:
    """An SVG forest plot of every metric's relative lift with its interval."""
    rows = [m for m in report.metrics if m.comparison and m.comparison.relative.ok]
    height, left, right = 40 + 28 * max(len(rows), 1), 280, width - 20
    bounds = [0.0]
    for m in rows:
        r = m.comparison.relative  # type: ignore[union-attr]
        bounds += [b for b in (r.ci_low, r.ci_high) if math.isfinite(b)]
        if m.guardrail:
            bounds.append(m.guardrail.margin * (-1 if m.higher_is_better else 1))
    lo, hi = min(bounds), max(bounds)
    pad = 0.1 * (hi - lo or 1)
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return left + (right - left) * (min(max(v, lo), hi) - lo) / (hi - lo)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="forest plot">',
        f'<line x1="{x(0):.1f}" y1="10" x2="{x(0):.1f}" y2="{height - 20}" stroke="#888"/>',
        f'<text x="{x(0):.1f}" y="{height - 5}" font-size="11" text-anchor="middle">0</text>',
    ]
    for i, m in enumerate(rows):
        r, y = m.comparison.relative, 30 + 28 * i  # type: ignore[union-attr]
        good = (r.estimate > 0) == m.higher_is_better
        colour = "#1a7f37" if r.significant and good else "#cf222e" if r.significant else "#57606a"
        out.append(
            f'<text x="5" y="{y + 4}" font-size="12">{html.escape(m.metric)} ({m.role.value})</text>'
        )
        out.append(
            f'<line x1="{x(r.ci_low):.1f}" y1="{y}" x2="{x(r.ci_high):.1f}" y2="{y}" stroke="{colour}" stroke-width="2"/>'
        )
        out.append(
            f'<circle cx="{x(r.estimate):.1f}" cy="{y}" r="4" fill="{colour}"><title>{_pct(r.estimate)} {_ci(r, True)}</title></circle>'
        )
        if m.guardrail:
            mx = x(m.guardrail.margin * (-1 if m.higher_is_better else 1))
            out.append(
                f'<line x1="{mx:.1f}" y1="{y - 9}" x2="{mx:.1f}" y2="{y + 9}" stroke="#bf8700" stroke-dasharray="3,2"/>'
            )
    out.append(f'<text x="{left}" y="{height - 5}" font-size="11">{_pct(lo)}</text>')
    out.append(
        f'<text x="{right}" y="{height - 5}" font-size="11" text-anchor="end">{_pct(hi)}</text></svg>'
    )
    return "\n".join(out)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render_experiment_html(report: ExperimentReport) -> str:
    """A self-contained HTML page: verdict, health, metric table, forest plot, slices."""
    d, v = report.design, report.verdict
    colour = {"ship": "#1a7f37", "don't ship": "#cf222e"}.get(v.decision.value, "#9a6700")
    health = "".join(
        f"<li>{html.escape(line[2:]).replace('**', '')}</li>" for line in _health_lines(report)
    )
    slices = ""
    if report.slices:
        slices = "<h2>Slices (primary metrics, BH-adjusted; exploratory)</h2>" + _html_table(
            ["metric", "slice", "n control/treatment", "rel. lift", "adj. p"],
            [
                [
                    s.metric,
                    f"{s.dimension}={s.value}",
                    f"{s.comparison.control_n}/{s.comparison.treatment_n}",
                    f"{_pct(s.comparison.relative.estimate)} {_ci(s.comparison.relative, True)}",
                    _p(s.adjusted_p_value),
                ]
                for s in report.slices
            ],
        )
    evals = ""
    if report.evals:
        e = report.evals
        evals = (
            f"<h2>Offline evals</h2><p>Pass-rate Δ {_pct(e.delta)} (95% CI {_pct(e.ci_low)} to "
            f"{_pct(e.ci_high)}) over {e.tasks} tasks.</p>"
        )
    guard_note = (
        "Dashed marks: guardrail margins."
        if any(m.role is Role.GUARDRAIL for m in report.metrics)
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Experiment {html.escape(d.experiment_id)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #d0d7de;padding:3px 6px}}
.verdict{{border-left:6px solid {colour};padding:.5em 1em;background:#f6f8fa}}</style></head><body>
<h1>Experiment {html.escape(d.experiment_id)}</h1><p>{html.escape(d.description)}</p>
<p class="verdict"><strong>{html.escape(v.decision.value.upper())}</strong> — {html.escape(v.reason)}</p>
<h2>Assignment health</h2>{_html_table(["arm", "model", "weight", "developers", "expected"], _arm_rows(report))}
<ul>{health}</ul>
<h2>Metrics</h2>{_html_table(_METRIC_HEAD, [_metric_row(m) for m in report.metrics])}
<h2>Relative lift (forest plot)</h2>{forest_plot_svg(report)}<p>{guard_note}</p>
{slices}{evals}
<p><small>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by codex-metrics.</small></p>
</body></html>
"""
