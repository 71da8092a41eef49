"""The Feedback & productivity page shows the newest productivity run's causal estimates."""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from codex_metrics.dashboard import APP_FILE
from codex_metrics.lake import Lake
from codex_metrics.lake.schema import BOOKKEEPING_COLUMNS
from codex_metrics.lake.tables import TABLES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _estimates(run: str, when: datetime) -> pa.Table:
    base = {"analysis_run_id": run, "analysis": "causal_effect", "subgroup": None,
            "ci_level": 0.95, "std_error": 0.05, "p_value": 0.001, "n_units": 300,
            "status_reason": None, "truth": None, "details": None, "lake_snapshot": "{}",
            "snapshot_hash": "h", "computed_at": when}  # fmt: skip
    rows = [
        {**base, "estimand": "att_log_duration", "method": "aipw", "estimate": -0.30,
         "ci_low": -0.40, "ci_high": -0.20, "unit": "log ratio", "status": "ok"},
        {**base, "estimand": "att_adoption_log_duration", "method": "callaway_santanna",
         "estimate": 0.02, "ci_low": -0.05, "ci_high": 0.09, "unit": "log ratio", "status": "ok"},
        {**base, "estimand": "att_minutes", "method": "aipw", "estimate": -12.0,
         "ci_low": -15.0, "ci_high": -9.0, "unit": "minutes", "status": "ok"},
        {**base, "estimand": "ate_log_duration", "method": "aipw", "estimate": -0.5,
         "ci_low": -0.7, "ci_high": -0.3, "unit": "log ratio", "status": "not_identified",
         "status_reason": "read the ATT"},
    ]  # fmt: skip
    spec = TABLES["analysis_results"]
    fields = [pa.field(c.name, c.type) for c in spec.columns if c.name not in BOOKKEEPING_COLUMNS]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def test_causal_estimates_of_the_newest_run(
    dash_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "lake"
    shutil.copytree(dash_lake.root, root)
    lake = Lake.open(root)
    old = _estimates("productivity-old", datetime(2026, 1, 1, tzinfo=UTC))
    lake.write_table("analysis_results", old, source="analysis", scope="productivity-old")
    new = _estimates("productivity-new", datetime(2026, 2, 1, tzinfo=UTC))
    lake.write_table("analysis_results", new, source="analysis", scope="productivity-new")
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(root))
    at = AppTest.from_file(str(APP_FILE), default_timeout=120).run()
    at.switch_page("app_pages/feedback.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "estimand" in d.value.columns)
    assert set(table["analysis_run_id"]) == {"productivity-new"}  # the newest run only
    assert len(table) == 4
    (forest,) = [
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "Effect of AI" in json.loads(c.proto.spec)["layout"]["title"]["text"]
    ]
    points = {
        y: x
        for trace in forest["data"]
        for x, y in zip(trace.get("x", []), trace.get("y", []), strict=False)
        if x is not None
    }
    # usable log-ratio rows only, drawn as the change in task time
    assert set(points) == {
        "att_log_duration · aipw",
        "att_adoption_log_duration · callaway_santanna",
    }
    assert math.isclose(points["att_log_duration · aipw"], math.expm1(-0.30), rel_tol=1e-9)
