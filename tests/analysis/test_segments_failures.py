"""Segments recover the personas and are stable; the failure taxonomy adds up."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.productivity import ProductivityReport
from codex_metrics.analysis.segments import developer_behaviour, segment_developers


@pytest.fixture(scope="module")
def behaviour(rollout_frames: Frames):
    return developer_behaviour(rollout_frames)


def test_segments_recover_personas_at_the_criterions_k(rollout_frames: Frames, behaviour) -> None:
    result = segment_developers(behaviour)
    assert result.k == max(result.silhouette_by_k, key=result.silhouette_by_k.get)
    persona = rollout_frames.query(
        "persona_t", "SELECT developer_id::VARCHAR AS developer_id, persona FROM developers"
    ).set_index("developer_id")["persona"]
    ari = adjusted_rand_score(persona.reindex(result.labels.index), result.labels)
    assert ari >= 0.5, (result.k, ari)
    assert sum(d["share"] for d in result.descriptions) == pytest.approx(1.0)
    assert all(d["description"].startswith("segment ") for d in result.descriptions)


def test_segments_are_stable_across_seeds_and_subsamples(behaviour) -> None:
    a = segment_developers(behaviour, seed=0)
    b = segment_developers(behaviour, seed=1)
    assert adjusted_rand_score(a.labels, b.labels) >= 0.9
    rng = np.random.default_rng(5)
    idx = behaviour.index.to_numpy()
    s1 = segment_developers(
        behaviour.loc[rng.choice(idx, int(0.8 * len(idx)), replace=False)], k=a.k
    )
    s2 = segment_developers(
        behaviour.loc[rng.choice(idx, int(0.8 * len(idx)), replace=False)], k=a.k
    )
    common = s1.labels.index.intersection(s2.labels.index)
    assert adjusted_rand_score(s1.labels[common], s2.labels[common]) >= 0.9


def test_failure_shares_add_up_and_shifts_have_intervals(
    rollout_report: ProductivityReport,
) -> None:
    shares = [e for e in rollout_report.estimates if e.estimand == "failure_share"]
    assert sum(e.estimate or 0 for e in shares) == pytest.approx(1.0)
    shifts = [e for e in rollout_report.estimates if e.estimand == "failure_share_shift"]
    assert shifts and all(e.ci_low is not None for e in shifts)
    # Sorted by size; the slower model version (x1.1 latency) gets more cancellations.
    assert abs(shifts[0].estimate) >= abs(shifts[-1].estimate)
    cancelled = next(e for e in shifts if e.subgroup.startswith("failure_mode=cancelled"))
    assert cancelled.estimate > 0
    assert rollout_report.charts["failures"]["trend"]
