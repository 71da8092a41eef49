"""A small demo world and an evaluation run, shared by the dashboard tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_metrics.lake import Lake


@pytest.fixture(scope="session")
def dash_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    from codex_metrics.dashboard.demo import build_demo

    # The demo world, small: rollout waves, an A/B test, a regression, surveys, annotations.
    root = tmp_path_factory.mktemp("dash") / "lake"
    build_demo(root, developers=300, days=42, seed=1, evals=False)
    lake = Lake.open(root)
    from codex_metrics.evaluation import Sample, evaluate, load_tasks, publish

    tasks = load_tasks("builtin")
    samples = [Sample(t.task_id, 0, t.canonical_solution) for t in tasks]
    samples += [Sample(t.task_id, 1, "    return None\n") for t in tasks]
    publish(evaluate(samples, tasks, model_version="model-a", run_id="run-a", workers=2), lake.root)
    return lake


@pytest.fixture()
def lake_env(dash_lake: Lake) -> Iterator[Path]:
    old = os.environ.get("CODEX_METRICS_LAKE")
    os.environ["CODEX_METRICS_LAKE"] = str(dash_lake.root)
    yield dash_lake.root
    if old is None:
        os.environ.pop("CODEX_METRICS_LAKE", None)
    else:
        os.environ["CODEX_METRICS_LAKE"] = old
