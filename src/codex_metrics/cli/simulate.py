"""``codex-metrics simulate`` and ``codex-metrics summary``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codex_metrics.cli.options import LakeOption, settings_for
from codex_metrics.cli.output import console
from codex_metrics.errors import ParameterError
from codex_metrics.lake import Lake
from codex_metrics.telemetry.parallel import auto_workers, simulate_parallel
from codex_metrics.telemetry.scenarios import (
    DEFAULT_START,
    SCENARIOS,
    build_config,
    load_overrides_file,
    parse_set_options,
)
from codex_metrics.telemetry.simulator import simulate as run_simulation
from codex_metrics.telemetry.summary import summarize_simulation

__all__ = ["simulate", "summary"]


def _partition(value: str) -> tuple[int, int]:
    i, sep, n = value.partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit():
        raise ParameterError("--partition", f"{value!r} is not i/n (e.g. --partition 0/4)")
    part = (int(i), int(n))
    if part[1] < 1 or part[0] >= part[1]:
        raise ParameterError("--partition", f"{value!r}: need 0 <= i < n")
    return part


def simulate(
    scenario: Annotated[str, typer.Option(help=f"One of: {', '.join(SCENARIOS)}.")] = "baseline",
    developers: Annotated[int, typer.Option(help="Number of developers.")] = 2000,
    days: Annotated[int, typer.Option(help="Number of days.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed (same seed and start: same rows).")] = 0,
    start: Annotated[
        str, typer.Option(help="First day, YYYY-MM-DD (a fixed default, never today).")
    ] = DEFAULT_START.isoformat(),
    partition: Annotated[
        str, typer.Option(help="Generate share i of n (i/n); the union of all n is the full run.")
    ] = "0/1",
    workers: Annotated[
        int,
        typer.Option(
            help="Processes to run in parallel (0: one per core); the rows do not change."
        ),
    ] = 0,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a parameter, key=value (repeatable).", show_default=False
        ),
    ] = None,
    params: Annotated[
        Path | None, typer.Option(help="TOML file of parameter overrides.", show_default=False)
    ] = None,
    sample_csv: Annotated[
        Path | None,
        typer.Option(help="Also write the first 1,000 suggestion rows here.", show_default=False),
    ] = None,
    lake: LakeOption = None,
) -> None:
    """Simulate realistic assistant telemetry (with known truth) into the lake.

    Example: codex-metrics simulate --scenario ab_test --developers 2000 --days 28 --set ab.lift_acceptance=0.2
    """
    try:
        start_day = date.fromisoformat(start)
    except ValueError:
        raise ParameterError("--start", f"{start!r} is not a date; use YYYY-MM-DD") from None
    overrides: dict[str, object] = dict(load_overrides_file(params)) if params else {}
    overrides.update(parse_set_options(set_))
    cfg = build_config(
        scenario, developers=developers, days=days, seed=seed, start=start_day, overrides=overrides
    )
    part = _partition(partition)
    opened = Lake.open(settings_for(lake=lake).lake_path)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(f"simulating {scenario}", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if part != (0, 1):
            if workers > 1:
                raise ParameterError("--workers", "use either --partition or --workers, not both")
            result = run_simulation(
                opened, cfg, partition=part, sample_csv=sample_csv, on_progress=report
            )
        else:
            result = simulate_parallel(
                opened,
                cfg,
                workers=workers or auto_workers(cfg),
                sample_csv=sample_csv,
                on_progress=report,
            )
    events = result.rows.get("suggestions", 0)
    typer.echo(
        f"{result.run_id}: {events:,} suggestion events in {result.seconds:.1f} s "
        f"({events / max(result.seconds, 1e-9):,.0f}/s) into {opened.root}"
    )
    if result.truth_path is not None:
        typer.echo(f"truth: {result.truth_path}")
    else:
        typer.echo(
            f"partition {part[0]}/{part[1]} done; truth.json appears when all partitions are"
        )


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.1%}" if abs(value) >= 0.01 else f"{value:.4f}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def summary(lake: LakeOption = None) -> None:
    """Print the key metrics of the simulated data next to the simulator's truth.

    Example: codex-metrics summary --lake ./codex-metrics-lake
    """
    opened = Lake.open(settings_for(lake=lake).lake_path, create=False)
    rows = summarize_simulation(opened)
    table = Table(title="Simulated telemetry: measured vs truth")
    for col in ("metric", "measured", "truth / configured", "reference"):
        table.add_column(col, justify="left" if col in ("metric", "reference") else "right")
    for r in rows:
        table.add_row(r.metric, _fmt(r.measured, r.unit), _fmt(r.truth, r.unit), r.band)
    console().print(table)
