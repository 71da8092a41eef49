from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_metrics.errors import ParameterError
from codex_metrics.experiments.multiple_testing import benjamini_hochberg, holm
from codex_metrics.experiments.srm import SrmLevel, srm_by_slice, srm_check
from codex_metrics.experiments.status import Status


def test_srm_matches_gbstats_check_srm_golden_values():
    # gbstats 0.8.0: check_srm([8, 8], [.5, .5]) = 1.0; check_srm([1000, 1100], [.5, .5]) = 0.0291
    assert srm_check({"a": 8, "b": 8}, {"a": 0.5, "b": 0.5}).p_value == pytest.approx(1.0)
    result = srm_check({"a": 1000, "b": 1100}, {"a": 0.5, "b": 0.5})
    assert result.p_value == pytest.approx(0.0291, abs=5e-5)
    assert result.level is SrmLevel.OK


def test_srm_levels_and_unequal_weights():
    assert srm_check({"a": 1000, "b": 1130}, {"a": 1, "b": 1}).level is SrmLevel.WARN
    assert srm_check({"a": 1000, "b": 1200}, {"a": 1, "b": 1}).level is SrmLevel.ALERT
    # 30/70 allocation observed as intended: no alarm.
    assert srm_check({"a": 300, "b": 700}, {"a": 0.3, "b": 0.7}).p_value == pytest.approx(1.0)


def test_srm_bad_input_and_empty_data():
    with pytest.raises(ParameterError):
        srm_check({"a": 1}, {"a": 0.0, "b": 0.0})
    with pytest.raises(ParameterError):
        srm_check({"c": 3}, {"a": 0.5, "b": 0.5})
    assert srm_check({}, {"a": 0.5, "b": 0.5}).status is Status.EMPTY_ARM


def test_srm_by_slice_uses_bh_adjusted_p():
    counts = {"python": {"a": 500, "b": 500}, "go": {"a": 100, "b": 160}}
    out = srm_by_slice(counts, {"a": 0.5, "b": 0.5})
    raw_go = srm_check(counts["go"], {"a": 0.5, "b": 0.5}).p_value
    assert out["go"].p_value == pytest.approx(2 * raw_go)
    assert out["go"].level is SrmLevel.ALERT and out["python"].level is SrmLevel.OK


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30))
def test_holm_and_bh_agree_with_statsmodels(ps):
    from statsmodels.stats.multitest import multipletests

    assert holm(ps) == pytest.approx(multipletests(ps, method="holm")[1], abs=1e-12)
    assert benjamini_hochberg(ps) == pytest.approx(multipletests(ps, method="fdr_bh")[1], abs=1e-12)


def test_nan_p_values_are_kept_out_of_the_family():
    got = holm([0.01, float("nan"), 0.04])
    assert np.isnan(got[1]) and got[0] == pytest.approx(0.02) and got[2] == pytest.approx(0.04)
    assert np.isnan(benjamini_hochberg([float("nan")])).all()
