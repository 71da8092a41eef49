"""Telemetry: the simulator with its truth, and the daily roll-up of event-grain tables.

The tables themselves are declared by the lake (:mod:`codex_metrics.lake.tables`).
"""

from codex_metrics.telemetry.parallel import simulate_parallel
from codex_metrics.telemetry.rollup import rollup_usage_daily
from codex_metrics.telemetry.scenarios import PARAMETERS, SCENARIOS, SimulationConfig, build_config
from codex_metrics.telemetry.simulator import SimulationResult, simulate
from codex_metrics.telemetry.truth import load_truth

__all__ = [
    "PARAMETERS",
    "SCENARIOS",
    "SimulationConfig",
    "SimulationResult",
    "build_config",
    "load_truth",
    "rollup_usage_daily",
    "simulate",
    "simulate_parallel",
]
