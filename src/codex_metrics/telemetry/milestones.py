"""The milestones a scenario's world contains, as annotations for charts (and alert checks).

A simulated world knows its own events: when each adoption wave starts, when the experiment
starts, the day of the bad deploy. They are returned as plain rows (``day``, ``text``, ``kind``,
``model_version``, ``experiment_id``) for ``alerts.add_annotations``, written with the
simulator's source so they show only where the simulated world is read.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from codex_metrics.telemetry.scenarios import SimulationConfig

__all__ = ["scenario_milestones"]


def scenario_milestones(
    cfg: SimulationConfig, *, experiment_id: str | None = None
) -> list[dict[str, Any]]:
    """Rollout waves, the experiment's start and the bad deploy of ``cfg``, oldest first."""
    out: list[dict[str, Any]] = []

    def add(day: date, text: str, kind: str, **extra: str | None) -> None:
        out.append({"day": day, "text": text, "kind": kind, **extra})

    if cfg.has("rollout"):
        waves = max(cfg.integer("rollout.waves"), 1)
        for w in range(waves):
            day = cfg.start + timedelta(days=(w * cfg.days) // waves)
            add(day, f"adoption wave {w + 1} of {waves} begins", "rollout")
    if cfg.has("ab"):
        day = cfg.start + timedelta(days=cfg.integer("ab.pre_days"))
        arms = [cfg.text("ab.model_a"), cfg.text("ab.model_b")]
        if cfg.has("ab3"):
            arms.append(cfg.text("ab3.model_c"))
        add(day, "experiment starts: " + " vs ".join(arms), "experiment_start",
            experiment_id=experiment_id)  # fmt: skip
    if cfg.has("regression"):
        day = cfg.start + timedelta(days=cfg.integer("regression.day"))
        model = cfg.text("regression.model") or None
        factor = cfg["regression.factor"]
        where = cfg.text("regression.slice")
        if where.startswith("model_version="):
            model = where.partition("=")[2]
        if cfg.text("regression.metric") == "acceptance":
            drop = cfg["regression.acceptance_drop"]
            text = f"deploy: acceptance -{drop * 100:g} points" + (f" on {where}" if where else "")
        elif where and not where.startswith("model_version="):
            text = f"deploy: latency x{factor:g} on {where}"
        else:
            text = f"deploy: latency x{factor:g}" + (f" on {model}" if model else "")
        add(day, text, "deploy", model_version=model)
    return sorted(out, key=lambda a: a["day"])
