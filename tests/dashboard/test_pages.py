"""Every page renders headless (streamlit.testing) and shows the library's own numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from codex_metrics.dashboard import APP_FILE
from codex_metrics.dashboard.app import PAGES
from codex_metrics.lake import Lake
from codex_metrics.metrics import compute_metric

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _app(**params: str) -> AppTest:
    at = AppTest.from_file(str(APP_FILE), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def _window(lake: Lake) -> tuple[date, date]:
    days = sorted(lake.snapshot().days("suggestions"))
    return max(days[0], date.fromordinal(days[-1].toordinal() - 27)), days[-1]


def _whole(lake: Lake, name: str, since: date, until: date, **kw: object) -> float:
    rows = compute_metric(name, lake.snapshot(), grain="all", since=since, until=until, **kw)
    (value,) = [r["value"] for r in rows.records()]
    return float(value)


def test_overview_kpis_equal_the_library(lake_env: Path, dash_lake: Lake) -> None:
    at = _app()
    assert not at.exception, [e.value for e in at.exception]
    since, until = _window(dash_lake)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Active users"] == f"{_whole(dash_lake, 'active_users', since, until):,.0f}"
    rate = _whole(dash_lake, "usage_completion_acceptance_rate_by_count", since, until)
    assert shown["Acceptance"] == f"{rate:.1%}"
    p90 = _whole(
        dash_lake, "latency_p90_ms", since, until, filters={"feature": ["code_completion"]}
    )
    # P90 comes from the daily latency histograms: within the grid's 1% of the exact value.
    assert abs(float(shown["P90 latency"].removesuffix(" ms").replace(",", "")) / p90 - 1) <= 0.01
    assert shown["Satisfaction"] == f"{_whole(dash_lake, 'satisfaction_mean', since, until):,.2f}"
    # The eval ran outside the simulated window: the newest run's pass@1 is shown instead.
    from codex_metrics.evaluation import runs_from_lake

    (run,) = runs_from_lake(dash_lake.root)
    assert shown["Eval pass@1"] == f"{run['pass_rate']:.1%}" == "50.0%"
    assert len(at.get("plotly_chart")) >= 2


@pytest.mark.parametrize("page", [name for _, name, _ in PAGES])
def test_every_page_renders_without_an_exception(lake_env: Path, page: str) -> None:
    at = _app()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value != "codex-metrics"


def test_a_filter_changes_the_numbers_to_the_filtered_ones(lake_env: Path, dash_lake: Lake) -> None:
    at = _app(language="python")
    since, until = _window(dash_lake)
    rate = _whole(dash_lake, "usage_completion_acceptance_rate_by_count", since, until,
                  filters={"language": ["python"]})  # fmt: skip
    assert {m.label: m.value for m in at.metric}["Acceptance"] == f"{rate:.1%}"
    assert at.query_params["language"] in ("python", ["python"])  # kept in the URL


def test_experiments_table_equals_the_report(lake_env: Path, dash_lake: Lake) -> None:
    from codex_metrics.experiments import analyze_experiment, report_to_dict

    at = _app()
    at.switch_page("app_pages/experiments.py").run()
    table = at.dataframe[0].value
    report = report_to_dict(analyze_experiment(dash_lake.connect(), "exp-model-b-vs-a"))
    assert list(table["metric"]) == [m["metric"] for m in report["metrics"]]
    for row, m in zip(table.to_dict("records"), report["metrics"], strict=True):
        rel = (m.get("comparison") or {}).get("relative") or {}
        assert row["value"] == pytest.approx(rel.get("estimate"), nan_ok=True)
    decision = str(report["verdict"]["decision"]).upper()
    assert any(decision in b.value for b in [*at.success, *at.warning, *at.error])


def test_quality_shows_the_eval_run(lake_env: Path) -> None:
    at = _app()
    at.switch_page("app_pages/quality.py").run()
    assert not at.exception
    assert any("pass@1 per run" in s.value for s in at.subheader)


def test_an_empty_lake_shows_the_commands_that_fill_it(tmp_path: Path, monkeypatch) -> None:
    Lake.open(tmp_path / "empty")
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(tmp_path / "empty"))
    at = _app()
    assert not at.exception
    assert any("codex-metrics dashboard --demo" in c.value for c in at.code)
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(tmp_path / "nothing-here"))
    at = _app()
    assert any("codex-metrics ingest" in c.value for c in at.code)


COPILOT = (
    Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "copilot-metrics" / "new-api"
)


@pytest.fixture(scope="module")
def copilot_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Real recorded Copilot reports only: no simulated world, so real-data rules apply."""
    from functools import partial

    from codex_metrics.privacy import pseudonymise
    from codex_metrics.telemetry.ingest import IngestOptions, ingest_file

    lake = Lake.open(tmp_path_factory.mktemp("copilot") / "lake")
    options = IngestOptions(pseudonymise=partial(pseudonymise, key="test-key"))
    for name in ("organization-28-day-report.json", "organization-users-28-day-report.json"):
        ingest_file(lake, COPILOT / name, "copilot-report", options)
    return lake


def test_real_copilot_data_only(copilot_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(copilot_lake.root))
    at = _app()
    assert not at.exception, [e.value for e in at.exception]
    days = sorted(copilot_lake.snapshot().days("usage_daily"))
    since, until = max(days[0], date.fromordinal(days[-1].toordinal() - 27)), days[-1]
    shown = {m.label: m.value for m in at.metric}
    kw = {"min_group_size": 5}  # real data: the configured minimum group size applies
    users = _whole(copilot_lake, "active_users", since, until, **kw)
    assert shown["Active users"] == f"{users:,.0f}"
    rate = _whole(copilot_lake, "usage_completion_acceptance_rate_by_count", since, until, **kw)
    assert shown["Acceptance"] == f"{rate:.1%}"
    assert shown["P90 latency"] == "n/a"  # Copilot reports carry no latency
    for page in [name for _, name, _ in PAGES]:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])


def _completions_from_the_raw_report(login: str) -> tuple[int, int]:
    """(generated, accepted) code completions of ``login``, read straight from the fixture."""
    import json

    report = json.loads((COPILOT / "organization-users-28-day-report.json").read_text())
    shown = accepted = 0
    for day in report["day_totals"]:
        if day["user_login"] != login:
            continue
        for f in day.get("totals_by_feature", []):
            if f["feature"] == "code_completion":
                shown += f["code_generation_activity_count"] or 0
                accepted += f["code_acceptance_activity_count"] or 0
    return shown, accepted


def test_per_user_view_only_for_allowed_viewers_and_opted_in_logins(
    copilot_lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(copilot_lake.root))
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "codex-metrics.toml"
    base = '[privacy]\npseudonym_key = "test-key"\nper_user_opt_in = ["defunkt"]\n'
    config.write_text(base)
    at = _app()
    at.switch_page("app_pages/teams.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.dataframe  # nobody is on the viewer allow-list
    assert any("per_user_viewers" in i.value for i in at.info)
    config.write_text(base + '[dashboard]\nper_user_viewers = ["localhost"]\n')
    at = _app()
    at.switch_page("app_pages/teams.py").run()
    assert not at.exception, [e.value for e in at.exception]
    (frame,) = at.dataframe
    rows = frame.value.to_dict("records")
    assert [r["login"] for r in rows] == ["defunkt"]  # only the opted-in login
    shown, accepted = _completions_from_the_raw_report("defunkt")
    assert shown > 0
    assert rows[0]["completions_shown"] == shown
    assert rows[0]["completions_accepted"] == accepted


def test_feedback_shows_the_demo_worlds_productivity_run(lake_env: Path, dash_lake: Lake) -> None:
    from codex_metrics.analysis import latest_results

    at = _app()
    at.switch_page("app_pages/feedback.py").run()
    assert not at.exception, [e.value for e in at.exception]
    published = [
        r for r in latest_results(dash_lake.snapshot()) if r["analysis"] == "causal_effect"
    ]
    assert published
    table = next(d.value for d in at.dataframe if "estimand" in d.value.columns)
    assert len(table) == len(published)
    assert set(table["estimand"]) == {r["estimand"] for r in published}
