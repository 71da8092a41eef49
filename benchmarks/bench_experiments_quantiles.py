"""The default experiment report with clustered quantile metrics, against the same report without.

Claim (issue 13): with P90 completion latency as a guardrail, the default report on 1M developers
and 100M suggestions stays under 30 s on this machine. The baseline, measured in the same run on
the same lake, is the same report without the quantile metric; the script also prints the share
of the report spent in bare lake scans (the queries' floor: one grouped scan per developer for
the ratio metrics, and the two quantile passes' scans).

The lake is a real Delta lake (written day by day through the lake's writer) with N developers
and K suggestions each over a 7-day pre-period and a 14-day experiment: per-developer latency
factors, arm B 15% faster, acceptance 15-35% with B +2 points, every request a code completion.

Usage: python benchmarks/bench_experiments_quantiles.py [--developers 20000] [--per-developer 50]
       (--developers 1000000 --per-developer 100 is the issue's size: hours to build, ~3 GB.)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

import codex_metrics.telemetry  # noqa: F401  (import order: the lake package first)
from codex_metrics.experiments import AnalysisOptions, analyze_experiment
from codex_metrics.lake import Lake
from codex_metrics.lake.tables_telemetry import SUGGESTIONS

START = datetime(2025, 3, 3, tzinfo=UTC)
EXPERIMENT_START = START + timedelta(days=7)
DAYS = 21
TS = pa.timestamp("us", tz="UTC")

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
    "latency_ms": "round(260 * (0.8 + 0.4 * ((hash(dev + 3) % 1000) / 1000.0)) * exp(0.5 * sqrt(-2 * ln(u2)) * cos(6.2831853 * u4)) * CASE WHEN b AND {d} >= 7 THEN 0.85 ELSE 1 END, 1)",
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
_TYPES = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def _day_sql(day: int, developers: int, per_day: int) -> str:
    cols = ", ".join(
        f"CAST({_EXPR[c.name].format(d=day)} AS {_TYPES.get(c.type, 'TIMESTAMPTZ' if c.name == 'timestamp' else 'VARCHAR')}) AS {c.name}"
        for c in SUGGESTIONS.columns
        if c.name in _EXPR
    )
    first = day * developers * per_day
    return f"""
        SELECT {cols} FROM (
          SELECT i, (i - {first}) // {per_day} AS dev, hash((i - {first}) // {per_day}) % 2 = 1 AS b,
                 random() AS u1, greatest(random(), 1e-12) AS u2, random() AS u3, random() AS u4,
                 0.15 + 0.2 * ((hash((i - {first}) // {per_day} + 7) % 1000) / 1000.0)
                   + CASE WHEN hash((i - {first}) // {per_day}) % 2 = 1 AND {day} >= 7 THEN 0.02 ELSE 0 END AS rate
          FROM range({first}, {first + developers * per_day}) t(i))
    """


def build_lake(root: Path, developers: int, per_developer: int) -> Lake:
    lake = Lake.open(root)
    per_day = max(1, per_developer // DAYS)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    writer = lake.writer("suggestions", source="bench", scope="synthetic")
    for day in range(DAYS):
        for batch in con.sql(_day_sql(day, developers, per_day)).to_arrow_reader(1_000_000):
            writer.write(pa.Table.from_batches([batch]), day=date(2025, 3, 3) + timedelta(days=day))
        writer.close_day(date(2025, 3, 3) + timedelta(days=day))
    writer.commit()
    devs = con.sql(f"""
        SELECT 'dev-' || lpad(i::VARCHAR, 7, '0') AS developer_id, 'org-' || (i % 3)::VARCHAR AS org,
               ['junior','mid','senior'][1 + i % 3] AS experience_level,
               ['python','typescript','go','java'][1 + i % 4] AS primary_language,
               ['vscode','jetbrains'][1 + i % 2] AS editor,
               CASE WHEN hash(i) % 2 = 1 THEN 'B' ELSE 'A' END AS arm
        FROM range({developers}) t(i)
    """).to_arrow_table()
    lake.write_table("developers", devs.drop_columns(["arm"]), source="bench", scope="synthetic")
    n = devs.num_rows
    lake.write_table(
        "assignments",
        pa.table(
            {
                "experiment_id": pa.array(["exp-bench"] * n),
                "developer_id": devs["developer_id"],
                "arm": devs["arm"],
                "assigned_at": pa.array([EXPERIMENT_START] * n, TS),
            }
        ),
        source="bench",
        scope="synthetic",
    )
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
                "pre_period_start": pa.array([START], TS),
                "start": pa.array([EXPERIMENT_START], TS),
                "end": pa.array([START + timedelta(days=DAYS)], TS),
                "primary_metrics": [["acceptance_rate_by_count"]],
                "guardrail_metrics": [
                    [
                        {"metric": "latency_mean_ms", "margin": 0.05},
                        {"metric": "latency_p90_ms", "margin": 0.05},
                        {"metric": "error_rate", "margin": 0.10},
                    ]
                ],
                "secondary_metrics": [
                    ["acceptance_rate_by_lines", "edit_distance_mean", "persistence_rate_10m"]
                ],
                "planned_developers": [developers],
                "metric_filters": [
                    [
                        {
                            "metric": "latency_p90_ms",
                            "dimension": "feature",
                            "value": "code_completion",
                        }
                    ]
                ],
            }
        ),
        source="bench",
        scope="synthetic",
    )
    return lake


WINDOW = "\"timestamp\" >= TIMESTAMPTZ '2025-03-10 00:00:00+00' AND \"timestamp\" < TIMESTAMPTZ '2025-03-24 00:00:00+00'"


def bare_scans(con: duckdb.DuckDBPyConnection) -> float:
    """The floor: one per-developer scan of both windows, and the two quantile passes' scans."""
    t0 = time.perf_counter()
    con.execute(
        "SELECT developer_id, \"timestamp\" >= TIMESTAMPTZ '2025-03-10 00:00:00+00' AS w, count(*), "
        "count(*) FILTER (WHERE accepted), sum(latency_ms) FROM suggestions GROUP BY ALL"
    ).fetchall()
    con.execute(
        f"SELECT a.arm, quantile_cont(latency_ms, [0.9, 0.89, 0.91]) FROM suggestions s "
        f"JOIN assignments a USING (developer_id) WHERE {WINDOW} GROUP BY 1"
    ).fetchall()
    con.execute(
        f"SELECT developer_id, count(*), count(*) FILTER (WHERE latency_ms <= 500) FROM suggestions "
        f"WHERE {WINDOW} GROUP BY 1"
    ).fetchall()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--developers", type=int, default=20_000)
    parser.add_argument("--per-developer", type=int, default=50)
    parser.add_argument("--keep", type=Path, default=None, help="build (or reuse) the lake here")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp()) if args.keep is None else args.keep
    root = tmp / "lake"
    try:
        t0 = time.perf_counter()
        if not (root / "experiments").exists():
            build_lake(root, args.developers, args.per_developer)
        lake = Lake.open(root)
        con = lake.connect()
        rows = con.execute("SELECT count(*) FROM suggestions").fetchall()[0][0]
        print(
            f"lake: {args.developers:,} developers, {rows:,} suggestions "
            f"(built in {time.perf_counter() - t0:.1f} s)"
        )
        # Equality check before timing: the report's P90 of each arm is DuckDB's exact one.
        report = analyze_experiment(con, "exp-bench", AnalysisOptions(slices=False))
        p90 = next(m for m in report.metrics if m.metric == "latency_p90_ms")
        exact = dict(
            con.execute(
                f"SELECT a.arm, quantile_cont(latency_ms, 0.9) FROM suggestions s JOIN assignments a "
                f"USING (developer_id) WHERE {WINDOW} GROUP BY 1"
            ).fetchall()
        )
        assert p90.quantiles is not None
        assert abs(p90.quantiles[0].quantile_hat - exact["A"]) < 1e-9
        assert abs(p90.quantiles[1].quantile_hat - exact["B"]) < 1e-9
        without = tuple(m for m in report.design.all_metrics if m != "latency_p90_ms")
        timings = {}
        for name, opts in (
            ("with quantiles", AnalysisOptions()),
            ("without quantiles", AnalysisOptions(metrics=without)),
        ):
            con = lake.connect()  # a fresh connection: no units table or prefetch cached
            t0 = time.perf_counter()
            analyze_experiment(con, "exp-bench", opts)
            timings[name] = time.perf_counter() - t0
        scans = bare_scans(lake.connect())
        with_q, without_q = timings["with quantiles"], timings["without quantiles"]
        print(f"default report with P90 guardrail: {with_q:.2f} s")
        print(
            f"same report without quantile metrics: {without_q:.2f} s (ratio {with_q / without_q:.2f})"
        )
        print(
            f"bare lake scans (floor): {scans:.2f} s = {scans / with_q:.0%} of the report with quantiles"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
