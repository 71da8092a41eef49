"""``codex-metrics alerts``: check targets, list alerts, send the weekly digest."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from codex_metrics.cli.exit_codes import ExitCode
from codex_metrics.cli.options import (
    DATA_FORMATS,
    DataFormatOption,
    LakeOption,
    OutputOption,
    open_lake,
    parse_choice,
    parse_day,
    settings_for,
)
from codex_metrics.cli.output import emit, emit_rows, spinner

app = typer.Typer(
    rich_markup_mode=None,
    help="Targets, regression alerts and the weekly digest ([alerts] in codex-metrics.toml).\n\n"
    "Example: codex-metrics alerts check --dry-run",
    no_args_is_help=True,
)


@app.command("check")
def check_cmd(
    since: Annotated[
        str | None,
        typer.Option("--since", help="First day to test (default: the last two days with data)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Detect and print; record and send nothing.")
    ] = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Test every target; record and deliver the alerts that fire.

    Exit 0 when nothing fired, 1 when an alert fired (even if a channel did not take it), 2 on
    bad config. An overlapping run prints "another check is running" and exits 0.

    Example: codex-metrics alerts check --since 2025-04-01 --dry-run --format json
    """
    from codex_metrics.alerts import parse_alert_config, run_check

    parse_choice(output_format, "--format", DATA_FORMATS)
    config = parse_alert_config(settings_for(lake=lake).alerts)
    with spinner("checking targets"):
        result = run_check(open_lake(lake), config, since=parse_day(since, "--since"),
                           dry_run=dry_run)  # fmt: skip
    if result.locked:
        typer.echo("another check is running")
        raise typer.Exit(ExitCode.OK)
    rows = [
        {
            "alert_id": a.alert_id,
            "metric": a.metric,
            "slice": a.slice or "overall",
            "day": a.day.isoformat(),
            "since": a.change_start_day.isoformat(),
            "observed": a.observed,
            "expected": a.expected,
            "interval": f"[{a.lower:.4g}, {a.upper:.4g}]",
            "delivered": "no"
            if a.alert_id in result.undelivered
            else ("-" if dry_run or not config.channels else "yes"),
        }
        for a in result.alerts
    ]
    emit_rows(rows, output_format, output, title="alerts fired",
              columns=("alert_id", "metric", "slice", "day", "since", "observed", "expected",
                       "interval", "delivered"),
              document=result.to_dict())  # fmt: skip
    if result.alerts:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command("list")
def list_cmd(
    only_open: Annotated[
        bool, typer.Option("--open", help="Only alerts not yet resolved.")
    ] = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Alerts recorded in alert_events, newest first, with their status and delivery.

    Example: codex-metrics alerts list --open
    """
    from codex_metrics.alerts import list_alerts

    parse_choice(output_format, "--format", DATA_FORMATS)
    alerts = list_alerts(open_lake(lake).snapshot(), only_open=only_open)
    emit_rows(
        [{**a, "slice": a["slice"] or "overall"} for a in alerts],
        output_format,
        output,
        title="alerts",
        columns=(
            "alert_id",
            "status",
            "delivery",
            "metric",
            "slice",
            "change_start_day",
            "observed",
            "expected",
        ),  # fmt: skip
        document=json.loads(json.dumps(alerts, default=str)),
    )


@app.command("digest")
def digest_cmd(
    week_ending: Annotated[
        str | None,
        typer.Option("--week-ending", help="Last day of the week (default: last day with data)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print it; send nothing.")] = False,
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Send the week's KPIs with their change on the week before, and the open alerts.

    Sent once per ISO week through the [alerts] channels. Exit 1 when a channel did not take it.

    Example: codex-metrics alerts digest --dry-run
    """
    from codex_metrics.alerts import parse_alert_config, send_digest

    config = parse_alert_config(settings_for(lake=lake).alerts)
    digest, delivered = send_digest(open_lake(lake), config,
                                    week_ending=parse_day(week_ending, "--week-ending"),
                                    dry_run=dry_run)  # fmt: skip
    emit(digest.message, output)
    if not delivered:
        raise typer.Exit(ExitCode.CHECK_FAILED)
