"""Row schemas of vendor records, and the two ways rows are checked against them.

A row schema is an Arrow schema whose fields carry their rules in metadata: ``min`` (counters
are never negative), ``format`` (``day`` is ``YYYY-MM-DD``), ``required``, and ``coerce``
(ids that some files write as numbers). Unknown fields are ignored everywhere, so a field the
vendor adds never fails a file.

* The fast path parses many NDJSON lines at once with Arrow's JSON reader (explicit schema) and
  checks the result with vectorised kernels; it says only *whether* something is wrong.
* The slow path, :func:`check_row`, walks one decoded object and names the first bad field with
  its path (``totals_by_ide[0].loc_added_sum``). A chunk the fast path doubts is re-read this
  way, line by line, so every error names its line and field, and ``--skip-bad-lines`` can drop
  exactly the bad lines.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "RowError",
    "check_row",
    "counter",
    "day_field",
    "fast_path_doubts",
    "field",
    "rows_to_table",
]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RowError(ValueError):
    """One bad value in a row: the field's path and what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def field(
    name: str,
    type_: pa.DataType,
    *,
    required: bool = False,
    minimum: float | None = None,
    fmt: str | None = None,
    coerce: bool = False,
) -> pa.Field:
    """A row-schema field with its rules in the metadata."""
    meta = {}
    if required:
        meta["required"] = "1"
    if minimum is not None:
        meta["min"] = str(minimum)
    if fmt:
        meta["format"] = fmt
    if coerce:
        meta["coerce"] = "1"
    return pa.field(name, type_, metadata=meta or None)


def counter(name: str, type_: pa.DataType | None = None) -> pa.Field:
    """A non-negative counter (int64 unless ``type_``; null allowed: "not reported")."""
    return field(name, type_ or pa.int64(), minimum=0)


def day_field(name: str, *, required: bool = False) -> pa.Field:
    """A ``YYYY-MM-DD`` day string."""
    return field(name, pa.string(), required=required, fmt="day")


def _meta(f: pa.Field, key: str) -> str | None:
    if not f.metadata:
        return None
    value = f.metadata.get(key.encode())
    return value.decode() if value is not None else None


def _check_value(value: Any, f: pa.Field, path: str) -> Any:
    if value is None:
        if _meta(f, "required"):
            raise RowError(path, "is missing")
        return None
    t = f.type
    if pa.types.is_struct(t):
        if not isinstance(value, dict):
            raise RowError(path, f"must be an object, not {type(value).__name__}")
        return {
            child.name: _check_value(value.get(child.name), child, f"{path}.{child.name}")
            for child in t
        }
    if pa.types.is_list(t):
        if not isinstance(value, list):
            raise RowError(path, f"must be an array, not {type(value).__name__}")
        item = t.value_field
        return [_check_value(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        number = value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RowError(path, f"must be a number, not {value!r}")
        if pa.types.is_integer(t):
            if isinstance(value, float):
                if not value.is_integer():
                    raise RowError(path, f"must be a whole number, not {value!r}")
                number = int(value)
            if abs(number) >= 2**63:
                raise RowError(path, f"{value!r} is too large")
        low = _meta(f, "min")
        if low is not None and number < float(low):
            raise RowError(path, f"must not be negative, not {value!r}")
        return number
    if pa.types.is_boolean(t):
        if not isinstance(value, bool):
            raise RowError(path, f"must be true or false, not {value!r}")
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and _meta(f, "coerce"):
        return str(value)
    if not isinstance(value, str):
        raise RowError(path, f"must be a string, not {value!r}")
    if _meta(f, "format") == "day":
        if not _DAY.match(value):
            raise RowError(path, f"{value!r} is not a day (YYYY-MM-DD)")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise RowError(path, f"{value!r} is not a calendar day") from None
    return value


def check_row(obj: Any, schema: pa.Schema, *, prefix: str = "") -> dict[str, Any]:
    """Check one decoded row against ``schema``; return the declared fields, converted.

    Raises:
        RowError: the first bad field, with its path after ``prefix``.
    """
    if not isinstance(obj, dict):
        raise RowError(prefix or "row", f"must be a JSON object, not {type(obj).__name__}")
    sep = "." if prefix else ""
    return {f.name: _check_value(obj.get(f.name), f, f"{prefix}{sep}{f.name}") for f in schema}


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Checked rows as a table of ``schema`` (no metadata)."""
    plain = pa.schema([pa.field(f.name, f.type) for f in schema])
    return pa.Table.from_pylist(rows, schema=plain)


def _leaves(
    arr: pa.Array | pa.ChunkedArray, f: pa.Field
) -> list[tuple[pa.Field, pa.Array | pa.ChunkedArray]]:
    """Every scalar leaf of ``arr`` (lists flattened, structs opened) with its field."""
    t = f.type
    if pa.types.is_struct(t):
        out = []
        for child in t:
            out += _leaves(pc.struct_field(arr, child.name), child)
        return out
    if pa.types.is_list(t):
        return _leaves(pc.list_flatten(arr), t.value_field)
    if _meta(f, "min") is None and _meta(f, "format") != "day":
        return []
    return [(f, arr)]


def _has_rules(f: pa.Field) -> bool:
    t = f.type
    if pa.types.is_struct(t):
        return any(_has_rules(c) for c in t)
    if pa.types.is_list(t):
        return _has_rules(t.value_field)
    return _meta(f, "min") is not None or _meta(f, "format") == "day"


def fast_path_doubts(table: pa.Table, schema: pa.Schema) -> bool:
    """Whether any value of ``table`` (parsed with ``schema``) may break a rule."""
    for f in schema:
        col = table.column(f.name)
        if _meta(f, "required") and col.null_count:
            return True
        if not _has_rules(f):
            continue
        for leaf, arr in _leaves(col, f):
            if len(arr) == 0:
                continue
            low = _meta(leaf, "min")
            if low is not None:
                smallest = pc.min(arr).as_py()
                if smallest is not None and smallest < float(low):
                    return True
            if _meta(leaf, "format") == "day":
                parsed = pc.strptime(arr, "%Y-%m-%d", "s", error_is_null=True)
                if parsed.null_count != arr.null_count:
                    return True
                if pc.any(pc.not_equal(pc.utf8_length(arr), 10)).as_py():
                    return True
    return False
