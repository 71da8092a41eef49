"""Ingest of a per-user Copilot NDJSON report versus a json.loads-per-line pandas loader.

Claim (issue 11): `ingest copilot-report` of a per-user NDJSON report of 50,000 users x 28
days (1.4M lines, built from the recorded rows) is at least 5x faster than a straightforward
loader in the same run, and its peak memory is flat in the file's size (a 1 GB file stays
under 1.5 GB RSS).

* Baseline: read the file line by line, ``json.loads`` each line, flatten chunks of rows with
  pandas' own tool for nested records, ``pd.json_normalize`` (the user rows, and each
  ``totals_by_*`` array with ``record_path`` and the login and day as ``meta``), and write the
  two tables (user rows; usage rows: a total row plus one per breakdown element) to Parquet.
  It neither validates nor archives. It is timed on the first ``--baseline-lines`` lines (it
  holds a Python dict per row) and compared per line.
* Ours: ``ingest_file`` end to end: hash and archive the raw file, validate every line, stage
  Parquet, commit to Delta, record the run. Timed on the same lines, and on the whole file.
* Memory: the ingest runs in child processes on a quarter, a half and the whole file; their
  peak RSS is printed side by side.

Before timing, both sides' totals over the baseline lines are checked equal.

    python benchmarks/bench_ingest.py --users 50000 --days 28 --workdir /tmp/bench-ingest
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

RECORDED = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "fixtures"
    / "copilot-metrics"
    / "new-api"
    / "organization-users-28-day-report.json"
)
TARGET = 5.0
COUNTERS = (
    "user_initiated_interaction_count",
    "code_generation_activity_count",
    "code_acceptance_activity_count",
    "loc_suggested_to_add_sum",
    "loc_suggested_to_delete_sum",
    "loc_added_sum",
    "loc_deleted_sum",
)
ARRAYS = {
    "ide": ("totals_by_ide", ("ide",)),
    "feature": ("totals_by_feature", ("feature",)),
    "language_feature": ("totals_by_language_feature", ("language", "feature")),
    "language_model": ("totals_by_language_model", ("language", "model")),
    "model_feature": ("totals_by_model_feature", ("model", "feature")),
}


def build_report(path: Path, users: int, days: int) -> int:
    """Write ``users`` x ``days`` per-user rows (the recorded rows as templates)."""
    templates = []
    for row in json.loads(RECORDED.read_text())["day_totals"]:
        row = dict(row, user_login="__LOGIN__", user_id=0, day="__DAY__",
                   report_start_day="__START__", report_end_day="__END__")  # fmt: skip
        text = json.dumps(row, separators=(",", ":"))
        templates.append(text.replace('"user_id":0', '"user_id":__ID__'))
    start = date(2026, 3, 29)
    end = start + timedelta(days=days - 1)
    day_strings = [(start + timedelta(days=d)).isoformat() for d in range(days)]
    lines = 0
    with path.open("w") as fh:
        for u in range(users):
            login = f"user-{u:06d}"
            for d in range(days):
                t = templates[(u * days + d) % len(templates)]
                fh.write(
                    t.replace("__LOGIN__", login)
                    .replace("__ID__", str(100000 + u))
                    .replace("__DAY__", day_strings[d])
                    .replace("__START__", start.isoformat())
                    .replace("__END__", end.isoformat())
                )
                fh.write("\n")
                lines += 1
    return lines


def head(path: Path, lines: int, out: Path) -> Path:
    with path.open() as src, out.open("w") as dst:
        for i, line in enumerate(src):
            if i >= lines:
                break
            dst.write(line)
    return out


def baseline(path: Path, out_dir: Path, chunk: int = 50_000) -> dict[str, float]:
    """The straightforward loader: json.loads per line, pandas' json_normalize, Parquet.

    Per chunk of lines: the user rows flattened with ``pd.json_normalize`` (nested objects
    become dotted columns, the breakdown arrays dropped), and each ``totals_by_*`` array
    flattened with ``pd.json_normalize(record_path=..., meta=[login, day])``, plus the total
    rows: the two tables the ingest writes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    totals = {"rows": 0.0, "usage_rows": 0.0, "generation": 0.0}
    rows: list[dict[str, Any]] = []
    parts = 0

    def flush() -> None:
        nonlocal parts
        users = pd.json_normalize(rows).drop(columns=[a for a, _ in ARRAYS.values()],
                                             errors="ignore")  # fmt: skip
        frames = [users[["user_login", "day", *COUNTERS]].assign(breakdown="total")]
        for breakdown, (array, _) in ARRAYS.items():
            with_items = [r for r in rows if r.get(array)]
            part = pd.json_normalize(with_items, record_path=array, meta=["user_login", "day"])
            frames.append(part.assign(breakdown=breakdown))
        usage = pd.concat(frames, ignore_index=True)
        totals["rows"] += len(users)
        totals["usage_rows"] += len(usage)
        totals["generation"] += float(users["code_generation_activity_count"].fillna(0).sum())
        users.astype({c: "string" for c in users.columns if users[c].dtype == object}).to_parquet(
            out_dir / f"users-{parts}.parquet"
        )
        usage.to_parquet(out_dir / f"usage-{parts}.parquet")
        parts += 1
        rows.clear()

    with path.open() as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) >= chunk:
                flush()
    if rows:
        flush()
    return totals


def ours(path: Path, lake_dir: Path) -> dict[str, float]:
    from codex_metrics.lake import Lake
    from codex_metrics.telemetry.ingest import IngestOptions, ingest_file

    shutil.rmtree(lake_dir, ignore_errors=True)
    lake = Lake.open(lake_dir)
    report = ingest_file(lake, path, "copilot-report", IngestOptions(pseudonymise=str.upper))
    con = lake.connect(sources="all")
    generation = con.sql("SELECT sum(code_generation_activity_count) FROM copilot_user_daily")
    return {
        "rows": float(report.rows["copilot_user_daily"]),
        "usage_rows": float(report.rows["usage_daily"]),
        "generation": float(generation.fetchall()[0][0] or 0),
    }


def peak_rss_of_ingest(path: Path, lake_dir: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one ingest in a fresh child process.

    The peak is the child's VmHWM (its own address space's high-water mark): ``ru_maxrss``
    would also count this process's RSS at fork, which Linux carries across ``exec``.
    """
    here = str(Path(__file__).parent)
    code = (
        f"import sys, pathlib; sys.path.insert(0, {here!r}); import bench_ingest as b; "
        "b.ours(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])); "
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(lake_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--baseline-lines", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-ingest"))
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    report = work / f"users-{args.users}x{args.days}.ndjson"
    if not report.exists():
        started = time.perf_counter()
        lines = build_report(report, args.users, args.days)
        print(f"built {lines:,} lines ({report.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    total_lines = args.users * args.days
    sample = head(report, min(args.baseline_lines, total_lines), work / "sample.ndjson")
    n = min(args.baseline_lines, total_lines)

    started = time.perf_counter()
    want = baseline(sample, work / "baseline-out")
    t_base = time.perf_counter() - started
    started = time.perf_counter()
    got = ours(sample, work / "lake-sample")
    t_ours_sample = time.perf_counter() - started
    assert got == want, (got, want)  # same rows, same totals, before any ratio is printed

    print(f"baseline (json.loads + pandas): {n:,} lines in {t_base:.1f} s "
          f"= {n / t_base:,.0f} lines/s")  # fmt: skip
    print(f"ingest copilot-report:          {n:,} lines in {t_ours_sample:.1f} s "
          f"= {n / t_ours_sample:,.0f} lines/s  ({t_base / t_ours_sample:.1f}x)")  # fmt: skip

    sizes = []
    for fraction in (4, 2, 1):
        part = report if fraction == 1 else head(report, total_lines // fraction,
                                                 work / f"part-{fraction}.ndjson")  # fmt: skip
        seconds, rss = peak_rss_of_ingest(part, work / f"lake-{fraction}")
        sizes.append((part.stat().st_size / 1e9, seconds, rss))
        lines = total_lines // fraction
        print(f"ingest {lines:,} lines ({sizes[-1][0]:.2f} GB): {seconds:.0f} s, "
              f"{lines / seconds:,.0f} lines/s, peak RSS {rss:,.0f} MB")  # fmt: skip
    full_rate = total_lines / sizes[-1][1]
    ratio = full_rate / (n / t_base)
    print(f"whole file vs baseline, per line: {ratio:.1f}x (target >= {TARGET:.0f}x); "
          f"peak RSS {sizes[0][2]:,.0f} -> {sizes[-1][2]:,.0f} MB for "
          f"{sizes[0][0]:.2f} -> {sizes[-1][0]:.2f} GB")  # fmt: skip
    if os.environ.get("BENCH_KEEP") != "1":
        for p in work.glob("lake-*"):
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()
