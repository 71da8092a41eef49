"""Helpers: a small lake written from hand-typed events, with one experiment and its assignments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

import codex_metrics.telemetry  # noqa: F401  (import order: the lake package first)
from codex_metrics.lake import Lake

START = datetime(2025, 3, 10, tzinfo=UTC)
END = datetime(2025, 3, 17, tzinfo=UTC)
TS = pa.timestamp("us", tz="UTC")


def suggestion_rows(
    events: dict[str, list[float]],
    *,
    feature: str = "code_completion",
    model: str = "model-a",
    first_id: int = 0,
    start: datetime = START,
) -> dict[str, list]:
    """Suggestion rows: one per latency, spread over the days after ``start``."""
    cols: dict[str, list] = {k: [] for k in ("developer_id", "latency_ms", "timestamp", "day")}
    for dev, values in events.items():
        for i, v in enumerate(values):
            ts = start + timedelta(days=i % 5, hours=9, minutes=i)
            cols["developer_id"].append(dev)
            cols["latency_ms"].append(float(v))
            cols["timestamp"].append(ts)
            cols["day"].append(ts.date())
    n = len(cols["latency_ms"])
    return cols | {
        "event_id": list(range(first_id, first_id + n)),
        "org": ["org-000"] * n,
        "session_id": [1] * n,
        "feature": [feature] * n,
        "language": ["python"] * n,
        "editor": ["vscode"] * n,
        "model_version": [model] * n,
        "status": ["ok"] * n,
        "chars_suggested": [40] * n,
        "lines_suggested": [2] * n,
        "accepted": [False] * n,
        "chars_accepted": [0] * n,
        "lines_accepted": [0] * n,
        "keystrokes_saved": [0] * n,
        "is_fallback": [False] * n,
        "failure_mode": ["not_accepted"] * n,
    }


def write_suggestions(lake: Lake, parts: list[dict[str, list]]) -> None:
    cols = {k: sum((p[k] for p in parts), []) for k in parts[0]}
    cols["timestamp"] = pa.array(cols["timestamp"], TS)
    lake.write_table("suggestions", pa.table(cols), source="test", scope="events")


def write_experiment(
    lake: Lake,
    arms: dict[str, list[str]],
    *,
    experiment_id: str = "exp-golden",
    models: dict[str, str] | None = None,
    primary: tuple[str, ...] = ("latency_p90_ms",),
    guardrails: tuple[tuple[str, float], ...] = (),
    filters: tuple[tuple[str, str, str], ...] = (),
    planned: int | None = None,
) -> None:
    models = models or {arm: f"model-{arm.lower()}" for arm in arms}
    weight = 1 / len(arms)
    lake.write_table(
        "experiments",
        pa.table(
            {
                "experiment_id": [experiment_id],
                "description": ["hand-typed"],
                "arms": [[{"arm": a, "model_version": models[a], "weight": weight} for a in arms]],
                "pre_period_start": pa.array([None], TS),
                "start": pa.array([START], TS),
                "end": pa.array([END], TS),
                "primary_metrics": [list(primary)],
                "guardrail_metrics": [[{"metric": m, "margin": g} for m, g in guardrails]],
                "secondary_metrics": [[]],
                "planned_developers": [planned],
                "metric_filters": [
                    [{"metric": m, "dimension": d, "value": v} for m, d, v in filters]
                ],
            }
        ),
        source="test",
        scope="experiment",
    )
    devs = [(d, a) for a, ds in arms.items() for d in ds]
    lake.write_table(
        "assignments",
        pa.table(
            {
                "experiment_id": [experiment_id] * len(devs),
                "developer_id": [d for d, _ in devs],
                "arm": [a for _, a in devs],
                "assigned_at": pa.array([START] * len(devs), TS),
            }
        ),
        source="test",
        scope="experiment",
    )


def open_lake(root: Path) -> Lake:
    return Lake.open(root)
