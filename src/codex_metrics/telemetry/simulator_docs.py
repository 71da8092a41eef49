"""Generate docs/simulator.md from the simulator's declarations."""

from __future__ import annotations

from codex_metrics.lake.schema_docs import GENERATED
from codex_metrics.telemetry.personas import PERSONAS
from codex_metrics.telemetry.scenarios import DEFAULT_START, PARAMETERS, SCENARIOS

__all__ = ["render_simulator_markdown"]


def render_simulator_markdown() -> str:
    """The simulator's scenarios, personas, parameters and calibration bands as Markdown."""
    out = [
        GENERATED,
        "",
        "# Simulator",
        "",
        f"Deterministic for (scenario, parameters, developers, days, seed, start); default start "
        f"{DEFAULT_START.isoformat()} (a Monday), never today.",
        "",
        "## Scenarios",
        "",
    ]
    out += [f"- `{s.name}`: {s.doc}" for s in SCENARIOS.values()]
    out += [
        "",
        "## Personas",
        "",
        "| persona | share | activity | active prob. | acceptance log-odds | chat share | AI task share |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    out += [
        f"| {p.name} | {p.share:.0%} | {p.activity:g} | {p.active_prob:g} | {p.accept_logit:+g} | {p.chat_share:g} | {p.ai_task_share:g} |"
        for p in PERSONAS
    ]
    out += [
        "",
        "## Calibration bands (checked by tests/telemetry/test_calibration.py)",
        "",
        "- Overall acceptance rate by count: 22%-37% (Meta CodeCompose 22%, Ziegler et al. 27%, Google 25-37%).",
        "- Code-completion latency: median 150-500 ms, P99 under 3 s; chat and agent latencies in seconds.",
        "- Weekend activity well below weekdays (under 30% of a weekday).",
        "- Tasks: AI speed-up about 26% at mean experience (RCTs: 21-56%), larger for juniors.",
        "",
        "## Parameters (`--set key=value` or a TOML file)",
        "",
        "| key | default | range | meaning | scenario |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, spec in PARAMETERS.items():
        rng = "" if spec.low is None else f"[{spec.low:g}, {spec.high:g}]"
        group = key.split(".", 1)[0]
        where = next(
            (
                s.name
                for s in SCENARIOS.values()
                if group in s.groups
                and s.name != "baseline"
                and group not in SCENARIOS["baseline"].groups
            ),
            "all",
        )
        out.append(f"| `{key}` | `{spec.default}` | {rng} | {spec.doc} | {where} |")
    return "\n".join(out) + "\n"
