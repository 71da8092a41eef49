"""Simulated worlds for the productivity analysis, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.productivity import ProductivityReport, run_productivity
from codex_metrics.lake import Lake
from tests.conftest import simulated_lake

#: Causal worlds: 8 weeks (room for the 4-week placebo), few suggestions (tasks are what count).
CAUSAL_DEVELOPERS = 1500
CAUSAL_DAYS = 56
CAUSAL_OVERRIDES = {"activity.events_per_day": 1.0}


def causal_lake(root: Path, seed: int) -> Lake:
    return simulated_lake(
        root,
        "rollout",
        developers=CAUSAL_DEVELOPERS,
        days=CAUSAL_DAYS,
        seed=seed,
        overrides=CAUSAL_OVERRIDES,
    )


@pytest.fixture(scope="session")
def rollout_world(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A rollout month at full activity: 1,000 developers, 28 days (about 370k suggestions)."""
    return simulated_lake(
        tmp_path_factory.mktemp("rollout") / "lake", "rollout", developers=1000, days=28, seed=2
    )


@pytest.fixture(scope="session")
def rollout_frames(rollout_world: Lake) -> Frames:
    return Frames(rollout_world.snapshot())


@pytest.fixture(scope="session")
def rollout_report(rollout_world: Lake) -> ProductivityReport:
    return run_productivity(rollout_world.snapshot(), model_rows=150_000, folds=5)


@pytest.fixture(scope="session", params=[11, 12, 13])
def causal_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    return causal_lake(tmp_path_factory.mktemp(f"causal{request.param}") / "lake", request.param)
