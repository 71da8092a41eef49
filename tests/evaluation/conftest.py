"""Fixtures of the evaluation tests: task suites, recorded samples, sandbox availability."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from codex_metrics.evaluation.tasks import TaskSet, load_builtin, load_humaneval

SHARED = Path(__file__).resolve().parents[3] / "shared" / "humaneval-samples"
WIZARD_RESULTS = SHARED / "nlpxucan__WizardLM" / "T0.0_N1_reproduce.results.59.8.jsonl"
CODET_SAMPLES = (
    SHARED
    / "microsoft__CodeT"
    / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"
)
CODET_PROMPTS = SHARED / "microsoft__CodeT" / "HumanEval_for_code_generation.jsonl"

# Locally a missing bwrap or shared/ skips these tests; in CI (CI=true) they run and fail
# loudly instead, because CI installs bwrap and has shared/ beside the clone.
IN_CI = bool(os.environ.get("CI"))
HAS_BWRAP = shutil.which("bwrap") is not None
requires_bwrap = pytest.mark.skipif(
    not HAS_BWRAP and not IN_CI,
    reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap",
)
requires_shared = pytest.mark.skipif(
    not WIZARD_RESULTS.exists() and not IN_CI, reason=f"recorded samples not found under {SHARED}"
)


@pytest.fixture(scope="session")
def humaneval() -> TaskSet:
    return load_humaneval()


@pytest.fixture(scope="session")
def builtin() -> TaskSet:
    return load_builtin()
