"""Simulated worlds for the alerts tests, one per (kind, seed), simulated once per session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from codex_metrics.alerts import AlertConfig, detect_alerts
from codex_metrics.alerts.detect import Alert
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate

#: The simulator's holidays, as a team would configure them.
HOLIDAYS = ("01-01", "05-01", "07-04", "12-24", "12-25", "12-26", "12-31")
DEVELOPERS = 500
START = date(2025, 3, 3)  # a Monday
REGRESSION_DAYS = 40
REGRESSION_DAY = 36  # 2025-04-08, a Tuesday: 28 days of baseline before it
#: 90 days of baseline spanning 20 December to 5 January.
BASELINE_START = date(2024, 11, 4)
BASELINE_DAYS = 90

WORLDS = {
    # the +20% P90 latency shift in editor=jetbrains (a quarter of the traffic)
    "latency": {
        "regression.metric": "latency",
        "regression.slice": "editor=jetbrains",
        "regression.factor": 1.2,
        "regression.day": REGRESSION_DAY,
    },
    # a 2-point completion-acceptance drop overall
    "acceptance": {
        "regression.metric": "acceptance",
        "regression.acceptance_drop": 0.02,
        "regression.day": REGRESSION_DAY,
    },
}


def alert_config(**overrides: object) -> AlertConfig:
    """The defaults plus the simulator's holidays."""
    return AlertConfig(holidays=HOLIDAYS, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], Lake]:
    """``world(kind, seed)``: a lake of ``kind`` (latency, acceptance or baseline), cached."""
    cache: dict[tuple[str, int], Lake] = {}

    def get(kind: str, seed: int) -> Lake:
        if (kind, seed) not in cache:
            lake = Lake.open(tmp_path_factory.mktemp(f"{kind}-{seed}") / "lake")
            if kind == "baseline":
                cfg = build_config("baseline", developers=DEVELOPERS, days=BASELINE_DAYS,
                                   seed=seed, start=BASELINE_START)  # fmt: skip
            else:
                cfg = build_config("latency_regression", developers=DEVELOPERS,
                                   days=REGRESSION_DAYS, seed=seed, start=START,
                                   overrides=WORLDS[kind])  # fmt: skip
            simulate(lake, cfg)
            cache[(kind, seed)] = lake
        return cache[(kind, seed)]

    return get


@pytest.fixture(scope="session")
def detections(world: Callable[[str, int], Lake]) -> Callable[[str, int], list[Alert]]:
    """``detections(kind, seed)``: every alert of the world, testing every day (cached)."""
    cache: dict[tuple[str, int], list[Alert]] = {}

    def get(kind: str, seed: int) -> list[Alert]:
        if (kind, seed) not in cache:
            lake = world(kind, seed)
            first = BASELINE_START if kind == "baseline" else START
            cache[(kind, seed)] = detect_alerts(
                lake.snapshot(), alert_config(), since=first + timedelta(days=1)
            )
        return cache[(kind, seed)]

    return get


@pytest.fixture(scope="session")
def small_regression(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small world where latency of every model goes x2.5 on day 30 (an alert fires)."""
    lake = Lake.open(tmp_path_factory.mktemp("small") / "lake")
    simulate(lake, build_config("latency_regression", developers=150, days=33, seed=5,
                                overrides={"regression.day": 30}))  # fmt: skip
    return lake.root


@pytest.fixture()
def small_lake(small_regression: Path, tmp_path: Path) -> Lake:
    """A private copy of the small world (tests write alert_events into it)."""
    shutil.copytree(small_regression, tmp_path / "lake")
    return Lake.open(tmp_path / "lake", create=False)
