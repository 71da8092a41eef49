"""``codex-metrics ingest``: real data in (Copilot reports, Codex OTel, seats, people CSVs).

Also real experiments (``ingest experiment``, ``ingest assignments``): their parsers belong to
the experiment engine, which the ingest pipeline below it may not import, so this module joins
them to the pipeline as two more formats (:func:`_formats`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from codex_metrics.cli.options import (
    DATA_FORMATS,
    DataFormatOption,
    LakeOption,
    OutputOption,
    open_lake,
    parse_choice,
    settings_for,
)
from codex_metrics.cli.output import emit_rows, err_console, spinner
from codex_metrics.cli.state import STATE
from codex_metrics.errors import ParameterError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from codex_metrics.lake import Lake
    from codex_metrics.telemetry.ingest import (
        Format,
        IngestOptions,
        IngestReport,
        ParsedBatch,
        Parser,
    )

app = typer.Typer(
    rich_markup_mode=None,
    help="Ingest real data: GitHub Copilot usage reports, Codex CLI OpenTelemetry logs, seats, "
    "a developers roster, survey answers, and A/B experiments with their assignments. Each file is validated whole (a bad file writes "
    "nothing, exit code 2), committed, archived under <lake>/.codex-metrics/raw/ and recorded "
    "in source_runs. docs/data-sources.md says how to obtain each file.\n\n"
    "Example: codex-metrics ingest copilot-report users-28-day.ndjson --org acme",
    no_args_is_help=False,
    invoke_without_command=True,
)

FilesArgument = Annotated[
    list[Path], typer.Argument(help="Files to read (plain, .gz or .zst).", show_default=False)
]
OrgOption = Annotated[
    str | None,
    typer.Option("--org", help="Org or enterprise name to store (default: the report's id).",
                 show_default=False),
]  # fmt: skip
FetchedOption = Annotated[
    str | None,
    typer.Option(
        "--fetched-at",
        help="When the file was downloaded, UTC (default: the time its archive recorded, else "
        "the file's modification time). Newest wins by report end day, then this.",
        show_default=False,
    ),
]
SkipOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad-lines/--no-skip-bad-lines",
        help="Quarantine bad lines to a rejects file beside the raw archive instead of failing.",
    ),
]
_COLUMNS = ("file", "scopes", "rows", "rejected", "days", "archive")


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    from datetime import UTC

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ParameterError(
            "--fetched-at", f"{value!r} is not a time (2026-05-01T03:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _options(
    lake: Lake,
    *,
    org: str | None = None,
    entity: str | None = None,
    skip_bad_lines: bool = False,
    column_map: dict[str, str] | None = None,
) -> IngestOptions:
    """Parser options with the lake's pseudonymiser (a key is generated when none is set)."""
    from codex_metrics.privacy import Pseudonymiser
    from codex_metrics.telemetry.ingest import IngestOptions

    settings = settings_for(lake=lake.root)
    pseudonymiser, choice = Pseudonymiser.for_lake(settings, lake.hidden_dir, save=False)

    def save_key() -> None:
        """Keep a generated key once a file is about to be committed, and say so once."""
        if choice.origin == "generated" and not (choice.path and choice.path.is_file()):
            choice.save()
            note = choice.note()
            if note:
                err_console().print(f"note: {note}", highlight=False, markup=False, soft_wrap=True)

    if entity is not None:
        parse_choice(entity, "--entity", ("org", "enterprise"))
    return IngestOptions(
        pseudonymise=pseudonymiser,
        org=org,
        entity_type=entity,  # type: ignore[arg-type]
        skip_bad_lines=skip_bad_lines,
        column_map=column_map or {},
        before_commit=save_key,
    )


def _parse_experiment(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
    """An experiment declaration: one ``experiments`` row, scoped by the experiment's id."""
    from codex_metrics.experiments import parse_experiment_toml
    from codex_metrics.telemetry.ingest import ParsedBatch

    table = parse_experiment_toml(path)
    yield ParsedBatch(scope=str(table["experiment_id"][0].as_py()), tables={"experiments": table})


def _assignments_parser(lake: Lake, *, checked: bool = True) -> Parser:
    """A parser of assignment files, checked against the experiments the lake holds.

    ``options.org`` carries ``--experiment`` (recorded with the archive, so ``--reprocess``
    reads the file the same way); each experiment's rows are their own scope. Without
    ``checked`` (reprocessing files that were checked when first ingested) the lake is not
    consulted: its experiments may not be back yet, whatever order the files were fetched in.
    """

    def parse(path: Path, options: IngestOptions) -> Iterator[ParsedBatch]:
        import pyarrow.compute as pc

        from codex_metrics.experiments import list_experiments, parse_assignments
        from codex_metrics.telemetry.ingest import ParsedBatch

        arms = None
        if checked:
            con = lake.snapshot(sources="all").connect()
            try:
                arms = {d.experiment_id: {a.name for a in d.arms} for d in list_experiments(con)}
            finally:
                con.close()
        table = parse_assignments(
            path, pseudonymise=options.pseudonymise, experiment_id=options.org, arms=arms
        )
        for experiment in sorted(set(table["experiment_id"].to_pylist())):
            rows = table.filter(pc.equal(table["experiment_id"], experiment))
            yield ParsedBatch(scope=experiment, tables={"assignments": rows})

    return parse


def _formats(lake: Lake, *, checked: bool = True) -> dict[str, Format]:
    """The pipeline's vendor formats plus the experiment engine's two files.

    A re-ingested declaration replaces its experiment's row; assignment files add up (a later
    file wins for the same developer and arm). ``checked``: see :func:`_assignments_parser`.
    """
    from codex_metrics.telemetry.ingest import FORMATS, Format

    return {
        **FORMATS,
        "experiment": Format("experiment", "experiment-toml", _parse_experiment,
                             ("experiments",), replaces=("experiments",)),
        "assignments": Format("assignments", "assignments-file", _assignments_parser(lake, checked=checked),
                              ("assignments",)),
    }  # fmt: skip


def _row(report: IngestReport) -> dict[str, Any]:
    days = f"{report.first_day}..{report.last_day}" if report.first_day and report.last_day else ""
    rows = ", ".join(f"{t} {n}" for t, n in sorted(report.rows.items())) or "none"
    return {
        "file": report.path.name,
        "scopes": ", ".join(report.scopes),
        "rows": rows,
        "rejected": report.rejected,
        "days": days,
        "archive": str(report.archive) if report.archive else "",
    }


def _run(
    command: str,
    files: list[Path],
    lake_path: Path | None,
    fetched_at: str | None,
    output_format: str,
    output: Path | None,
    **kwargs: Any,
) -> None:
    from codex_metrics.telemetry.ingest import ingest_file

    parse_choice(output_format, "--format", DATA_FORMATS)
    when = _parse_time(fetched_at)
    lake = open_lake(lake_path, create=True)
    options = _options(lake, **kwargs)
    reports = []
    import uuid

    invocation = str(uuid.uuid4())
    formats = _formats(lake)
    for path in files:
        with spinner(f"ingesting {path.name}"):
            report = ingest_file(
                lake, path, command, options, fetched_at=when, invocation_id=invocation,
                formats=formats,
            )  # fmt: skip
        reports.append(report)
        if report.rejected and not STATE.quiet:
            typer.echo(
                f"{path.name}: quarantined {report.rejected} bad line(s) to {report.rejects_file}",
                err=True,
            )
    rows = [_row(r) for r in reports]
    document = [r.to_dict() for r in reports]
    emit_rows(rows, output_format, output, title=f"ingest {command}", columns=_COLUMNS,
              document=document)  # fmt: skip


@app.callback()
def ingest(
    ctx: typer.Context,
    reprocess: Annotated[
        bool,
        typer.Option(
            "--reprocess/--no-reprocess",
            help="Re-derive every table from the raw archives with today's parsers.",
        ),
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            help="With --reprocess: only these commands (comma-separated).",
            show_default=False,
        ),
    ] = None,
    lake: LakeOption = None,
) -> None:
    """Ingest real data; --reprocess re-derives everything from the raw archives.

    Example: codex-metrics ingest --reprocess --only copilot-report
    """
    if ctx.invoked_subcommand is not None:
        return
    if not reprocess:
        typer.echo(ctx.get_help())
        raise typer.Exit()
    from codex_metrics.telemetry.ingest import reprocess as run_reprocess

    opened = open_lake(lake)
    formats = _formats(opened, checked=False)
    commands = [c.strip() for c in only.split(",")] if only else None
    for c in commands or []:
        parse_choice(c, "--only", tuple(formats))
    options = _options(opened)
    with spinner("reprocessing the raw archives"):
        reports = run_reprocess(opened, options, commands=commands, formats=formats)
    total = sum(sum(r.rows.values()) for r in reports)
    typer.echo(f"reprocessed {len(reports)} archived file(s): {total} rows written")


@app.command("copilot-report")
def copilot_report(
    files: FilesArgument,
    org: OrgOption = None,
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity",
            help="Force org or enterprise (default: org when rows carry organization_id).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    fetched_at: FetchedOption = None,
    skip_bad_lines: SkipOption = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """GitHub Copilot usage-metrics reports: entity, per-user (NDJSON) and user-teams files.

    Example: codex-metrics ingest copilot-report organization-28-day.json users-28-day.ndjson
    """
    _run("copilot-report", files, lake, fetched_at, output_format, output, org=org,
         entity=entity, skip_bad_lines=skip_bad_lines)  # fmt: skip


@app.command("copilot-legacy")
def copilot_legacy(
    files: FilesArgument,
    org: OrgOption = None,
    fetched_at: FetchedOption = None,
    skip_bad_lines: SkipOption = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Legacy Copilot Metrics API exports (/copilot/metrics JSON, before 2026-04-02).

    Example: codex-metrics ingest copilot-legacy metrics-2025.json --org acme
    """
    _run("copilot-legacy", files, lake, fetched_at, output_format, output, org=org,
         skip_bad_lines=skip_bad_lines)  # fmt: skip


@app.command("codex-otel")
def codex_otel(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="OTLP/JSON log exports (a file, or one request per line).", show_default=False
        ),
    ] = None,  # fmt: skip
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            help="Receive OTLP/HTTP JSON logs at HOST:PORT instead "
            "(Codex: exporter otlp-http, protocol json).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    flush_seconds: Annotated[
        float, typer.Option("--flush-seconds", help="With --listen: ingest every N seconds.")
    ] = 60.0,
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope", help="Scope of the rows (e.g. a team or environment).", show_default=False
        ),
    ] = None,  # fmt: skip
    fetched_at: FetchedOption = None,
    skip_bad_lines: SkipOption = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Codex CLI OpenTelemetry logs: API requests, tokens, latency, tool decisions and results.

    Example: codex-metrics ingest codex-otel --listen 127.0.0.1:4318
    """
    if listen is None:
        if not files:
            raise ParameterError("FILES", "name OTLP/JSON files, or pass --listen HOST:PORT")
        _run("codex-otel", files, lake, fetched_at, output_format, output, org=scope,
             skip_bad_lines=skip_bad_lines)  # fmt: skip
        return
    from codex_metrics.telemetry.ingest import OtlpReceiver, parse_listen

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise ParameterError("--listen", str(exc)) from None
    opened = open_lake(lake, create=True)
    options = _options(opened, org=scope, skip_bad_lines=skip_bad_lines)
    receiver = OtlpReceiver(
        opened, options, host=host, port=port, flush_seconds=flush_seconds,
        on_report=lambda r: typer.echo(f"ingested {sum(r.rows.values())} rows ({r.path.name})"),
        on_error=lambda e: typer.echo(f"Error: {e} (the batch is kept in the spool)", err=True),
    )  # fmt: skip
    typer.echo(f"listening on http://{host}:{receiver.port}/v1/logs (Ctrl-C to stop)", err=True)
    receiver.serve()


@app.command("seats")
def seats(
    files: FilesArgument,
    org: Annotated[str, typer.Option("--org", help="Org or enterprise the seats belong to.")],
    fetched_at: FetchedOption = None,
    skip_bad_lines: SkipOption = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Copilot seats (/copilot/billing/seats JSON): a snapshot on the day it was fetched.

    Example: codex-metrics ingest seats seats.json --org acme --fetched-at 2026-05-01T06:00:00Z
    """
    _run("seats", files, lake, fetched_at, output_format, output, org=org,
         skip_bad_lines=skip_bad_lines)  # fmt: skip


@app.command("developers")
def developers(
    files: FilesArgument,
    org: OrgOption = None,
    skip_bad_lines: SkipOption = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """A developers roster CSV: login (or email, id), experience, team, role, start_date.

    Example: codex-metrics ingest developers roster.csv --org acme
    """
    _run("developers", files, lake, None, output_format, output, org=org,
         skip_bad_lines=skip_bad_lines)  # fmt: skip


@app.command("survey")
def survey(
    files: FilesArgument,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="CSV column=field (repeatable); fields: developer, "
            "submitted_at, org, satisfaction, nps, perceived_productivity, flow, "
            "ease_of_use, trust, frustration.",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    org: OrgOption = None,
    skip_bad_lines: SkipOption = False,
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Survey answers CSV: satisfaction, NPS and the happiness dimensions per response.

    Example: codex-metrics ingest survey answers.csv --map "Email=developer" --map "How satisfied are you?=satisfaction"
    """
    column_map: dict[str, str] = {}
    for item in map_ or []:
        column, sep, name = item.rpartition("=")
        if not sep or not column.strip() or not name.strip():
            raise ParameterError("--map", f"{item!r} is not COLUMN=FIELD")
        column_map[column.strip()] = name.strip()
    _run("survey", files, lake, None, output_format, output, org=org,
         skip_bad_lines=skip_bad_lines, column_map=column_map)  # fmt: skip


@app.command("experiment")
def experiment(
    files: Annotated[
        list[Path], typer.Argument(help="Experiment declarations (TOML).", show_default=False)
    ],
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """An A/B experiment declared in TOML: arms with model versions and weights, period, metrics.

    Arms (the first is the control), start and end, primary, guardrail (with margins) and
    secondary metrics, planned developers. Ingesting it again replaces it. docs/experiments.md
    shows a complete file.

    Example: codex-metrics ingest experiment exp-model-c-vs-b.toml
    """
    _run("experiment", files, lake, None, output_format, output)


@app.command("assignments")
def assignments(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Assignment files (.csv with a header, or .ndjson).", show_default=False
        ),
    ],
    experiment: Annotated[
        str | None,
        typer.Option(
            "--experiment",
            help="Experiment of every row (default: each row's experiment_id column).",
            show_default=False,
        ),
    ] = None,  # fmt: skip
    output_format: DataFormatOption = "table",
    output: OutputOption = None,
    lake: LakeOption = None,
) -> None:
    """Who got which arm: login (or developer_id), arm, assigned_at per row.

    Logins are pseudonymised with the lake's key, as every other source's are, so they join
    the Codex requests and Copilot reports of the same people. The experiment must be ingested
    first; an unknown experiment or arm fails the file with its line.

    Example: codex-metrics ingest assignments assignments.csv --experiment exp-model-c-vs-b
    """
    _run("assignments", files, lake, None, output_format, output, org=experiment)
