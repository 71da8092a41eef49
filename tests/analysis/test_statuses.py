"""Bad data is a result: too few developers, one arm only, no surveys, no overlap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codex_metrics.analysis.aipw import aipw
from codex_metrics.analysis.productivity import run_productivity
from codex_metrics.analysis.report_html import render_productivity_html, render_productivity_json
from codex_metrics.analysis.status import AnalysisStatus
from tests.conftest import simulated_lake


def _statuses(report) -> dict[tuple[str, str], AnalysisStatus]:
    return {(e.estimand, e.method): e.status for e in report.estimates if e.subgroup is None}


def _renders(report) -> None:
    doc = json.loads(render_productivity_json(report))
    for row in doc["rows"]:
        if row["estimate"] is None:
            assert row["status"] != "ok" and row["status_reason"]
    assert "<html>" in render_productivity_html(report)


def test_too_few_developers(tmp_path: Path) -> None:
    lake = simulated_lake(tmp_path / "l", "rollout", developers=6, days=14, seed=3)
    report = run_productivity(lake.snapshot(), model_rows=10_000)
    s = _statuses(report)
    assert s[("att_log_duration", "aipw")] in {
        AnalysisStatus.TOO_FEW_DEVELOPERS,
        AnalysisStatus.ONE_ARM_ONLY,
    }
    assert s[("cv_auc", "xgboost")] in {AnalysisStatus.TOO_FEW_DEVELOPERS, AnalysisStatus.NO_DATA}
    assert s[("segment_share", "kmeans_silhouette")] == AnalysisStatus.TOO_FEW_DEVELOPERS
    _renders(report)


def test_one_arm_only_and_no_surveys(tmp_path: Path) -> None:
    lake = simulated_lake(
        tmp_path / "l",
        "baseline",
        developers=300,
        days=14,
        seed=3,
        overrides={"adoption.initial_share": 0.0, "adoption.growth": 0.0},
    )
    report = run_productivity(lake.snapshot(), model_rows=10_000)
    s = _statuses(report)
    assert s[("att_log_duration", "aipw")] == AnalysisStatus.ONE_ARM_ONLY
    assert s[("att_log_duration", "naive")] == AnalysisStatus.ONE_ARM_ONLY
    assert (
        s[("satisfaction_per_latency_doubling_p50", "ols_clustered")] == AnalysisStatus.NO_SURVEYS
    )
    assert s[("att_adoption_log_duration", "callaway_santanna")] == AnalysisStatus.NO_PRE_PERIOD
    _renders(report)


def test_no_overlap_is_flagged_never_silent() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    exp = rng.uniform(1, 20, n)
    df = pd.DataFrame(
        {
            "developer_id": [f"d{i % 400}" for i in range(n)],
            "experience_years": exp,
            "editor": "vscode",
            "plan": "business",
            # Everyone under 10 years uses AI on every task, nobody above: no overlap.
            "with_ai": exp < 10,
            "task_kind": "coding",
            "minutes": np.exp(rng.normal(4, 0.5, n)),
        }
    )
    e = aipw(df, target="att")
    assert e.status in {AnalysisStatus.NO_OVERLAP, AnalysisStatus.OVERLAP_TRIMMED}
    assert e.status_reason
    if e.status == AnalysisStatus.OVERLAP_TRIMMED:
        assert e.details["trimmed_tasks"] > 0


@pytest.mark.parametrize("target", ["att", "ate"])
def test_aipw_on_a_randomised_toy_recovers_the_effect(target: str) -> None:
    rng = np.random.default_rng(1)
    n = 6000
    exp = rng.uniform(1, 20, n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(1.5 - 0.2 * exp)))  # juniors use AI more
    log_minutes = 4.5 + 0.03 * exp - 0.3 * treated + rng.normal(0, 0.5, n)
    df = pd.DataFrame(
        {
            "developer_id": [f"d{i}" for i in range(n)],
            "experience_years": exp,
            "editor": "vscode",
            "plan": "business",
            "with_ai": treated,
            "task_kind": "coding",
            "minutes": np.exp(log_minutes),
        }
    )
    e = aipw(df, target=target)  # type: ignore[arg-type]
    assert e.ci_low is not None and e.ci_high is not None
    assert e.ci_low <= -0.3 <= e.ci_high
