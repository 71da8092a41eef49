"""codex-metrics: measure AI coding assistants, from telemetry to trustworthy numbers."""

__version__ = "0.1.0"

__all__ = ["__version__"]
