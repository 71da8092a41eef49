"""Ship (naming the arm), don't ship, inconclusive or untrustworthy, with the reason.

Rules, in order (the first that applies wins):

1. A sample-ratio-mismatch alert (p < 0.001): **untrustworthy**, the arms are not comparable.
2. Developers served a treatment model without an assignment record, at least 1% of the
   treatment arms' developers (and at least one): **untrustworthy**, assignment logging lost
   people, so the arms are not what was randomised even when the SRM test has not caught it.
3. No primary metric could be computed for any arm: **inconclusive**.
4. Each treatment arm is then judged against the control:
   *harmful* when a primary metric got significantly worse (Holm-adjusted), a guardrail
   failed (significantly worse and beyond its margin) or, when the experiment declares an
   offline-eval guardrail, the arm's paired pass rate dropped by at least its margin with a
   95% interval excluding 0; *shippable* when a primary metric improved significantly and every
   guardrail is shown non-inferior; *unproven* otherwise.
5. Some arm is shippable: **ship** the best of them (largest improvement of the first primary
   metric, in its good direction).
6. Every arm is harmful: **don't ship**.
7. Otherwise **inconclusive**, saying what is missing for the best candidate.

Whatever the decision, an offline-eval regression of an arm's model (a paired pass@1 drop of at
least 5 points whose 95% interval excludes 0) is named in the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codex_metrics.experiments.guardrails import GuardrailOutcome
from codex_metrics.experiments.lake_stats import AssignmentCounts, EvalDelta
from codex_metrics.experiments.results import Decision, MetricAnalysis, Role, Verdict
from codex_metrics.experiments.srm import SrmLevel, SrmResult

__all__ = ["EVAL_REGRESSION_POINTS", "UNASSIGNED_EXPOSURE_SHARE", "decide", "eval_regression"]

#: A drop in paired pass rate (absolute, 0.05 = 5 points) that the verdict always names.
EVAL_REGRESSION_POINTS = 0.05
#: Unassigned treatment exposure, as a share of treatment developers, that voids the test.
UNASSIGNED_EXPOSURE_SHARE = 0.01


def _pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def _lift(m: MetricAnalysis) -> str:
    rel = m.comparison.relative if m.comparison else None
    if rel is None or not rel.ok:
        return "changed"
    return f"{_pct(rel.estimate)} (95% CI {_pct(rel.ci_low)} to {_pct(rel.ci_high)})"


def eval_regression(delta: EvalDelta | None, points: float = EVAL_REGRESSION_POINTS) -> bool:
    """Whether the paired pass rate dropped by at least ``points`` with a CI excluding 0."""
    return delta is not None and delta.delta <= -points and delta.ci_high < 0


def _eval_sentence(arm: str, delta: EvalDelta) -> str:
    return (
        f"Offline evals: {arm}'s model {delta.model_treatment} passes "
        f"{-delta.delta * 100:.1f} points fewer tasks than {delta.model_control} "
        f"({delta.pass_rate_treatment:.0%} vs {delta.pass_rate_control:.0%}, 95% CI "
        f"{delta.ci_low * 100:+.1f} to {delta.ci_high * 100:+.1f} points, {delta.tasks} tasks)."
    )


@dataclass(frozen=True)
class _ArmJudgement:
    arm: str
    state: str  # harmful, shippable, unproven, missing
    reason: str
    score: float  # improvement of the first primary metric in its good direction


def _judge(
    arm: str,
    metrics: Sequence[MetricAnalysis],
    evals: Mapping[str, EvalDelta],
    eval_guardrail: float | None,
) -> _ArmJudgement:
    primary = [m for m in metrics if m.role is Role.PRIMARY]
    guardrails = [m for m in metrics if m.role is Role.GUARDRAIL]
    usable = [m for m in primary if m.comparison is not None and m.comparison.absolute.ok]
    if not usable:
        return _ArmJudgement(arm, "missing", "No primary metric could be computed", 0.0)
    first = usable[0]
    rel = first.comparison.relative if first.comparison else None
    score = rel.estimate if rel is not None and rel.ok else 0.0
    score = score if first.higher_is_better else -score
    worse = [m for m in usable if m.worsened]
    if worse:
        m = worse[0]
        return _ArmJudgement(
            arm,
            "harmful",
            f"The primary metric {m.label} got significantly worse: {_lift(m)}, adjusted "
            f"p = {m.adjusted_p_value:.2g}",
            score,
        )
    failed = [g for g in guardrails if g.guardrail_outcome is GuardrailOutcome.FAIL]
    if failed:
        g = failed[0]
        margin = g.guardrail.margin if g.guardrail else float("nan")
        return _ArmJudgement(
            arm,
            "harmful",
            f"The guardrail {g.label} got significantly worse, {_lift(g)}, beyond its "
            f"{margin * 100:.0f}% margin",
            score,
        )
    delta = evals.get(arm)
    if eval_guardrail is not None and eval_regression(delta, eval_guardrail):
        assert delta is not None
        return _ArmJudgement(
            arm,
            "harmful",
            f"The offline-eval guardrail failed: pass rate {delta.delta * 100:+.1f} points "
            f"(95% CI {delta.ci_low * 100:+.1f} to {delta.ci_high * 100:+.1f}), beyond its "
            f"{eval_guardrail * 100:.0f}-point margin",
            score,
        )
    better = [m for m in usable if m.improved]
    unproven = [g for g in guardrails if g.guardrail_outcome is not GuardrailOutcome.PASS]
    if better and not unproven:
        m = better[0]
        held = ", ".join(g.label for g in guardrails) or "no guardrails declared"
        return _ArmJudgement(
            arm,
            "shippable",
            f"{m.label} improved {_lift(m)}, adjusted p = {m.adjusted_p_value:.2g}, and every "
            f"guardrail stayed within its margin ({held})",
            score,
        )
    if better:
        names = ", ".join(g.label for g in unproven)
        return _ArmJudgement(
            arm,
            "unproven",
            f"{better[0].label} improved {_lift(better[0])}, but the data cannot yet show that "
            f"{names} stayed within its margin; collect more developers or days",
            score,
        )
    return _ArmJudgement(
        arm,
        "unproven",
        f"No significant change in {first.label}: {_lift(first)}, adjusted p = "
        f"{first.adjusted_p_value:.2g}; the data are consistent with no effect",
        score,
    )


def _with_evals(reason: str, evals: Mapping[str, EvalDelta]) -> str:
    extra = [_eval_sentence(arm, d) for arm, d in evals.items() if eval_regression(d)]
    return " ".join([reason, *extra])


def decide(
    metrics: Sequence[MetricAnalysis],
    srm: SrmResult,
    *,
    counts: AssignmentCounts | None = None,
    evals: Mapping[str, EvalDelta] | None = None,
    eval_guardrail: float | None = None,
    treatments: Sequence[str] | None = None,
) -> Verdict:
    """Apply the rules of the module docstring.

    Args:
        metrics: every metric's analysis (adjusted), for every treatment arm.
        srm: the sample-ratio check over all arms.
        counts: assignment health (for unassigned exposure).
        evals: offline-eval deltas per treatment arm.
        eval_guardrail: the margin of a declared offline-eval guardrail (``None``: none).
        treatments: treatment arms in declaration order (default: as the metrics name them).
    """
    evals = evals or {}
    if srm.level is SrmLevel.ALERT:
        reason = (
            f"Sample-ratio mismatch (p = {srm.p_value:.2g}): the arms' developer counts "
            f"{srm.observed} differ from the intended allocation, so the comparison cannot be "
            "trusted until assignment is fixed."
        )
        return Verdict(Decision.UNTRUSTWORTHY, _with_evals(reason, evals))
    arms = list(treatments or dict.fromkeys(m.arm for m in metrics))
    if counts is not None and counts.unassigned_active:
        treated = sum(counts.developers.get(a, 0) for a in arms)
        if counts.unassigned_active >= max(1.0, UNASSIGNED_EXPOSURE_SHARE * treated):
            reason = (
                f"{counts.unassigned_active} developers were served a treatment model without an "
                f"assignment record ({counts.unassigned_active / max(treated, 1):.1%} of the "
                f"{treated:,} assigned to treatment): assignment logging lost developers, so "
                "the arms are not the randomised groups and no lift can be trusted."
            )
            return Verdict(Decision.UNTRUSTWORTHY, _with_evals(reason, evals))
    judged = [_judge(a, [m for m in metrics if m.arm == a], evals, eval_guardrail) for a in arms]
    if not judged or all(j.state == "missing" for j in judged):
        return Verdict(
            Decision.INCONCLUSIVE,
            _with_evals("No primary metric could be computed from the lake.", evals),
        )
    several = len(judged) > 1

    def named(j: _ArmJudgement) -> str:
        return f"{j.arm}: {j.reason}" if several else j.reason

    shippable = [j for j in judged if j.state == "shippable"]
    if shippable:
        best = max(shippable, key=lambda j: j.score)
        lead = ""
        if several:
            lead = f"Ship {best.arm}" + (
                f", the best of {len(shippable)} arms that qualify. "
                if len(shippable) > 1
                else ". "
            )
        return Verdict(Decision.SHIP, _with_evals(f"{lead}{named(best)}.", evals), best.arm)
    if all(j.state == "harmful" for j in judged):
        reason = "; ".join(named(j) for j in judged)
        return Verdict(Decision.DONT_SHIP, _with_evals(f"{reason}.", evals))
    candidates = [j for j in judged if j.state == "unproven"] or judged
    best = max(candidates, key=lambda j: j.score)
    others = [named(j) for j in judged if j is not best and j.state == "harmful"]
    reason = "; ".join([named(best), *others])
    return Verdict(Decision.INCONCLUSIVE, _with_evals(f"{reason}.", evals))
