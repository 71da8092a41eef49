"""The experiment report as one self-contained HTML page, drawn with the shared chart stack.

The forest plot comes from :func:`codex_metrics.charts.forest_plot` with plotly.js embedded
from the installed package (the page opens offline and never fetches a CDN). Its x axis is the
relative lift with its interval, every row is coloured by what the interval says (better, worse,
no significant change) with a legend, and guardrail margins are marked. When the verdict is
``untrustworthy`` every row is greyed out: a sample-ratio mismatch or lost assignments make
per-metric significance meaningless, and the page must not suggest otherwise.
"""

from __future__ import annotations

import html

from codex_metrics.charts import ForestRow, figures_html, forest_plot
from codex_metrics.experiments.report import (
    METRIC_HEAD,
    UNTRUSTED_WARNING,
    arm_rows,
    health_lines,
    interval,
    methods_text,
    metric_row,
    pct,
    report_sections,
)
from codex_metrics.experiments.results import Decision, ExperimentReport, MetricAnalysis

__all__ = ["forest_rows", "render_experiment_html"]

_LEGEND = {
    "better": "significantly better",
    "worse": "significantly worse",
    "neutral": "no significant change",
    "untrusted": "not trustworthy (see verdict)",
    "margin": "guardrail margin (non-inferiority bound)",
}
_VERDICT_COLOURS = {
    Decision.SHIP: "#1a7f37",
    Decision.DONT_SHIP: "#cf222e",
    Decision.INCONCLUSIVE: "#9a6700",
    Decision.UNTRUSTWORTHY: "#6e7781",
}


def _group(m: MetricAnalysis, untrusted: bool) -> str:
    if untrusted:
        return "untrusted"
    rel = m.comparison.relative if m.comparison else None
    if rel is None or not rel.significant:
        return "neutral"
    return "better" if (rel.estimate > 0) == m.higher_is_better else "worse"


def forest_rows(report: ExperimentReport) -> list[ForestRow]:
    """One forest-plot row per metric (and treatment arm) with a usable relative lift."""
    untrusted = report.verdict.decision is Decision.UNTRUSTWORTHY
    several = len(report.treatments) > 1
    rows = []
    for m in report.metrics:
        rel = m.comparison.relative if m.comparison else None
        if rel is None or not rel.ok:
            continue
        margin = None
        if m.guardrail is not None:
            margin = m.guardrail.margin * (-1 if m.higher_is_better else 1)
        label = f"{m.label} · {m.arm}" if several else m.label
        rows.append(
            ForestRow(
                label=f"{label} ({m.role.value})",
                estimate=rel.estimate,
                low=rel.ci_low,
                high=rel.ci_high,
                group=_group(m, untrusted),
                margin=margin,
                hover=f"{pct(rel.estimate)} {interval(rel, True)}, {rel.method}",
            )
        )
    return rows


def _table(head: list[str], rows: list[list[str]], *, css: str = "") -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f'<div class="scroll"><table class="{css}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def render_experiment_html(report: ExperimentReport) -> str:
    """A self-contained HTML page: verdict, health, metrics, forest plot, further sections."""
    d, v, o = report.design, report.verdict, report.options
    untrusted = v.decision is Decision.UNTRUSTWORTHY
    interval_kind = (
        "always-valid 95% confidence sequence" if o.sequential else f"{1 - o.alpha:.0%} CI"
    )
    figure = forest_plot(
        forest_rows(report),
        title="Relative lift against the control",
        x_title=f"relative lift vs control {d.control.name} (%), {interval_kind}",
        legend=_LEGEND,
    )
    (plot,) = figures_html([figure])
    health = "".join(
        f"<li>{html.escape(line).replace('**', '')}</li>" for line in health_lines(report)
    )
    warning = f'<p class="warning">{html.escape(UNTRUSTED_WARNING)}</p>' if untrusted else ""
    sections = "".join(
        f"<h2>{html.escape(title)}</h2>{_table(head, rows)}"
        for title, head, rows in report_sections(report)
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    metrics_css = "metrics untrusted" if untrusted else "metrics"
    colour = _VERDICT_COLOURS[v.decision]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Experiment {html.escape(d.experiment_id)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #d0d7de;padding:3px 6px;white-space:nowrap}}
td:last-child{{white-space:normal;min-width:12em}}.scroll{{overflow-x:auto}}
table.untrusted td:nth-child(n+6){{color:#8c959f}}
.verdict{{border-left:6px solid {colour};padding:.5em 1em;background:#f6f8fa}}
.warning{{background:#fff8c5;border:1px solid #d4a72c;padding:.5em 1em}}</style></head><body>
<h1>Experiment {html.escape(d.experiment_id)}</h1><p>{html.escape(d.description)}</p>
<p class="verdict"><strong>{html.escape(v.decision.value.upper())}</strong> — {html.escape(v.reason)}</p>
<h2>Assignment health</h2>{_table(["arm", "model", "weight", "developers", "expected"], arm_rows(report))}
<ul>{health}</ul>
<h2>Metrics</h2>{warning}{_table(METRIC_HEAD, [metric_row(m) for m in report.metrics], css=metrics_css)}
<p><small>{html.escape(methods_text(report))}</small></p>
<h2>Relative lift (forest plot)</h2>{plot}
{sections}
{"<h2>Notes</h2><ul>" + notes + "</ul>" if notes else ""}
<p><small>Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by codex-metrics.</small></p>
</body></html>
"""
