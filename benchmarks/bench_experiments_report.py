"""The default experiment report on a large synthetic lake (issue target: 1M developers and
100M suggestions in under 30 s, dominated by the lake scan, not by Python).

The lake is a real Delta lake: DuckDB generates the rows (the simulator would take far longer at
this size) and the lake's writer commits them day by day with their bookkeeping columns (source
``bench``, scope ``synthetic``): N developers with K suggestions each (K // 21 a day) over a
7-day pre-period and a 14-day experiment, developer
acceptance rates spread over 15-35%, arm B +2 points, B 15% faster. Then it times:

* the full default report (`analyze_experiment`: SRM, 7 metrics with CUPED, slices, verdict);
* the baseline: one bare DuckDB scan per metric window of the same suggestions (GROUP BY
  developer over the columns a metric reads), i.e. the lake-scan floor;
* the statistics alone (sufficient statistics → tests, for every metric and slice).

Usage: python benchmarks/bench_experiments_report.py [--developers 100000] [--per-developer 100]
       (a quick check: --developers 2000 --per-developer 42)
       (--developers 1000000 --per-developer 100 is the issue's size: ~3 GB of Parquet.)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

import codex_metrics.telemetry  # noqa: F401  (import order)
from codex_metrics.experiments import AnalysisOptions, analyze_experiment, compare_arms
from codex_metrics.experiments.design import load_experiment
from codex_metrics.experiments.lake_stats import metric_statistics
from codex_metrics.lake import Lake
from codex_metrics.lake.tables_telemetry import SUGGESTIONS

START = datetime(2025, 3, 3, tzinfo=UTC)
DAYS = 21

_EXPR = {
    "event_id": "i",
    "timestamp": "TIMESTAMPTZ '2025-03-03 00:00:00+00' + to_days({d}) + to_seconds((hash(i) % 86400)::BIGINT)",
    "developer_id": "'dev-' || lpad(dev::VARCHAR, 7, '0')",
    "org": "'org-' || (dev % 3)::VARCHAR",
    "session_id": "dev * 100 + {d}",
    "feature": "'code_completion'",
    "language": "['python','typescript','go','java'][1 + dev % 4]",
    "editor": "['vscode','jetbrains'][1 + dev % 2]",
    "model_version": "CASE WHEN b AND {d} >= 7 THEN 'model-b' ELSE 'model-a' END",
    "status": "CASE WHEN u1 < 0.008 THEN 'error' ELSE 'ok' END",
    "latency_ms": "(250 + 100 * u2) * CASE WHEN b AND {d} >= 7 THEN 0.85 ELSE 1 END",
    "chars_suggested": "40",
    "lines_suggested": "2",
    "accepted": "u1 >= 0.008 AND u3 < rate",
    "chars_accepted": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN 40 ELSE 0 END",
    "lines_accepted": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN 2 ELSE 0 END",
    "chars_persisted_30s": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN 38 END",
    "chars_persisted_2m": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN 36 END",
    "chars_persisted_5m": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN 34 END",
    "chars_persisted_10m": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN (30 + 10 * u2)::INT END",
    "edit_distance_10m": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN (20 * u2)::INT END",
    "keystrokes_saved": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN 35 ELSE 0 END",
    "post_accept_failure": "CASE WHEN u1 >= 0.008 AND u3 < rate THEN u2 < 0.05 END",
    "is_fallback": "false",
    "failure_mode": "CASE WHEN u1 < 0.008 THEN 'service_error' WHEN u3 < rate THEN 'none' ELSE 'not_accepted' END",
}


def _day_sql(day: int, developers: int, per_day: int) -> str:
    """One day's suggestions: ``per_day`` per developer, with the bookkeeping left to the writer."""
    cols = ", ".join(
        f"CAST({_EXPR[c.name].format(d=day)} AS {_sql_type(c.type)}) AS {c.name}"
        for c in SUGGESTIONS.columns
        if c.name in _EXPR
    )
    first = day * developers * per_day
    dev = f"(i - {first}) // {per_day}"
    return f"""
        SELECT {cols} FROM (
          SELECT i, {dev} AS dev, hash({dev}) % 2 = 1 AS b,
                 random() AS u1, random() AS u2, random() AS u3,
                 0.15 + 0.2 * ((hash({dev} + 7) % 1000) / 1000.0)
                   + CASE WHEN hash({dev}) % 2 = 1 AND {day} >= 7 THEN 0.02 ELSE 0 END AS rate
          FROM range({first}, {first + developers * per_day}) t(i))
    """


def build_lake(root: Path, developers: int, per_developer: int) -> Lake:
    """A Delta lake written day by day through the lake's writer (source ``bench``)."""
    lake = Lake.open(root)
    per_day = max(1, per_developer // DAYS)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    writer = lake.writer("suggestions", source="bench", scope="synthetic")
    for day in range(DAYS):
        when = START.date() + timedelta(days=day)
        for batch in con.sql(_day_sql(day, developers, per_day)).to_arrow_reader(1_000_000):
            writer.write(pa.Table.from_batches([batch]), day=when)
        writer.close_day(when)
    writer.commit()
    devs = con.sql(f"""
        SELECT 'dev-' || lpad(i::VARCHAR, 7, '0') AS developer_id, 'org-' || (i % 3)::VARCHAR AS org,
               ['junior','mid','senior'][1 + i % 3] AS experience_level,
               ['python','typescript','go','java'][1 + i % 4] AS primary_language,
               ['vscode','jetbrains'][1 + i % 2] AS editor,
               NULL::DOUBLE AS experience_years, 'business' AS plan, NULL::TIMESTAMPTZ AS adopted_at,
               NULL::TIMESTAMPTZ AS churned_at, NULL::VARCHAR AS persona,
               CASE WHEN hash(i) % 2 = 1 THEN 'B' ELSE 'A' END AS arm
        FROM range({developers}) t(i)
    """).to_arrow_table()
    lake.write_table("developers", devs.drop_columns(["arm"]), source="bench", scope="synthetic")
    lake.write_table(
        "assignments",
        pa.table(
            {
                "experiment_id": pa.array(["exp-bench"] * devs.num_rows),
                "developer_id": devs["developer_id"],
                "arm": devs["arm"],
                "assigned_at": pa.array(
                    [START.replace(day=10)] * devs.num_rows, pa.timestamp("us", tz="UTC")
                ),
            }
        ),
        source="bench",
        scope="synthetic",
    )
    ts = pa.timestamp("us", tz="UTC")
    lake.write_table(
        "experiments",
        pa.table(
            {
                "experiment_id": ["exp-bench"],
                "description": ["synthetic benchmark"],
                "arms": [
                    [
                        {"arm": "A", "model_version": "model-a", "weight": 0.5},
                        {"arm": "B", "model_version": "model-b", "weight": 0.5},
                    ]
                ],
                "pre_period_start": pa.array([START], ts),
                "start": pa.array([START.replace(day=10)], ts),
                "end": pa.array([START.replace(day=24)], ts),
                "primary_metrics": [["acceptance_rate_by_count"]],
                "guardrail_metrics": [
                    [
                        {"metric": "latency_mean_ms", "margin": 0.05},
                        {"metric": "error_rate", "margin": 0.10},
                    ]
                ],
                "secondary_metrics": [
                    [
                        "acceptance_rate_by_lines",
                        "edit_distance_mean",
                        "persistence_rate_10m",
                        "post_accept_failure_rate",
                    ]
                ],
                "planned_developers": [developers],
            }
        ),
        source="bench",
        scope="synthetic",
    )
    return lake


def _sql_type(t: pa.DataType) -> str:
    return {
        pa.int64(): "BIGINT",
        pa.int32(): "INTEGER",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.string(): "VARCHAR",
    }.get(t, "TIMESTAMPTZ")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--developers", type=int, default=100_000)
    parser.add_argument("--per-developer", type=int, default=100)
    parser.add_argument("--keep", type=Path, default=None, help="build (or reuse) the lake here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp()) if args.keep is None else args.keep
    root = tmp / "lake"
    try:
        t0 = time.perf_counter()
        if not (root / "experiments").exists():
            build_lake(root, args.developers, args.per_developer)
        lake = Lake.open(root)
        rows = args.developers * max(1, args.per_developer // DAYS) * DAYS
        print(
            f"lake: {args.developers:,} developers, {rows:,} suggestions "
            f"(built in {time.perf_counter() - t0:.1f} s)"
        )

        con = lake.connect()
        t0 = time.perf_counter()
        report = analyze_experiment(con, "exp-bench", AnalysisOptions())
        t_report = time.perf_counter() - t0
        print(f"default report: {t_report:.1f} s, verdict {report.verdict.decision.value}")

        # Baseline: bare scans, one per metric window (7 metrics x post and pre) + assignment health.
        t0 = time.perf_counter()
        for window in [("2025-03-10", "2025-03-24"), ("2025-03-03", "2025-03-10")] * 7 + [
            ("2025-03-10", "2025-03-24")
        ]:
            con.execute(
                "SELECT developer_id, count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE status = 'ok') "
                'FROM suggestions WHERE "timestamp" >= ?::TIMESTAMPTZ AND "timestamp" < ?::TIMESTAMPTZ '
                "GROUP BY 1",
                list(window),
            ).fetchall()[:1]
        t_scan = time.perf_counter() - t0
        design = load_experiment(con, "exp-bench")
        stats = [metric_statistics(con, design, m) for m in design.all_metrics]
        t0 = time.perf_counter()
        for s in stats:
            for arms in [s.overall, *s.slices.values()]:
                if "A" in arms and "B" in arms:
                    compare_arms(arms["A"], arms["B"], options=AnalysisOptions())
        t_stats = time.perf_counter() - t0
        print(
            f"baseline, 15 bare lake scans: {t_scan:.1f} s (report / scans = {t_report / t_scan:.2f})"
        )
        print(
            f"statistics on sufficient statistics (all metrics and slices): {t_stats * 1000:.1f} ms "
            f"({t_stats / t_report:.2%} of the report)"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
