"""Three sliced queries: the catalogue on DuckDB versus vectorised pandas, I/O included.

Claim (issue 6): acceptance by language, daily active users by editor and P90 latency by
model, each per day, are at least 5x faster through the catalogue than in pandas reading the
same Parquet files (``pd.read_parquet`` with only the needed columns, then a vectorised
groupby). Both sides start from the files on disk on every repetition (DuckDB's views are
lazy: each query reads the Parquet files again; the open connection, like a dashboard's, only
holds the view definitions); results are checked equal before timing.

    python benchmarks/bench_metrics_vs_pandas.py --lake /tmp/lake10m --repeat 3
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import pandas as pd

from codex_metrics.lake import Lake
from codex_metrics.metrics import DuckDBEngine, compute_metric

TARGET = 5.0


def pandas_acceptance_by_language(lake: Lake) -> pd.Series:
    df = pd.read_parquet(
        lake.table_dir("suggestions"), columns=["day", "language", "status", "accepted"]
    )
    shown = df["status"] == "ok"
    df = df.assign(shown=shown, acc=shown & df["accepted"])
    g = df.groupby(["day", "language"], observed=True)[["acc", "shown"]].sum()
    return (g["acc"] / g["shown"]).rename("value")


def pandas_dau_by_editor(lake: Lake) -> pd.Series:
    cols = [
        "day",
        "breakdown",
        "ide",
        "developer_id",
        "code_generation_activity_count",
        "user_initiated_interaction_count",
        "code_acceptance_activity_count",
        "loc_added_sum",
    ]
    df = pd.read_parquet(
        lake.table_dir("usage_daily"), columns=cols, filters=[("breakdown", "=", "ide")]
    )
    active = (df[cols[4:]] > 0).any(axis=1)
    return (
        df[active].groupby(["day", "ide"], observed=True)["developer_id"].nunique().rename("value")
    )


def pandas_p90_latency_by_model(lake: Lake) -> pd.Series:
    df = pd.read_parquet(
        lake.table_dir("suggestions"), columns=["day", "model_version", "latency_ms"]
    )
    return (
        df.groupby(["day", "model_version"], observed=True)["latency_ms"]
        .quantile(0.9)
        .rename("value")
    )


QUERIES: list[tuple[str, list[str], Callable[[Lake], pd.Series]]] = [
    ("acceptance_rate_by_count", ["language"], pandas_acceptance_by_language),
    ("daily_active_users", ["editor"], pandas_dau_by_editor),
    ("latency_p90_ms", ["model"], pandas_p90_latency_by_model),
]


def ours(engine: DuckDBEngine, name: str, by: list[str]) -> pd.Series:
    result = compute_metric(name, engine.lake, by=by, engine=engine)
    df = result.rows.to_pandas()
    return df.set_index(["period", by[0]])["value"]


def check_equal(a: pd.Series, b: pd.Series, name: str) -> None:
    a = a.dropna().sort_index()
    b = b.dropna()
    b.index = pd.MultiIndex.from_arrays(
        [
            pd.to_datetime(b.index.get_level_values(0).astype(str)).date,
            b.index.get_level_values(1).astype(str),
        ]
    )
    b = b.sort_index()
    a.index = pd.MultiIndex.from_arrays(
        [a.index.get_level_values(0), a.index.get_level_values(1).astype(str)]
    )
    if (
        len(a) != len(b)
        or not (abs(a.to_numpy() - b.to_numpy()) <= 1e-9 * abs(b.to_numpy()) + 1e-9).all()
    ):
        raise SystemExit(f"{name}: catalogue and pandas disagree")


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lake = Lake.open(args.lake, create=False)
    engine = DuckDBEngine(lake)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    total_ours = total_pandas = 0.0
    for name, by, fn in QUERIES:
        check_equal(ours(engine, name, by), fn(lake), name)
        t_ours = best_of(lambda name=name, by=by: ours(engine, name, by), args.repeat)
        t_pandas = best_of(lambda fn=fn: fn(lake), args.repeat)
        total_ours += t_ours
        total_pandas += t_pandas
        print(
            f"{name} by {by[0]}: catalogue {t_ours:.2f} s, pandas {t_pandas:.2f} s -> {t_pandas / t_ours:.1f}x"
        )
    ratio = total_pandas / total_ours
    print(
        f"three queries: catalogue {total_ours:.2f} s, pandas {total_pandas:.2f} s -> {ratio:.1f}x "
        f"(target >= {TARGET:.0f}x: {'PASS' if ratio >= TARGET else 'FAIL'})"
    )


if __name__ == "__main__":
    main()
