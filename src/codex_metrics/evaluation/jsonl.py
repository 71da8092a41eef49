"""Reading JSON Lines with errors that name the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from codex_metrics.errors import InputFormatError

__all__ = ["jsonl_records"]


def jsonl_records(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, parsed value)`` for the non-blank ``lines`` read from ``path``.

    Raises:
        InputFormatError: a line is not valid JSON (names ``path`` and the 1-based line).
    """
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputFormatError(path, f"not valid JSON ({exc.msg})", line=number) from None
        except RecursionError:
            raise InputFormatError(path, "JSON nested too deeply", line=number) from None
