"""CLI start-up: ``codex-metrics --help`` and ``metrics list`` against ``python -c pass``.

Claim (issue 10): the CLI answers ``--help`` in under 0.3 s on this machine, because command
modules load no data library (DuckDB, Ibis, pandas, pyarrow, PySpark, statsmodels, sklearn) until
a command runs. The baseline is the interpreter's own start, measured in the same run; the
script also prints which heavy libraries each command imported (it must be none).

    python benchmarks/bench_cli_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("duckdb", "ibis", "pandas", "pyarrow", "pyspark", "statsmodels", "sklearn", "deltalake")
PROBE = (
    "import sys\n"
    "from codex_metrics.cli.app import main\n"
    "try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
    "print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
)


def timed(cmd: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    cli = [python, "-c", "from codex_metrics.cli.app import main; main()"]
    for argv in (["--help"], ["metrics", "list"]):
        code = PROBE.format(argv=argv, heavy=HEAVY)
        loaded = subprocess.run([python, "-c", code], capture_output=True, text=True).stderr
        print(f"heavy libraries loaded by {' '.join(argv)}: {loaded.strip().splitlines()[-1]}")
    base = timed([python, "-c", "pass"], args.repeat)
    rows = [("python -c pass (baseline)", base)]
    for argv in (["--help"], ["metrics", "list"], ["--version"]):
        rows.append((f"codex-metrics {' '.join(argv)}", timed([*cli, *argv], args.repeat)))
    print(f"{'command':36} {'median s':>9} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:36} {seconds:9.3f} {seconds / base:7.1f}")
    help_s = rows[1][1]
    print(f"--help: {help_s:.3f} s (target < 0.300 s: {'PASS' if help_s < 0.3 else 'FAIL'})")


if __name__ == "__main__":
    main()
