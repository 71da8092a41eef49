"""Ship, don't ship or inconclusive, from the primary and guardrail metrics, in one sentence.

Rules, in order (the first that applies wins):

1. A sample-ratio-mismatch alert (p < 0.001): **inconclusive**, the arms are not comparable.
2. No primary metric could be computed: **inconclusive**.
3. A primary metric got significantly worse (Holm-adjusted): **don't ship**.
4. A guardrail failed (significantly worse and beyond its margin): **don't ship**.
5. A primary metric improved significantly and every guardrail is shown non-inferior
   (Holm-adjusted one-sided test within the margin): **ship**.
6. Otherwise **inconclusive**, saying what is missing (an improvement, or proof that a
   guardrail held).
"""

from __future__ import annotations

from collections.abc import Sequence

from codex_metrics.experiments.guardrails import GuardrailOutcome
from codex_metrics.experiments.results import Decision, MetricAnalysis, Role, Verdict
from codex_metrics.experiments.srm import SrmLevel, SrmResult

__all__ = ["decide"]


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def _lift(m: MetricAnalysis) -> str:
    rel = m.comparison.relative if m.comparison else None
    if rel is None or not rel.ok:
        return "changed"
    return f"{_pct(rel.estimate)} (95% CI {_pct(rel.ci_low)} to {_pct(rel.ci_high)})"


def decide(metrics: Sequence[MetricAnalysis], srm: SrmResult) -> Verdict:
    """Apply the rules of the module docstring."""
    if srm.level is SrmLevel.ALERT:
        return Verdict(
            Decision.INCONCLUSIVE,
            f"Sample-ratio mismatch (p = {srm.p_value:.2g}): the arms' developer counts "
            f"{srm.observed} differ from the intended allocation, so the comparison cannot be "
            "trusted until assignment is fixed.",
        )
    primary = [m for m in metrics if m.role is Role.PRIMARY]
    guardrails = [m for m in metrics if m.role is Role.GUARDRAIL]
    usable = [m for m in primary if m.comparison is not None and m.comparison.absolute.ok]
    if not usable:
        return Verdict(Decision.INCONCLUSIVE, "No primary metric could be computed from the lake.")
    worse = [m for m in usable if m.worsened]
    if worse:
        m = worse[0]
        return Verdict(
            Decision.DONT_SHIP,
            f"The primary metric {m.metric} got significantly worse: {_lift(m)}, "
            f"adjusted p = {m.adjusted_p_value:.2g}.",
        )
    failed = [g for g in guardrails if g.guardrail_outcome is GuardrailOutcome.FAIL]
    if failed:
        g = failed[0]
        margin = g.guardrail.margin if g.guardrail else float("nan")
        return Verdict(
            Decision.DONT_SHIP,
            f"The guardrail {g.metric} got significantly worse, {_lift(g)}, beyond its "
            f"{margin * 100:.0f}% margin.",
        )
    better = [m for m in usable if m.improved]
    unproven = [g for g in guardrails if g.guardrail_outcome is not GuardrailOutcome.PASS]
    if better and not unproven:
        m = better[0]
        held = ", ".join(g.metric for g in guardrails) or "no guardrails declared"
        return Verdict(
            Decision.SHIP,
            f"{m.metric} improved {_lift(m)}, adjusted p = {m.adjusted_p_value:.2g}, and every "
            f"guardrail stayed within its margin ({held}).",
        )
    if better:
        names = ", ".join(g.metric for g in unproven)
        return Verdict(
            Decision.INCONCLUSIVE,
            f"{better[0].metric} improved {_lift(better[0])}, but the data cannot yet show that "
            f"{names} stayed within its margin; collect more developers or days.",
        )
    m = usable[0]
    return Verdict(
        Decision.INCONCLUSIVE,
        f"No significant change in {m.metric}: {_lift(m)}, adjusted p = "
        f"{m.adjusted_p_value:.2g}; the data are consistent with no effect.",
    )
