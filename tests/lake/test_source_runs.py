"""Runs of sources are recorded: a running row first, the outcome last, errors in one line."""

from __future__ import annotations

from datetime import date

import pytest

from codex_metrics.lake import Lake, source_freshness, source_run


def _runs(lake: Lake) -> list[tuple]:
    con = lake.connect()
    return con.execute(
        "SELECT source, scope, status, rows_written, tables, error, finished_at IS NULL "
        "FROM source_runs ORDER BY started_at"
    ).fetchall()


def test_a_run_writes_running_then_its_outcome(tmp_lake: Lake) -> None:
    with source_run(tmp_lake, source="github", scope="acme/app", run_kind="collect",
                    command="collect github") as run:  # fmt: skip
        assert _runs(tmp_lake) == [("github", "acme/app", "running", 0, [], None, True)]
        run.wrote("repo_snapshots", 1, [date(2026, 11, 25)])
        run.requests_used = 3
    assert _runs(tmp_lake) == [("github", "acme/app", "ok", 1, ["repo_snapshots"], None, False)]
    con = tmp_lake.connect()
    assert con.execute("SELECT requests_used, data_last_day FROM source_runs").fetchall() == [
        (3, date(2026, 11, 25))
    ]


def test_a_failed_run_records_its_error_and_reraises(tmp_lake: Lake) -> None:
    with (
        pytest.raises(RuntimeError),
        source_run(
            tmp_lake, source="copilot-report", scope="org:acme", run_kind="ingest", command="ingest"
        ),
    ):
        raise RuntimeError("report.json, line 3: bad day\nmore detail")
    (row,) = _runs(tmp_lake)
    assert row[2] == "error" and row[5] == "report.json, line 3: bad day"


def test_runs_never_make_a_simulated_lake_look_real(tmp_lake: Lake) -> None:
    with source_run(tmp_lake, source="github", scope="a/b", run_kind="collect", command="c"):
        pass
    assert tmp_lake.snapshot().sources.names == ("simulator",)


def test_freshness_names_the_last_success_and_the_last_error(tmp_lake: Lake) -> None:
    with source_run(tmp_lake, source="github", scope="a/b", run_kind="collect", command="c") as r:
        r.wrote("repo_snapshots", 4)
    with (
        pytest.raises(ValueError),
        source_run(tmp_lake, source="github", scope="a/b", run_kind="collect", command="c"),
    ):
        raise ValueError("rate limited until 12:00")
    (row,) = source_freshness(tmp_lake.snapshot())
    assert (row["source"], row["scope"], row["rows_last_success"]) == ("github", "a/b", 4)
    assert row["last_error"] == "rate limited until 12:00" and row["last_success"] is not None
