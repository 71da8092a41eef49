"""What every parser shares: options, batches, rejected lines, and checked rows from a file.

A parser is a pure function from a file to :class:`ParsedBatch` es: Arrow tables shaped like the
lake's tables (day tables carry a ``day`` column), plus the lines it rejected. It writes
nothing; the pipeline stages and commits. :func:`read_rows` turns NDJSON chunks or the rows of
JSON documents into checked Arrow tables, fast when it can, precise when something is wrong:
a bad row raises :class:`~codex_metrics.errors.InputFormatError` naming the file, line (or JSON
path) and field, or, with ``skip_bad_lines``, becomes a :class:`Reject`.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from codex_metrics.errors import InputFormatError
from codex_metrics.telemetry.ingest._reading import (
    DEFAULT_CHUNK_BYTES,
    Document,
    iter_line_chunks,
)
from codex_metrics.telemetry.ingest._rows import (
    RowError,
    check_row,
    fast_path_doubts,
    rows_to_table,
)

__all__ = [
    "Coverage",
    "IngestOptions",
    "ParsedBatch",
    "Reject",
    "SlowPathNeeded",
    "document_rows",
    "hash64",
    "read_rows",
    "utc_now",
]

EntityType = Literal["org", "enterprise"]
_MAX_REJECT_TEXT = 20_000
#: Arrow's JSON reader parses blocks in parallel; a line longer than this takes the slow path.
_BLOCK_BYTES = 4 << 20
#: Rows per Arrow batch from DuckDB's JSON reader (bounded memory: a few hundred MB at most).
_DUCKDB_BATCH_ROWS = 32_768


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def hash64(*parts: object) -> int:
    """A stable signed 64-bit id from string parts (the lake's integer ids of string ids)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class IngestOptions:
    """How to read one file.

    Attributes:
        pseudonymise: maps a login, email or id to the value stored (privacy.py's policy).
        fetched_at: when the file was downloaded (the "newest wins" tie-breaker).
        org: the org or enterprise name to store instead of the vendor's id (``--org``).
        entity_type: force ``org`` or ``enterprise`` for Copilot reports (``--entity``).
        skip_bad_lines: quarantine bad lines instead of failing the file.
        column_map: survey CSV column -> field (``--map``).
        chunk_bytes: size of the NDJSON chunks read at once.
        before_commit: called once a file has validated, before its first commit (the CLI
            saves a newly generated pseudonym key there).
        fast: read NDJSON rows with DuckDB's parallel JSON reader; on any doubt the parser
            raises :class:`SlowPathNeeded` and the caller reads the file again with
            ``fast=False`` (line by line where needed, naming the bad line).
    """

    pseudonymise: Callable[[str], str]
    fetched_at: datetime = field(default_factory=utc_now)
    org: str | None = None
    entity_type: EntityType | None = None
    skip_bad_lines: bool = False
    column_map: Mapping[str, str] = field(default_factory=dict)
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    before_commit: Callable[[], None] | None = None
    fast: bool = True


class SlowPathNeeded(Exception):  # noqa: N818 - a signal to the caller, not an error
    """The fast NDJSON reader doubts a value: read the file again with ``fast=False``.

    Raised before the file's rows are complete; whatever the caller staged must be dropped.
    """


@dataclass(frozen=True)
class Reject:
    """A line (or JSON element) left out by ``--skip-bad-lines``."""

    line: int | None
    field: str | None
    message: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The reject as a JSON-able record (the rejects file has one per line)."""
        return {"line": self.line, "field": self.field, "error": self.message, "text": self.text}


@dataclass(frozen=True)
class Coverage:
    """The days a file says it covers (a report's start and end day), by scope."""

    scope: str
    first_day: Any
    last_day: Any


@dataclass
class ParsedBatch:
    """Rows of one chunk of a file, by lake table, for one scope (org or enterprise).

    Attributes:
        scope: the lake scope the rows belong to.
        tables: table name -> rows (day tables with a ``day`` column of dates).
        rejects: lines left out by ``--skip-bad-lines``.
        coverage: days the file declares it covers (Copilot reports), for gap detection.
    """

    scope: str
    tables: dict[str, pa.Table] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)


def _fail_or_reject(
    path: Path,
    options: IngestOptions,
    rejects: list[Reject],
    *,
    line: int | None,
    field_path: str | None,
    message: str,
    text: str,
) -> None:
    if not options.skip_bad_lines:
        raise InputFormatError(path, message, line=line, field=field_path)
    rejects.append(Reject(line, field_path, message, text[:_MAX_REJECT_TEXT]))


def _fast(
    data: bytes, schema: pa.Schema, doubt: Callable[[pa.Table], bool] | None
) -> pa.Table | None:
    plain = pa.schema([pa.field(f.name, f.type) for f in schema])
    try:
        table = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pj.ParseOptions(
                explicit_schema=plain, unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if fast_path_doubts(table, schema) or (doubt is not None and doubt(table)):
        return None
    return table


def read_rows(
    path: Path,
    schema: pa.Schema,
    options: IngestOptions,
    *,
    documents: list[tuple[Any, str, int | None]] | None = None,
    accept: Callable[[dict[str, Any]], str | None] | None = None,
    doubt: Callable[[pa.Table], bool] | None = None,
) -> Iterator[tuple[pa.Table, list[Reject]]]:
    """Checked rows of ``schema`` from ``path``: NDJSON chunks, or the given document rows.

    Args:
        path: the file (named in errors).
        schema: the row schema (see :mod:`._rows`).
        options: chunk size, ``skip_bad_lines``.
        documents: rows already taken out of JSON documents as ``(row, JSON path, line)``;
            ``None`` reads ``path`` as NDJSON, one row per line.
        accept: a last check of a decoded row, returning an error message or ``None``.
        doubt: the same check on a parsed chunk (``True``: re-read it row by row).

    Raises:
        InputFormatError: a bad row, without ``skip_bad_lines``.
    """
    if documents is not None:
        rejects: list[Reject] = []
        good = []
        for obj, where, line in documents:
            try:
                row = check_row(obj, schema, prefix=where)
                problem = accept(row) if accept else None
                if problem:
                    raise RowError(where, problem)
                good.append(row)
            except RowError as exc:
                _fail_or_reject(
                    path,
                    options,
                    rejects,
                    line=line,
                    field_path=exc.field,
                    message=exc.message,
                    text=json.dumps(obj, default=str),
                )
        yield rows_to_table(good, schema), rejects
        return
    if options.fast:
        yield from _duckdb_rows(path, schema, doubt)
        return
    for chunk in iter_line_chunks(path, options.chunk_bytes):
        table = _fast(chunk.data, schema, doubt)
        if table is not None:
            yield table, []
            continue
        rejects = []
        good = []
        for number, raw in chunk.lines():
            text = raw.decode("utf-8", errors="replace")
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                _fail_or_reject(
                    path,
                    options,
                    rejects,
                    line=number,
                    field_path=None,
                    message=f"not valid JSON ({detail})",
                    text=text,
                )
                continue
            try:
                row = check_row(obj, schema)
                problem = accept(row) if accept else None
                if problem:
                    raise RowError("row", problem)
                good.append(row)
            except RowError as exc:
                _fail_or_reject(
                    path,
                    options,
                    rejects,
                    line=number,
                    field_path=exc.field,
                    message=exc.message,
                    text=text,
                )
        yield rows_to_table(good, schema), rejects


def _duckdb_type(t: pa.DataType) -> str:
    """DuckDB type of a row-schema type.

    Integers are read as DOUBLE, so that a fraction is seen (and refused by the safe cast to
    int64) instead of being rounded by DuckDB.
    """
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f'"{f.name}" {_duckdb_type(f.type)}' for f in t) + ")"
    if pa.types.is_list(t):
        return _duckdb_type(t.value_type) + "[]"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    return "VARCHAR"


def _sql_doubts(f: pa.Field, expr: str) -> list[str]:
    """SQL conditions that are true when a value of ``f`` at ``expr`` may break a rule.

    The twin of :func:`~codex_metrics.telemetry.ingest._rows.fast_path_doubts`, evaluated by
    DuckDB while it parses (integers arrive as DOUBLE: a fraction is a doubt).
    """
    t = f.type
    if pa.types.is_struct(t):
        return [c for child in t for c in _sql_doubts(child, f'{expr}."{child.name}"')]
    if pa.types.is_list(t):
        inner = _sql_doubts(t.value_field, "x")
        if not inner:
            return []
        return [
            f"coalesce(list_bool_or(list_transform({expr}, lambda x: {' OR '.join(inner)})), false)"
        ]
    out = []
    meta = f.metadata or {}
    if pa.types.is_integer(t):
        out.append(f"coalesce({expr} <> trunc({expr}) OR abs({expr}) >= 9.2e18, false)")
    if b"min" in meta:
        out.append(f"coalesce({expr} < {float(meta[b'min'])}, false)")
    if meta.get(b"format") == b"day":
        out.append(
            f"coalesce(length({expr}) <> 10 OR try_strptime({expr}, '%Y-%m-%d') IS NULL, false)"
        )
    if b"required" in meta:
        out.append(f"{expr} IS NULL")
    return out


def _duckdb_rows(
    path: Path, schema: pa.Schema, doubt: Callable[[pa.Table], bool] | None
) -> Iterator[tuple[pa.Table, list[Reject]]]:
    """Every row of an NDJSON file through DuckDB's parallel reader, in Arrow batches.

    Raises:
        SlowPathNeeded: DuckDB could not read a line, or a value may break a rule.
    """
    import duckdb

    from codex_metrics.telemetry.ingest._reading import compression_of

    plain = pa.schema([pa.field(f.name, f.type) for f in schema])
    columns = ", ".join(f"'{f.name}': '{_duckdb_type(f.type)}'" for f in schema)
    rules = [rule for f in schema for rule in _sql_doubts(f, f'"{f.name}"')] or ["false"]
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        # rows need not keep the file's order: no reordering buffers between DuckDB's threads
        con.execute("SET preserve_insertion_order = false")
        rel = con.sql(
            f"SELECT *, ({' OR '.join(rules)}) AS __doubt FROM read_ndjson($path, columns = "
            "{" + columns + "}, compression = $compression, maximum_object_size = 16777216)",
            params={"path": str(path), "compression": compression_of(path) or "none"},
        )
        for batch in rel.to_arrow_reader(_DUCKDB_BATCH_ROWS):
            if pc.any(batch.column("__doubt")).as_py():
                raise SlowPathNeeded(str(path))
            table = pa.Table.from_batches([batch]).drop_columns(["__doubt"])
            table = table.cast(plain, safe=True)
            if doubt is not None and doubt(table):
                raise SlowPathNeeded(str(path))
            yield table, []
    except SlowPathNeeded:
        raise
    except (duckdb.Error, pa.ArrowException, OSError, ValueError) as exc:
        # DuckDB's errors reach us through the Arrow stream as OSError; the slow path reads
        # the file again and names the line and field
        raise SlowPathNeeded(str(exc)) from None
    finally:
        con.close()


def document_rows(doc: Document, rows: list[Any], where: str) -> list[tuple[Any, str, int | None]]:
    """``(row, JSON path, line)`` for the elements of ``rows`` found at ``where`` in ``doc``."""
    line = doc.line if doc.several else None
    return [(row, f"${where}[{i}]", line) for i, row in enumerate(rows)]
