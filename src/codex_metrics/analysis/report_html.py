"""The productivity report as one self-contained HTML page (Plotly from ``codex_metrics.charts``)."""

from __future__ import annotations

import html
import json
from typing import Any

import plotly.graph_objects as go

from codex_metrics.analysis.estimates import Estimate
from codex_metrics.analysis.productivity import ProductivityReport
from codex_metrics.charts import ForestRow, bar_with_ci, figures_html, forest_plot, histogram

__all__ = ["render_productivity_html", "render_productivity_json"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem;display:block;overflow-x:auto}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
th{background:#f3f3f3}.warn{color:#a15c00}.note{color:#555;font-size:.9rem}
"""


#: Short labels of the causal estimands in the charts.
ESTIMAND_LABELS = {
    "att_log_duration": "att (tasks)",
    "att_adoption_log_duration": "att_adoption (task duration)",
    "att_adoption_log_pr_cycle_time": "att_adoption (PR cycle time)",
}
_ADOPTION_OUTCOMES = {
    "att_adoption_log_duration": "log task duration",
    "att_adoption_log_pr_cycle_time": "log PR cycle time (opened to merged)",
}


def _fmt(v: float | None, digits: int = 4) -> str:
    return "–" if v is None else f"{v:.{digits}g}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _row(e: Estimate, label: str) -> ForestRow | None:
    if e.estimate is None or e.ci_low is None or e.ci_high is None:
        return None
    hover = f"{e.method}; truth {_fmt(e.truth)}" if e.truth is not None else e.method
    group = "better" if e.covers_truth else ("worse" if e.truth is not None else "neutral")
    return ForestRow(label, e.estimate, e.ci_low, e.ci_high, group=group, hover=hover)


def _forest(rows: list[ForestRow | None], title: str, x_title: str) -> go.Figure | None:
    kept = [r for r in rows if r is not None]
    if not kept:
        return None
    return forest_plot(
        kept,
        title=title,
        x_title=x_title,
        percent=False,
        legend={"better": "covers truth", "worse": "misses truth", "neutral": "no truth"},
    )


def _figures(report: ProductivityReport) -> list[go.Figure]:
    est = report.estimates
    figs: list[go.Figure | None] = []
    causal = [
        e
        for e in est
        if e.estimand in ("att_log_duration", "att_adoption_log_duration") and e.subgroup is None
    ]
    figs.append(
        _forest(
            [_row(e, f"{ESTIMAND_LABELS[e.estimand]} · {e.method}") for e in causal],
            "Effect of AI on log task duration: adjusted estimates beside the naive ones",
            "log ratio of durations (negative: faster)",
        )
    )
    cycle = [e for e in est if e.estimand == "att_adoption_log_pr_cycle_time" and not e.subgroup]
    figs.append(
        _forest(
            [_row(e, f"{ESTIMAND_LABELS[e.estimand]} · {e.method}") for e in cycle],
            "Effect of adopting Copilot on log PR cycle time (real data): adjusted beside naive",
            "log ratio of cycle times (negative: faster)",
        )
    )
    for estimand, outcome in _ADOPTION_OUTCOMES.items():
        events = [
            e
            for e in est
            if e.estimand == estimand
            and (e.subgroup or "").startswith("event_week=")
            and e.method == "callaway_santanna"
        ]
        figs.append(
            _forest(
                [_row(e, e.subgroup or "") for e in events],
                f"Event study (Callaway-Sant'Anna) on {outcome}",
                "log ratio by weeks since adoption (leads against week −1)",
            )
        )
    by_exp = [e for e in est if e.estimand == "effect_log_duration_coding_task"]
    figs.append(
        _forest(
            [_row(e, e.subgroup or "") for e in by_exp],
            "Effect by experience (coding tasks)",
            "log ratio",
        )
    )
    hist = report.charts.get("propensity_histogram")
    if hist:
        edges = hist["edges"]
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        figs.append(
            histogram(
                centres,
                {"with AI": hist["treated"], "without AI": hist["untreated"]},
                title="Overlap: propensity of using AI on a task",
                x_title="propensity",
                normalise=True,
            )
        )
    deciles = report.charts.get("acceptance_by_latency_decile") or []
    if deciles:
        labels = [f"{d['latency_ms_low']:.0f}-{d['latency_ms_high']:.0f} ms" for d in deciles]
        values = [d["marginal_pp_per_doubling"] for d in deciles]
        figs.append(
            bar_with_ci(
                labels,
                values,
                values,
                values,
                title="Acceptance change per doubling of latency, by latency decile",
                y_title="percentage points",
            )
        )
    band = report.charts.get("satisfaction_band") or []
    if band:
        figs.append(
            bar_with_ci(
                [f"{b['latency_ms']:.0f} ms" for b in band],
                [b["mean"] for b in band],
                [b["low"] for b in band],
                [b["high"] for b in band],
                title="Satisfaction by developer completion-latency P50 (95% band)",
                y_title="satisfaction (1-5)",
            )
        )
    pdp = report.charts.get("partial_dependence_latency") or []
    if pdp:
        figs.append(
            histogram(
                [p["latency_ms"] for p in pdp],
                {"XGBoost": [p["acceptance"] for p in pdp]},
                title="Partial dependence of acceptance on latency",
                x_title="latency, ms",
                y_title="acceptance",
                log_x=True,
            )
        )
    shifts = [e for e in est if e.estimand == "failure_share_shift"][:8]
    figs.append(
        _forest(
            [_row(e, e.subgroup or "") for e in shifts],
            "Largest shifts in failure modes between the two main model versions",
            "difference of shares",
        )
    )
    return [f for f in figs if f is not None]


def render_productivity_html(report: ProductivityReport) -> str:
    """The whole report: headline, charts, every estimate in a table, assumptions."""
    doc = report.to_dict()
    meta = doc["metadata"]
    rows = [
        [
            e.analysis,
            e.estimand,
            e.method,
            e.subgroup or "",
            _fmt(e.estimate),
            f"[{_fmt(e.ci_low)}, {_fmt(e.ci_high)}]",
            _fmt(e.truth),
            e.unit,
            e.status.value + (f": {e.status_reason}" if e.status_reason else ""),
        ]
        for e in report.estimates
        if e.estimand != "odds_ratio"
    ]
    odds = [
        [e.subgroup or "", _fmt(e.estimate), f"[{_fmt(e.ci_low)}, {_fmt(e.ci_high)}]"]
        for e in report.estimates
        if e.estimand == "odds_ratio"
    ]
    segments = [
        [str(s["segment"]), str(s["developers"]), f"{s['share']:.1%}", s["description"]]
        for s in report.charts.get("segments") or []
    ]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Productivity analysis</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Productivity analysis</h1>",
        f"<p class='note'>Run {html.escape(report.run_id)}, {html.escape(meta['generated_at'])}; "
        f"lake snapshot {html.escape(json.dumps(meta['lake_snapshot'].get('versions', {})))}; "
        f"{'simulated world (truth shown)' if report.simulated else 'real data'}.</p>",
        "<h2>Samples</h2>",
        _table(["what", "size"], [[k, str(v)] for k, v in report.samples.items()]),
        "<h2>Assumptions</h2><ul>",
        *[f"<li>{html.escape(a)}</li>" for a in meta["assumptions"]],
        "</ul><h2>Charts</h2>",
        *figures_html(_figures(report)),
        "<h2>Every estimate</h2>",
        _table(
            [
                "analysis",
                "estimand",
                "method",
                "subgroup",
                "estimate",
                "95% CI",
                "truth",
                "unit",
                "status",
            ],
            rows,
        ),
        "<h2>Acceptance odds ratios (clustered logit)</h2>",
        _table(["term", "odds ratio", "95% CI"], odds),
        "<h2>Developer segments</h2>",
        _table(["segment", "developers", "share", "description"], segments),
        "</body></html>",
    ]
    return "\n".join(parts)


def render_productivity_json(report: ProductivityReport) -> str:
    """The result envelope as JSON (every estimate with its CI, estimand, method and status)."""

    def default(value: Any) -> Any:
        return str(value)

    return json.dumps(report.to_dict(), indent=2, default=default, allow_nan=False)
