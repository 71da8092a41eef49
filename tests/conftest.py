"""Shared fixtures: lakes simulated once per test session, and a clean environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own settings or secrets."""
    for name in (
        "CODEX_METRICS_LAKE",
        "CODEX_METRICS_ENGINE",
        "CODEX_METRICS_PSEUDONYM_KEY",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "GITHUB_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def simulated_lake(
    root: Path,
    scenario: str,
    *,
    developers: int,
    days: int,
    seed: int = 1,
    overrides: dict[str, object] | None = None,
) -> Lake:
    lake = Lake.open(root)
    simulate(
        lake,
        build_config(scenario, developers=developers, days=days, seed=seed, overrides=overrides),
    )
    return lake


@pytest.fixture(scope="session")
def baseline_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A baseline month: 1,500 developers over 28 days (about 1M suggestion events)."""
    return simulated_lake(
        tmp_path_factory.mktemp("baseline") / "lake", "baseline", developers=1500, days=28
    )


@pytest.fixture(scope="session")
def ab_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """An ab_test run: 2,000 developers, 7-day pre-period, 21 days of A vs B."""
    return simulated_lake(
        tmp_path_factory.mktemp("ab") / "lake", "ab_test", developers=2000, days=28, seed=3
    )


@pytest.fixture()
def tmp_lake(tmp_path: Path) -> Lake:
    return Lake.open(tmp_path / "lake")
