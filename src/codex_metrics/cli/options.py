"""The shared command-line vocabulary of DESIGN.md, defined once and used by every command.

Data commands take ``--format table|csv|json``; report commands ``--format markdown|html|json``;
every command that writes something takes ``--output PATH`` (parent folders created). Reads
take ``--lake``, ``--source``, ``--as-of``; metric queries ``--since/--until``, ``--grain``,
``--by``, ``--filter`` and ``--engine``. Boolean options are ``--x/--no-x`` flags. Nothing here
imports a data library: the CLI starts fast and loads what a command needs when it runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from codex_metrics.cli.state import STATE
from codex_metrics.config import Settings, load_settings
from codex_metrics.errors import ParameterError

if TYPE_CHECKING:
    from codex_metrics.lake import Lake, LakeSnapshot

__all__ = [
    "DATA_FORMATS",
    "GRAINS",
    "REPORT_FORMATS",
    "AsOfOption",
    "ByOption",
    "DataFormatOption",
    "EngineOption",
    "FilterOption",
    "GrainOption",
    "LakeOption",
    "OutputOption",
    "ReportFormatOption",
    "SinceOption",
    "SourceOption",
    "TimeGrain",
    "UntilOption",
    "open_lake",
    "open_snapshot",
    "parse_by",
    "parse_choice",
    "parse_day",
    "parse_filters",
    "settings_for",
]

DATA_FORMATS = ("table", "csv", "json")
REPORT_FORMATS = ("markdown", "html", "json")
TimeGrain = Literal["day", "week", "month", "all"]
GRAINS = ("day", "week", "month", "all")

LakeOption = Annotated[
    Path | None,
    typer.Option(
        "--lake",
        help="Lake directory (default: config, then ./codex-metrics-lake).",
        show_default=False,
    ),
]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="Read rows of these sources (comma-separated) or all; default: the real sources "
        "when the lake holds any, else the simulator.",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Read the lake as it was: a UTC timestamp (2026-11-26T09:30:00Z) or TABLE@VERSION "
        "(comma-separated).",
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="First day included, YYYY-MM-DD (UTC).", show_default=False),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Last day included, YYYY-MM-DD (UTC).", show_default=False),
]
GrainOption = Annotated[
    str,
    typer.Option("--grain", help="Time grain: day, week (ISO), month, or all (the whole window)."),
]
ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Group by these dimensions, comma-separated.", show_default=False),
]
FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="Keep rows where DIM=VALUE (repeatable; repeating a DIM keeps any of its values).",
        show_default=False,
    ),
]
DataFormatOption = Annotated[
    str, typer.Option("--format", help="Output format: table, csv or json.")
]
ReportFormatOption = Annotated[
    str, typer.Option("--format", help="Report format: markdown, html or json.")
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file instead of stdout (missing folders are created).",
        show_default=False,
    ),
]
EngineOption = Annotated[
    str | None, typer.Option("--engine", help="Query engine: duckdb or spark.", show_default=False)
]


def settings_for(*, lake: Path | None = None, engine: str | None = None) -> Settings:
    """Settings from ``--config`` (or the config file found), the environment, then options."""
    return load_settings(config_file=STATE.config).with_overrides(lake_path=lake, engine=engine)


def open_lake(lake: Path | None, *, create: bool = False) -> Lake:
    """The configured lake (``--lake`` first), which must exist unless ``create``."""
    from codex_metrics.lake import Lake

    return Lake.open(settings_for(lake=lake).lake_path, create=create)


def open_snapshot(
    lake: Path | None, *, source: str | None = None, as_of: str | None = None
) -> LakeSnapshot:
    """Open the configured lake and pin the snapshot a command reads (``--source``, ``--as-of``)."""
    from codex_metrics.lake import parse_as_of

    return open_lake(lake).snapshot(as_of=parse_as_of(as_of), sources=source)


def parse_day(value: str | None, option: str) -> date | None:
    """Parse a ``--since``/``--until`` value."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ParameterError(option, f"{value!r} is not a date; use YYYY-MM-DD") from None


def parse_choice(value: str, option: str, choices: tuple[str, ...]) -> str:
    """Check a value against its allowed choices."""
    if value not in choices:
        raise ParameterError(option, f"{value!r} is not one of {', '.join(choices)}")
    return value


def parse_by(value: str | None) -> list[str]:
    """Parse ``--by a,b``."""
    return [d.strip() for d in value.split(",") if d.strip()] if value else []


def parse_filters(values: list[str] | None) -> dict[str, list[str]]:
    """Parse repeated ``--filter DIM=VALUE`` options (repeating a DIM means any of the values)."""
    filters: dict[str, list[str]] = {}
    for item in values or []:
        dim, sep, value = item.partition("=")
        if not sep or not dim or not value:
            raise ParameterError(
                "--filter", f"{item!r} is not DIM=VALUE (e.g. --filter language=python)"
            )
        values_of = filters.setdefault(dim.strip(), [])
        if value.strip() not in values_of:
            values_of.append(value.strip())
    return filters
