"""Events roll up into usage_daily: one definition, two implementations that agree."""

from __future__ import annotations

from codex_metrics.lake import Lake
from codex_metrics.telemetry.rollup import rollup_usage_daily


def test_sql_and_vectorised_rollups_agree(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    con.execute(
        "CREATE TEMP TABLE one_day AS SELECT * FROM suggestions WHERE day = DATE '2025-03-05'"
    )
    via_sql = rollup_usage_daily(con, "one_day")
    con.register("via_sql", via_sql)
    key = "developer_id, breakdown, ide, feature, language, model"
    counters = (
        "user_initiated_interaction_count, code_generation_activity_count, code_acceptance_activity_count, "
        "loc_suggested_to_add_sum, loc_added_sum, used_chat, used_agent, used_cli"
    )
    stored = con.execute(
        f"SELECT {key}, {counters} FROM usage_daily WHERE day = DATE '2025-03-05' ORDER BY ALL"
    ).fetchall()
    computed = con.execute(f"SELECT {key}, {counters} FROM via_sql ORDER BY ALL").fetchall()
    assert len(stored) > 1000
    assert stored == computed


def test_every_breakdown_sums_to_the_user_totals(baseline_lake: Lake) -> None:
    con = baseline_lake.connect()
    mismatches = con.execute(
        """WITH per AS (SELECT day, developer_id, breakdown, sum(code_generation_activity_count) g,
                               sum(code_acceptance_activity_count) a, sum(loc_added_sum) l
                        FROM usage_daily GROUP BY ALL)
           SELECT count(*) FROM per p JOIN per t USING (day, developer_id)
           WHERE t.breakdown = 'total' AND (p.g <> t.g OR p.a <> t.a OR p.l <> t.l)"""
    ).fetchone()[0]
    assert mismatches == 0
    totals = con.execute(
        "SELECT sum(code_generation_activity_count), sum(code_acceptance_activity_count) FROM usage_daily WHERE breakdown = 'total'"
    ).fetchone()
    events = con.execute(
        "SELECT count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE accepted) FROM suggestions"
    ).fetchone()
    assert totals == events
    features = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT feature FROM usage_daily WHERE feature IS NOT NULL"
        ).fetchall()
    }
    assert features == {
        "code_completion",
        "chat_inline",
        "chat_panel_ask_mode",
        "agent_edit",
        "copilot_cli",
    }
