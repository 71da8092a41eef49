"""Calibration of the experiment engine against the simulator's truth over many seeds.

Not a timing benchmark: it measures the figures the experiment issue asks for, on fresh
simulated ab_test worlds (one per seed):

* coverage of truth.json's pooled acceptance-rate difference by the 95% CI, with and without
  CUPED (target 92-98% over >= 200 seeds), and how much CUPED narrows the interval;
* the verdict on zero-lift worlds (target: inconclusive in about 95% of seeds) and on powered
  worlds (target: ship when B is better, don't ship when it is harmful).

Usage: python benchmarks/bench_experiments_calibration.py [--seeds 200] [--verdict-seeds 100]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import codex_metrics.telemetry  # noqa: F401  (import order)
from codex_metrics.experiments import AnalysisOptions, Decision, analyze_experiment, compare_arms
from codex_metrics.experiments.design import load_experiment
from codex_metrics.experiments.lake_stats import metric_statistics
from codex_metrics.lake import Lake
from codex_metrics.telemetry.scenarios import build_config
from codex_metrics.telemetry.simulator import simulate
from codex_metrics.telemetry.truth import load_truth

PRIMARY = "acceptance_rate_by_count"


def world(root: Path, seed: int, developers: int, days: int, overrides: dict) -> Lake:
    lake = Lake.open(root)
    simulate(
        lake,
        build_config("ab_test", developers=developers, days=days, seed=seed, overrides=overrides),
    )
    return lake


def coverage(seeds: int, tmp: Path) -> None:
    hits = {True: 0, False: 0}
    widths: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(seeds):
        lake = world(tmp / f"c{seed}", seed, 120, 8, {"ab.pre_days": 3})
        truth = load_truth(lake)["estimands"]["ab_test"]["pooled_acceptance_difference"]
        con = lake.connect()
        design = load_experiment(
            con, con.execute("SELECT experiment_id FROM experiments").fetchall()[0][0]
        )
        stats = metric_statistics(con, design, PRIMARY, slices=False)
        for cuped in (True, False):
            cmp, *_ = compare_arms(
                stats.overall["A"], stats.overall["B"], options=AnalysisOptions(cuped=cuped)
            )
            hits[cuped] += cmp.absolute.ci_low <= truth <= cmp.absolute.ci_high
            widths[cuped].append(cmp.absolute.ci_high - cmp.absolute.ci_low)
        con.close()
        shutil.rmtree(tmp / f"c{seed}")
    narrowing = 1 - np.mean(widths[True]) / np.mean(widths[False])
    print(
        f"coverage over {seeds} seeds: CUPED {hits[True] / seeds:.3f}, no CUPED {hits[False] / seeds:.3f}; "
        f"CUPED narrows the mean CI width by {narrowing:.1%}"
    )


def verdicts(
    seeds: int, tmp: Path, developers: int, days: int, overrides: dict, label: str
) -> None:
    counts: dict[Decision, int] = dict.fromkeys(Decision, 0)
    for seed in range(10_000, 10_000 + seeds):
        lake = world(tmp / f"v{seed}", seed, developers, days, overrides)
        con = lake.connect()
        opts = AnalysisOptions(slices=False, metrics=(PRIMARY, "latency_mean_ms", "error_rate"))
        eid = con.execute("SELECT experiment_id FROM experiments").fetchall()[0][0]
        counts[analyze_experiment(con, eid, opts).verdict.decision] += 1
        con.close()
        shutil.rmtree(tmp / f"v{seed}")
    shares = ", ".join(f"{d.value} {n / seeds:.1%}" for d, n in counts.items())
    print(f"{label} ({seeds} seeds, {developers} developers, {days} days): {shares}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--verdict-seeds", type=int, default=100)
    parser.add_argument("--only-powered", action="store_true", help="skip coverage and zero lift")
    args = parser.parse_args()
    started = time.perf_counter()
    zero = {"ab.pre_days": 3, "ab.lift_acceptance": 0.0, "ab.latency_ratio": 1.0}
    with tempfile.TemporaryDirectory() as tmp:
        small = {"ab.pre_days": 3}
        if not args.only_powered:
            coverage(args.seeds, Path(tmp))
            verdicts(args.verdict_seeds, Path(tmp), 150, 8, zero, "zero lift")
        powered = {**small, "errors.error_rate": 0.08}
        verdicts(max(args.verdict_seeds // 4, 10), Path(tmp), 400, 10, powered, "powered, B better")
        verdicts(
            max(args.verdict_seeds // 4, 10),
            Path(tmp),
            400,
            10,
            {**powered, "ab.lift_acceptance": -0.3, "ab.latency_ratio": 1.0},
            "powered, B harmful",
        )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
