"""Default scenario parameters land inside the published bands stated in docs/simulator.md."""

from __future__ import annotations

from codex_metrics.lake import Lake


def test_overall_acceptance_rate_is_in_the_published_band(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    (rate,) = con.execute(
        "SELECT avg(accepted::INT) FROM suggestions WHERE status = 'ok'"
    ).fetchone()
    assert 0.22 <= rate <= 0.37


def test_completion_latency_median_and_tail(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    p50, p99 = con.execute(
        "SELECT quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.99) FROM suggestions "
        "WHERE feature = 'code_completion'"
    ).fetchone()
    assert 150 <= p50 <= 500
    assert p99 < 3000
    chat, agent = con.execute(
        "SELECT median(latency_ms) FILTER (WHERE feature IN ('chat_panel', 'chat_inline')), "
        "median(latency_ms) FILTER (WHERE feature = 'agent_edit') FROM suggestions"
    ).fetchone()
    assert 1000 <= chat <= 10_000  # seconds, not milliseconds
    assert agent > chat


def test_weekends_are_well_below_weekdays(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    (ratio,) = con.execute(
        "SELECT avg(n) FILTER (WHERE isodow(day) >= 6) / avg(n) FILTER (WHERE isodow(day) <= 5) "
        "FROM (SELECT day, count(*) AS n FROM suggestions GROUP BY day)"
    ).fetchone()
    assert ratio < 0.3


def test_every_request_status_and_failure_mode_occurs(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    statuses = dict(
        con.execute(
            "SELECT status, count(*) / sum(count(*)) OVER () FROM suggestions GROUP BY 1"
        ).fetchall()
    )
    assert set(statuses) == {"ok", "error", "timeout", "cancelled"}
    assert statuses["ok"] > 0.95
    modes = {r[0] for r in con.execute("SELECT DISTINCT failure_mode FROM suggestions").fetchall()}
    assert modes >= {
        "none",
        "not_accepted",
        "service_error",
        "timeout",
        "cancelled",
        "compile_error",
        "runtime_error",
        "hallucinated_api",
        "heavily_edited",
    }


def test_persistence_decays_and_edit_distance_matches(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    p30, p2, p5, p10, nulls = con.execute(
        "SELECT sum(chars_persisted_30s) / sum(chars_accepted), sum(chars_persisted_2m) / sum(chars_accepted),"
        " sum(chars_persisted_5m) / sum(chars_accepted), sum(chars_persisted_10m) / sum(chars_accepted),"
        " count(*) FILTER (WHERE NOT accepted AND chars_persisted_10m IS NOT NULL)"
        " FROM suggestions"
    ).fetchone()
    assert 1 >= p30 > p2 > p5 > p10 > 0.5
    assert nulls == 0  # persistence is null when nothing was accepted
    (bad,) = con.execute(
        "SELECT count(*) FROM suggestions WHERE accepted AND (keystrokes_saved > chars_accepted "
        "OR chars_accepted > chars_suggested OR edit_distance_10m < chars_accepted - chars_persisted_10m - 1)"
    ).fetchone()
    assert bad == 0


def test_adoption_grows_and_some_developers_churn(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    first, last = con.execute(
        "SELECT count(*) FILTER (WHERE adopted_at <= (SELECT min(day) FROM suggestions)),"
        " count(*) FILTER (WHERE adopted_at IS NOT NULL) FROM developers"
    ).fetchone()
    assert last > first
    (churned,) = con.execute(
        "SELECT count(*) FROM developers WHERE churned_at IS NOT NULL"
    ).fetchone()
    assert churned > 0
    (after_churn,) = con.execute(
        "SELECT count(*) FROM suggestions s JOIN developers d USING (developer_id) WHERE s.day > d.churned_at::DATE"
    ).fetchone()
    assert after_churn == 0
