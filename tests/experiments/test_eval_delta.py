from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

import codex_metrics.telemetry  # noqa: F401
from codex_metrics.experiments.design import Arm, ExperimentDesign
from codex_metrics.experiments.lake_stats import eval_delta
from codex_metrics.lake import Lake
from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
from codex_metrics.lake.tables_telemetry import EVAL_RESULTS

DESIGN = ExperimentDesign(
    "exp",
    "",
    (Arm("A", "m-a", 0.5), Arm("B", "m-b", 0.5)),
    None,
    datetime(2025, 1, 1, tzinfo=UTC),
    None,
    ("acceptance_rate_by_count",),
    (),
    (),
    None,
)


def _rows(model: str, passed: np.ndarray) -> dict[str, list]:
    tasks, samples = passed.shape
    n = tasks * samples
    return {
        "eval_run_id": [f"run-{model}"] * n,
        "model_version": [model] * n,
        "suite": ["builtin"] * n,
        "task_id": [f"t{t}" for t in range(tasks) for _ in range(samples)],
        "sample_index": [s for _ in range(tasks) for s in range(samples)],
        "outcome": ["passed" if p else "failed" for p in passed.ravel()],
        "passed": passed.ravel().tolist(),
    }


def test_eval_pass_rate_delta_is_paired_by_task(tmp_path):
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(0.1, 0.9, 30)
    a = rng.random((30, 5)) < difficulty[:, None]
    b = rng.random((30, 5)) < np.clip(difficulty + 0.1, 0, 1)[:, None]
    cols = {
        k: v + w
        for (k, v), w in zip(_rows("m-a", a).items(), _rows("m-b", b).values(), strict=True)
    }
    n = len(cols["passed"])
    for c in EVAL_RESULTS.columns:
        if c.name not in cols and c.name not in BOOKKEEPING_COLUMNS:
            cols[c.name] = pa.nulls(n, c.type)
    lake = Lake.open(tmp_path / "lake")
    lake.write_table("eval_results", pa.table(cols), source="test", scope="evals")
    result = eval_delta(lake.connect(), DESIGN)
    diff = b.mean(axis=1) - a.mean(axis=1)
    assert result.tasks == 30
    assert result.delta == pytest.approx(diff.mean())
    assert result.se == pytest.approx(diff.std(ddof=1) / np.sqrt(30))
    assert result.pass_rate_control == pytest.approx(a.mean())


def test_no_eval_runs_gives_none(tmp_path):
    lake = Lake.open(tmp_path / "empty")
    assert eval_delta(lake.connect(), DESIGN) is None
