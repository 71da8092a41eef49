"""docs/metrics.md, generated from the catalogue (a test fails when the file is stale)."""

from __future__ import annotations

import importlib
import inspect

from codex_metrics.metrics.catalogue import DIMENSIONS, FAMILIES, list_metrics
from codex_metrics.metrics.result import NULL_REASONS

__all__ = ["render_metrics_markdown"]

_MODULES = {
    "adoption": "adoption",
    "quality": "quality",
    "performance": "latency",
    "productivity": "productivity",
    "community": "community",
}
_TITLES = {
    "adoption": "Adoption and usage",
    "quality": "Quality",
    "performance": "Performance",
    "productivity": "Productivity and satisfaction",
    "community": "Community",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_metrics_markdown() -> str:
    """The metric catalogue as Markdown."""
    out = [
        "# Metric catalogue",
        "",
        "Generated from `src/codex_metrics/metrics/` by `codex-metrics metrics docs`; do not edit.",
        "",
        "Every ratio is a ratio of sums over the rows of a group (never a mean of daily or "
        "per-developer ratios); distinct-user counts are recomputed per period and slice, never "
        "summed across days, dimensions or `usage_daily` breakdowns. Days and ISO weeks are UTC. "
        "Percentiles are exact with linear interpolation (type 7) on both engines. Ratios and "
        "means list their per-developer numerator and denominator, which the experiment engine "
        "uses for the delta method and CUPED.",
        "",
        "## Result rows and null reasons",
        "",
        "Rows carry `period`, the `--by` dimensions, `value`, supporting columns (`numerator` and "
        "`denominator` for ratios, `n` for percentiles) and `null_reason`:",
        "",
    ]
    out += [f"- `{code}`: {text}" for code, text in NULL_REASONS.items()]
    out += [
        "",
        "Days with no data in a metric's source are listed as `gaps` and never interpolated.",
        "",
        "## Dimensions",
        "",
        "| dimension | meaning |",
        "| --- | --- |",
    ]
    out += [f"| `{d}` | {_cell(text)} |" for d, text in DIMENSIONS.items()]
    for family in FAMILIES:
        metrics = list_metrics(family)
        module = importlib.import_module(f"codex_metrics.metrics.{_MODULES[family]}")
        intro = " ".join((inspect.getdoc(module) or "").split())
        out += [
            "",
            f"## {_TITLES[family]}",
            "",
            intro,
            "",
            "| metric | description | unit | basis | grain |",
            "| --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| [`{m.name}`](#{m.name}) | {_cell(m.description)} | {m.unit} | {m.basis} | {m.grain} |"
            for m in metrics
        ]
        for m in metrics:
            out += [
                "",
                f"### {m.name}",
                "",
                _cell(m.description),
                "",
                f"- formula: {_cell(m.formula)}",
                f"- kind: {m.kind}; unit: {m.unit}; basis: {m.basis}; grain: {m.grain}",
                f"- source: {', '.join(f'`{t}`' for t in m.tables)}"
                + (f" (breakdown `{m.breakdown}` by default)" if m.breakdown else ""),
                f"- dimensions: {', '.join(m.dimensions) or 'none'}",
                "- higher is better: "
                + {True: "yes", False: "no", None: "neither (a volume or a distribution)"}[
                    m.higher_is_better
                ],
            ]
            if m.numerator:
                out += [
                    f"- per-developer numerator: {_cell(m.numerator)}",
                    f"- per-developer denominator: {_cell(m.denominator)}",
                ]
            if m.unavailable_reason:
                out.append(f"- unavailable: {_cell(m.unavailable_reason)}")
            if m.notes:
                out.append(f"- notes: {_cell(m.notes)}")
    return "\n".join(out) + "\n"
