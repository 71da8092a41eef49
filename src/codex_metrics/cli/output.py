"""Writing what commands produce: files, tables, CSV, JSON, progress, all in one place.

Results serialise themselves (``to_dict()``, ``to_csv()``); these helpers only put the text
where the user asked (``--output`` creates missing parent folders and writes atomically) and
keep the terminal tidy (progress and spinners on stderr, silent with ``--quiet``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from codex_metrics.cli.state import STATE
from codex_metrics.errors import ParameterError

__all__ = [
    "console",
    "emit",
    "emit_rows",
    "err_console",
    "print_table",
    "progress",
    "rows_to_csv",
    "spinner",
]


def console(file: Any = None) -> Console:
    """A console for tables: the terminal's width, or 130 columns when output is piped."""
    terminal = Console(file=file)
    return terminal if terminal.is_terminal else Console(file=file, width=130)


def err_console() -> Console:
    """A console on stderr (progress, notes), quiet with ``--quiet``."""
    return Console(stderr=True, quiet=STATE.quiet)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, creating missing parent folders.

    Raises:
        ParameterError: the path cannot be written (names it and the reason).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ParameterError("--output", f"cannot write {path} ({exc.strerror})") from None


def emit(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` and say so on stderr."""
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    write_text(output, text if text.endswith("\n") else text + "\n")
    if not STATE.quiet:
        typer.echo(f"wrote {output}", err=True)


def rows_to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as CSV through the csv module (``None`` becomes an empty cell)."""
    names = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in names])
    return buf.getvalue()


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    output_format: str,
    output: Path | None,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
    document: Mapping[str, Any] | Sequence[Any] | None = None,
    right: Sequence[str] = (),
) -> None:
    """Render plain rows as a table, CSV or JSON (``document`` replaces the rows in JSON)."""
    names = list(columns or (rows[0].keys() if rows else []))
    if output_format == "json":
        emit(
            json.dumps(document if document is not None else list(rows), indent=2, default=str),
            output,
        )
        return
    if output_format == "csv":
        emit(rows_to_csv(rows, names), output)
        return
    table = Table(title=title or None)
    for name in names:
        table.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*("-" if row.get(c) in (None, "") else str(row.get(c)) for c in names))
    print_table(table, output)


def print_table(table: Table, output: Path | None) -> None:
    """Print a table to the terminal, or render it 200 columns wide into ``output``."""
    if output is None:
        console().print(table)
        return
    buf = io.StringIO()
    Console(file=buf, width=200).print(table)
    emit(buf.getvalue(), output)


@contextmanager
def progress(description: str, *, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr; yields ``update(done, total=None, description=None)``.

    Shows a spinner while the total is unknown; nothing with ``--quiet`` or when stderr is not a
    terminal (logs and pipes get the result lines only).
    """
    if STATE.quiet or not sys.stderr.isatty():
        yield lambda done, total=None, description=None: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def update(done: int, total: int | None = None, description: str | None = None) -> None:
            changes: dict[str, Any] = {"completed": done}
            if total is not None:
                changes["total"] = total
            if description is not None:
                changes["description"] = description
            bar.update(task, **changes)

        yield update


@contextmanager
def spinner(description: str) -> Iterator[None]:
    """A spinner on stderr while something of unknown length runs (silent with --quiet)."""
    if STATE.quiet or not sys.stderr.isatty():
        yield
        return
    with err_console().status(description):
        yield
