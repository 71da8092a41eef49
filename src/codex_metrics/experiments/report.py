"""Render an experiment report as Markdown or JSON; the sections the HTML report shares.

Every section is a table (a head and rows of text) built once here, so Markdown and HTML
(:mod:`.report_html`) show the same numbers. JSON is the envelope of DESIGN.md: rows with a
``status``/``message`` where a value is undefined (NaN becomes ``null``), plus metadata
(options, generated_at, metric sources).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import datetime
from enum import Enum
from typing import Any

from codex_metrics.experiments.frequentist import Effect
from codex_metrics.experiments.results import Decision, ExperimentReport, MetricAnalysis

__all__ = [
    "Section",
    "render_experiment_json",
    "render_experiment_markdown",
    "report_sections",
    "report_to_dict",
]

Section = tuple[str, list[str], list[list[str]]]
UNTRUSTED_WARNING = (
    "The verdict is untrustworthy: the per-metric significance below is not evidence until the "
    "assignment problem is fixed."
)


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
    for row, m in zip(doc["metrics"], report.metrics, strict=True):
        row["label"] = m.label
    return _clean(doc)


def render_experiment_json(report: ExperimentReport) -> str:
    """The report as indented JSON."""
    return json.dumps(report_to_dict(report), indent=2, sort_keys=False)


def num(x: float | None, unit: str = "") -> str:
    """A number for a table: 4 decimals for ratios, thousands separators for large values."""
    if x is None or not math.isfinite(x):
        return "–"
    if unit == "ratio" or (not unit and abs(x) < 1):
        return f"{x:.4f}"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.2f}"


def pct(x: float | None) -> str:
    """A signed percentage."""
    return "–" if x is None or not math.isfinite(x) else f"{x * 100:+.1f}%"


def pval(x: float | None) -> str:
    """A p-value."""
    return "–" if x is None or not math.isfinite(x) else (f"{x:.2g}" if x < 0.001 else f"{x:.3f}")


def interval(e: Effect, percent: bool, unit: str = "") -> str:
    """``[low, high]`` of an effect."""
    if not e.ok and not math.isfinite(e.ci_low):
        return "–"
    if percent:
        return f"[{pct(e.ci_low)}, {pct(e.ci_high)}]"
    return f"[{num(e.ci_low, unit)}, {num(e.ci_high, unit)}]"


METRIC_HEAD = [
    "metric",
    "arm",
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


def metric_row(m: MetricAnalysis) -> list[str]:
    """One metric's row of the metrics table."""
    c = m.comparison
    if c is None:
        return [m.label, m.arm, m.role.value, "–", "–", "–", "–", "–", "–", "–", m.message]
    cuped = f"−{m.variance_reduction * 100:.0f}% var" if m.cuped_applied else "no"
    note = "" if c.absolute.ok else c.absolute.message
    if m.guardrail_outcome is not None and m.guardrail is not None:
        note = f"guardrail {m.guardrail_outcome.value} (margin {m.guardrail.margin * 100:.0f}%)"
    if m.cap is not None:
        note = (note + "; " if note else "") + f"capped at P{m.cap.percentile * 100:g}"
    return [
        m.label,
        m.arm,
        m.role.value,
        num(c.control_mean, m.unit),
        num(c.treatment_mean, m.unit),
        f"{num(c.absolute.estimate, m.unit)} {interval(c.absolute, False, m.unit)}",
        f"{pct(c.relative.estimate)} {interval(c.relative, True)}",
        pval(m.p_value),
        pval(m.adjusted_p_value),
        cuped,
        note,
    ]


def health_lines(report: ExperimentReport) -> list[str]:
    """The assignment-health bullet points (Markdown emphasis included)."""
    h, d = report.health, report.design
    out = [
        f"Sample-ratio check over {len(d.arms)} arms: χ² = {num(h.srm.chi2)}, p = "
        f"{pval(h.srm.p_value)} → **{h.srm.level.value}**",
        f"Crossover developers (several arms, excluded): {h.counts.crossover}",
        f"Developers served another arm's model: {h.counts.exposure_mismatch}",
        f"Developers served a treatment model without assignment: {h.counts.unassigned_active}",
        (
            f"Served models seen in: {', '.join(h.counts.exposure_seen_in)}"
            if h.counts.exposure_seen_in
            else "Served models seen in: none (no arm's model in suggestions, codex_requests or "
            "Copilot's model breakdown in the period; exposure is unchecked)"
        ),
    ]
    flagged = [
        f"{k} (p = {pval(r.p_value)}, {r.level.value})"
        for k, r in h.srm_slices.items()
        if r.level.value != "ok"
    ]
    out.append(f"Slice SRM (BH-adjusted): {', '.join(flagged) if flagged else 'no slice flagged'}")
    if d.planned_developers:
        total = sum(h.counts.developers.values())
        out.append(f"Developers: {total:,} of {d.planned_developers:,} planned")
    return out


def arm_rows(report: ExperimentReport) -> list[list[str]]:
    """Developers per arm against the intended allocation."""
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


def methods_text(report: ExperimentReport) -> str:
    """How the numbers of the metrics table were made, in one paragraph."""
    o = report.options
    fieller = (
        "Fieller (on unadjusted values)" if o.relative_ci == "fieller" else "linear delta (gbstats)"
    )
    return (
        "Adjusted p: Holm over primary and guardrail metrics of every treatment arm (guardrails: "
        "one-sided non-inferiority p), Benjamini–Hochberg over secondary metrics. "
        f"α = {o.alpha}. "
        + ("Intervals are always-valid confidence sequences (sequential). " if o.sequential else "")
        + "Ratio metrics use the delta method on per-developer sums; with CUPED the lift is "
        "adjusted for pre-period differences, so it can differ from treatment − control. "
        f"Relative intervals use the {fieller} method."
    )


def _bayesian(report: ExperimentReport) -> Section | None:
    rows = [m for m in report.metrics if m.bayesian is not None]
    if not rows:
        return None
    body = []
    for m in rows:
        b = m.bayesian
        assert b is not None
        body.append(
            [
                m.label,
                m.arm,
                "–" if not math.isfinite(b.chance_to_win) else f"{b.chance_to_win:.1%}",
                f"{pct(b.expected)} [{pct(b.ci_low)}, {pct(b.ci_high)}]",
                pct(b.risk_control).lstrip("+"),
                pct(b.risk_treatment).lstrip("+"),
                b.status.value,
            ]
        )
    head = [
        "metric",
        "arm",
        "chance to beat control",
        "posterior rel. lift [95% CrI]",
        "expected loss, keep control",
        "expected loss, ship",
        "status",
    ]
    prior = report.options.prior.describe()
    return f"Bayesian view (prior {prior} on the relative lift)", head, body


def _quantiles(report: ExperimentReport) -> Section | None:
    rows = [m for m in report.metrics if m.quantiles is not None]
    if not rows:
        return None
    body = []
    for m in rows:
        assert m.quantiles is not None
        for arm, q in zip((m.control_arm, m.arm), m.quantiles, strict=True):
            body.append(
                [
                    m.label,
                    arm,
                    f"{q.n:,}",
                    f"{q.n_clusters:,}",
                    num(q.quantile_hat, m.unit),
                    f"[{num(q.quantile_lower, m.unit)}, {num(q.quantile_upper, m.unit)}] (n* = {q.n_star:,})",
                    f"{q.design_effect:.2f}" if q.n_clusters > 1 else "–",
                ]
            )
    head = [
        "metric",
        "arm",
        "events",
        "developers",
        "quantile",
        "order-statistic bounds",
        "design effect",
    ]
    return "Quantile metrics (developer-clustered)", head, body


def _capping(report: ExperimentReport) -> Section | None:
    rows = {(m.metric, m.cap) for m in report.metrics if m.cap is not None}
    if not rows:
        return None
    body = [
        [name, f"P{cap.percentile * 100:g}", num(cap.post_cap), f"{cap.capped_developers:,}"]
        for name, cap in sorted(rows, key=lambda r: r[0])
        if cap is not None
    ]
    return (
        "Capping",
        ["metric", "percentile (pooled)", "cap on developer means", "developers capped"],
        body,
    )


def _cross_checks(report: ExperimentReport) -> Section | None:
    extra = [m for m in report.metrics if m.bootstrap or m.mixed]
    if not extra:
        return None
    rows = []
    for m in extra:
        b, x = m.bootstrap, m.mixed
        rows.append(
            [
                m.label,
                m.arm,
                f"{num(b.se)} [{num(b.ci_low)}, {num(b.ci_high)}]" if b else "–",
                f"{num(m.unadjusted.absolute.se)} {interval(m.unadjusted.absolute, False)}"
                if m.unadjusted
                else "–",
                f"{num(x.estimate)} [{num(x.ci_low)}, {num(x.ci_high)}] ({x.method}, {x.status.value})"
                if x
                else "–",
            ]
        )
    head = [
        "metric",
        "arm",
        "Poisson bootstrap SE [CI], unadjusted",
        "delta SE [CI], unadjusted",
        "mixed model β",
    ]
    return "Cross-checks", head, rows


def _slices(report: ExperimentReport) -> Section | None:
    if not report.slices:
        return None
    rows = [
        [
            s.metric,
            s.arm,
            f"{s.dimension}={s.value}",
            f"{s.comparison.control_n}/{s.comparison.treatment_n}",
            f"{pct(s.comparison.relative.estimate)} {interval(s.comparison.relative, True)}",
            pval(s.adjusted_p_value),
            "" if s.comparison.absolute.ok else s.comparison.absolute.status.value,
        ]
        for s in report.slices
    ]
    head = ["metric", "arm", "slice", "n control/treatment", "rel. lift [CI]", "adj. p", "status"]
    return "Slices (primary metrics, BH-adjusted; exploratory)", head, rows


def _evals(report: ExperimentReport) -> Section | None:
    if not report.evals_by_arm:
        return None
    rows = [
        [
            arm,
            f"{e.model_control} {e.pass_rate_control:.3f}",
            f"{e.model_treatment} {e.pass_rate_treatment:.3f}",
            f"{e.tasks}",
            f"{e.delta * 100:+.1f} points [{e.ci_low * 100:+.1f}, {e.ci_high * 100:+.1f}]",
        ]
        for arm, e in report.evals_by_arm.items()
    ]
    head = [
        "arm",
        "control pass rate",
        "treatment pass rate",
        "common tasks",
        "Δ paired by task [95% CI]",
    ]
    return "Offline evals", head, rows


def report_sections(report: ExperimentReport) -> list[Section]:
    """The optional sections after the metrics table, in page order."""
    builders = (_bayesian, _quantiles, _capping, _cross_checks, _slices, _evals)
    return [s for s in (b(report) for b in builders) if s is not None]


def md_table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_experiment_markdown(report: ExperimentReport) -> str:
    """The report as Markdown."""
    d, v = report.design, report.verdict
    untrusted = v.decision is Decision.UNTRUSTWORTHY
    parts = [
        f"# Experiment {d.experiment_id}",
        d.description,
        f"**Verdict: {v.decision.value.upper()}.** {v.reason}",
        f"Period {d.start:%Y-%m-%d} to {d.end:%Y-%m-%d}" if d.end else f"Since {d.start:%Y-%m-%d}",
        "## Assignment health",
        md_table(["arm", "model", "weight", "developers", "expected"], arm_rows(report)),
        "\n".join(f"- {line}" for line in health_lines(report)),
        "## Metrics",
        f"**{UNTRUSTED_WARNING}**" if untrusted else "",
        md_table(METRIC_HEAD, [metric_row(m) for m in report.metrics]),
        methods_text(report),
    ]
    for title, head, rows in report_sections(report):
        parts += [f"## {title}", md_table(head, rows)]
    if report.notes:
        parts += ["## Notes", "\n".join(f"- {n}" for n in report.notes)]
    parts.append(f"_Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by codex-metrics._")
    return "\n\n".join(p for p in parts if p) + "\n"
