"""Helpers: simulated ab_test lakes (the lead's simulator) for end-to-end tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth

SMALL = {"ab.pre_days": 3}
# More errors per developer so the error-rate guardrail (10% margin) is powered at 400 developers.
POWERED = {"ab.pre_days": 3, "errors.error_rate": 0.08}


def make_lake(
    root: Path, *, developers: int, days: int, seed: int, overrides: dict[str, Any]
) -> Lake:
    lake = Lake.open(root)
    simulate(
        lake,
        build_config("ab_test", developers=developers, days=days, seed=seed, overrides=overrides),
    )
    return lake


@contextmanager
def simulated(root: Path, **kwargs: Any) -> Iterator[tuple[Lake, dict[str, Any]]]:
    lake = make_lake(root, **kwargs)
    try:
        yield lake, load_truth(lake)["estimands"]["ab_test"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def experiment_id(con) -> str:  # noqa: ANN001
    return con.execute("SELECT experiment_id FROM experiments").fetchall()[0][0]
