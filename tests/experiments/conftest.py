from __future__ import annotations

import pytest

from codex_metrics.experiments.sufficient_stats import RatioStats

from .simulated import POWERED, make_lake

# shared/notes/experiments.md §1.4: (suggestions shown, suggestions accepted) per developer.
TOY_A = [(120, 30), (80, 18), (200, 41), (50, 15), (150, 33), (90, 20), (60, 11), (110, 29)]
TOY_B = [(100, 31), (130, 40), (70, 19), (160, 52), (90, 24), (140, 45), (60, 17), (120, 33)]


def toy_stats(rows: list[tuple[int, int]]) -> RatioStats:
    return RatioStats.from_arrays([acc for _, acc in rows], [shown for shown, _ in rows])


@pytest.fixture
def toy_arms() -> tuple[RatioStats, RatioStats]:
    return toy_stats(TOY_A), toy_stats(TOY_B)


@pytest.fixture(scope="session")
def ab_lake(tmp_path_factory):
    """400 developers, 14 days, model B better and faster, and its truth (shared by modules).

    POWERED: enough errors per developer that the error-rate guardrail (10% margin) can be
    shown to hold at 400 developers, so a SHIP verdict is the design's, not a lucky seed's.
    """
    from codex_metrics.telemetry.truth import load_truth

    lake = make_lake(
        tmp_path_factory.mktemp("ab") / "lake", developers=400, days=14, seed=1, overrides=POWERED
    )
    return lake, load_truth(lake)["estimands"]["ab_test"]
