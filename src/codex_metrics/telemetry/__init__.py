"""Telemetry: the schema every source shares, the simulator with its truth, the daily roll-up."""

from codex_metrics.telemetry.rollup import rollup_usage_daily
from codex_metrics.telemetry.scenarios import PARAMETERS, SCENARIOS, SimulationConfig, build_config
from codex_metrics.telemetry.schema import SCHEMA_VERSION, TABLES, Column, TableSpec, table_spec
from codex_metrics.telemetry.truth import load_truth

__all__ = [
    "PARAMETERS",
    "SCENARIOS",
    "SCHEMA_VERSION",
    "TABLES",
    "Column",
    "SimulationConfig",
    "SimulationResult",
    "TableSpec",
    "build_config",
    "load_truth",
    "rollup_usage_daily",
    "simulate",
    "simulate_parallel",
    "table_spec",
]

_SIMULATOR_NAMES = ("SimulationResult", "simulate", "simulate_parallel")


def __getattr__(name: str) -> object:
    # The simulator imports the lake, which imports this package's schema: load it on first use.
    if name in _SIMULATOR_NAMES:
        from codex_metrics.telemetry import parallel, simulator

        return getattr(parallel if name == "simulate_parallel" else simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
