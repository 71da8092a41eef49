"""Poisson bootstrap: 10,000 developers x 2,000 replicates (issue target: under 2 s).

Baseline, measured in the same run: a plain resampling loop, one ``rng.choice`` of developer
indexes per replicate and arm (what a notebook would write). Also times the vectorised cluster
bootstrap. Prints seconds and the ratios against the loop.

Usage: python benchmarks/bench_experiments_bootstrap.py [--developers 10000] [--replicates 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from codex_metrics.experiments import cluster_bootstrap, heterogeneous_developers, poisson_bootstrap


def plain_loop(a, b, replicates: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    lifts = np.empty(replicates)
    for r in range(replicates):
        ia = rng.choice(a[0].size, a[0].size)
        ib = rng.choice(b[0].size, b[0].size)
        lifts[r] = b[0][ib].sum() / b[1][ib].sum() - a[0][ia].sum() / a[1][ia].sum()
    return float(lifts.std(ddof=1))


def poisson_generator(a, b, replicates: int, seed: int) -> float:
    """The notes' version (§3.4): ``Generator.poisson`` weights and one float32 product."""
    rng = np.random.default_rng(seed)
    rates = []
    for m, d in (a, b):
        w = rng.poisson(1.0, size=(replicates, m.size)).astype(np.float32)
        sums = w @ np.column_stack([m, d]).astype(np.float32)
        rates.append(sums[:, 0] / sums[:, 1])
    return float((rates[1] - rates[0]).std(ddof=1))


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--developers", type=int, default=10_000, help="total over both arms")
    parser.add_argument("--replicates", type=int, default=2000)
    args = parser.parse_args()
    m, d = heterogeneous_developers(args.developers, seed=1)
    half = args.developers // 2
    a, b = (m[:half], d[:half]), (m[half:], d[half:])
    poisson, t_poisson = timed(lambda: poisson_bootstrap(a, b, n_resamples=args.replicates, seed=2))
    cluster, t_cluster = timed(lambda: cluster_bootstrap(a, b, n_resamples=args.replicates, seed=3))
    loop_se, t_loop = timed(lambda: plain_loop(a, b, args.replicates, 4))
    gen_se, t_gen = timed(lambda: poisson_generator(a, b, args.replicates, 5))
    print(f"{args.developers:,} developers x {args.replicates:,} replicates")
    print(
        f"  Poisson bootstrap (vectorised): {t_poisson:6.2f} s  SE {poisson.se:.5f}  "
        f"{t_poisson / t_loop:5.2f}x the loop's time"
    )
    print(
        f"  cluster bootstrap (vectorised): {t_cluster:6.2f} s  SE {cluster.se:.5f}  "
        f"{t_cluster / t_loop:5.2f}x the loop's time"
    )
    print(
        f"  Poisson via Generator.poisson:  {t_gen:6.2f} s  SE {gen_se:.5f}  "
        f"{t_gen / t_loop:5.2f}x the loop's time"
    )
    print(f"  plain resampling loop (baseline): {t_loop:6.2f} s  SE {loop_se:.5f}")


if __name__ == "__main__":
    main()
