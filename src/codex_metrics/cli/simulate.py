"""``codex-metrics simulate`` and ``codex-metrics summary``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from codex_metrics.cli.options import (
    DATA_FORMATS,
    DataFormatOption,
    LakeOption,
    OutputOption,
    open_lake,
    parse_choice,
)
from codex_metrics.cli.output import emit_rows, progress, spinner
from codex_metrics.cli.state import STATE
from codex_metrics.errors import ParameterError

__all__ = ["simulate", "summary"]

SCENARIO_NAMES = ("baseline", "ab_test", "ab_three_arms", "rollout", "latency_regression", "demo")


def _partition(value: str) -> tuple[int, int]:
    i, sep, n = value.partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit():
        raise ParameterError("--partition", f"{value!r} is not i/n (e.g. --partition 0/4)")
    part = (int(i), int(n))
    if part[1] < 1 or part[0] >= part[1]:
        raise ParameterError("--partition", f"{value!r}: need 0 <= i < n")
    return part


def simulate(
    scenario: Annotated[
        str, typer.Option(help=f"One of: {', '.join(SCENARIO_NAMES)}.")
    ] = "baseline",
    developers: Annotated[int, typer.Option(help="Number of developers.")] = 2000,
    days: Annotated[int, typer.Option(help="Number of days.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed (same seed and start: same rows).")] = 0,
    start: Annotated[
        str, typer.Option(help="First day, YYYY-MM-DD (a fixed default, never today).")
    ] = "2025-03-03",
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
    replace: Annotated[
        bool,
        typer.Option(
            "--replace/--no-replace",
            help="Go ahead although the lake holds an experiment or real data.",
        ),
    ] = False,
    lake: LakeOption = None,
) -> None:
    """Simulate realistic assistant telemetry (with known truth) into the lake.

    A lake holds one simulated world: a new run replaces it. Into a lake that holds an
    experiment or real data, simulate refuses unless --replace is given, and says what it would
    replace.

    Example: codex-metrics simulate --scenario ab_test --developers 2000 --days 28 --set ab.lift_acceptance=0.2
    """
    from codex_metrics.telemetry.parallel import run_simulation
    from codex_metrics.telemetry.scenarios import (
        build_config,
        load_overrides_file,
        parse_set_options,
    )

    try:
        start_day = date.fromisoformat(start)
    except ValueError:
        raise ParameterError("--start", f"{start!r} is not a date; use YYYY-MM-DD") from None
    overrides: dict[str, object] = dict(load_overrides_file(params)) if params else {}
    overrides.update(parse_set_options(set_))
    cfg = build_config(
        scenario, developers=developers, days=days, seed=seed, start=start_day, overrides=overrides
    )
    share = _partition(partition)
    opened = open_lake(lake, create=True)
    with progress(f"simulating {scenario}") as update:
        result = run_simulation(
            opened,
            cfg,
            partition=share,
            workers=workers,
            replace=replace,
            sample_csv=sample_csv,
            on_progress=lambda done, total: update(done, total),
        )
    events = result.rows.get("suggestions", 0)
    typer.echo(
        f"{result.run_id}: {events:,} suggestion events in {result.seconds:.1f} s "
        f"({events / max(result.seconds, 1e-9):,.0f}/s) into {opened.root}"
    )
    if result.truth_path is not None:
        typer.echo(f"truth: {result.truth_path}")
    elif not STATE.quiet:
        typer.echo(f"share {partition} published; the world is recorded when every share is")


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.1%}" if abs(value) >= 0.01 else f"{value:.4f}"
    if unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def summary(
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Print the key metrics of the simulated world next to the simulator's truth.

    Example: codex-metrics summary --lake ./codex-metrics-lake
    """
    from codex_metrics.analysis import summarize_simulation

    parse_choice(output_format, "--format", DATA_FORMATS)
    with spinner("measuring the simulated world"):
        rows = summarize_simulation(open_lake(lake))
    if output_format == "table":
        table_rows = [
            {
                "metric": r.metric,
                "measured": _fmt(r.measured, r.unit),
                "truth / configured": _fmt(r.truth, r.unit),
                "reference": r.band,
            }
            for r in rows
        ]
        emit_rows(
            table_rows,
            "table",
            output,
            title="Simulated telemetry: measured vs truth",
            right=("measured", "truth / configured"),
        )
        return
    plain = [
        {
            "metric": r.metric,
            "measured": r.measured,
            "truth": r.truth,
            "unit": r.unit,
            "reference": r.band,
        }
        for r in rows
    ]
    emit_rows(plain, output_format, output)
