"""Reading input files: compression, the JSON-or-lines sniff, line chunks and JSON documents.

Vendors deliver the same data in several layouts: GitHub's per-user reports are NDJSON, the
viewer's mocks wrap rows in ``{..., "day_totals": [...]}``, entity reports are one JSON object,
an array of them, or several documents on separate lines. Like copilot-metrics-viewer's
``downloadUserReport``, a file is read as JSON first and as a sequence of documents second.
Large per-user files are NDJSON: they are read in line-aligned chunks, never whole, so memory
stays flat in file size. Raw archives are zstd- (or gzip-) compressed; reading decompresses
transparently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import pyarrow as pa

from codex_metrics.errors import InputFormatError

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "Document",
    "LineChunk",
    "Sniff",
    "compression_of",
    "iter_line_chunks",
    "load_documents",
    "open_binary",
    "sniff",
]

DEFAULT_CHUNK_BYTES = 32 << 20
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_SNIFF_BYTES = 1 << 20


def _compression(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(4)
    for magic, codec in _MAGIC.items():
        if head.startswith(magic):
            return codec
    return None


def compression_of(path: Path) -> str | None:
    """``gzip`` or ``zstd`` when the file is compressed (by its first bytes), else ``None``."""
    return _compression(path)


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip or zstd files transparently.

    Raises:
        InputFormatError: the file cannot be opened.
    """
    try:
        codec = _compression(path)
        if codec is None:
            return path.open("rb")
        stream: Any = pa.input_stream(str(path), compression=codec)
        return cast(BinaryIO, stream)
    except OSError as exc:
        raise InputFormatError(path, f"cannot read the file ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class Sniff:
    """What the start of a file looks like.

    Attributes:
        layout: ``lines`` when the first line is a whole JSON object (NDJSON, or documents on
            separate lines), ``document`` otherwise (pretty-printed JSON, an array), ``empty``.
        first: the first line's object in ``lines`` layout.
    """

    layout: Literal["lines", "document", "empty"]
    first: dict[str, Any] | None = None


def sniff(path: Path) -> Sniff:
    """Look at the first line of ``path`` (decompressed) to choose how to read it."""
    with open_binary(path) as fh:
        head = fh.read(_SNIFF_BYTES)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if not stripped:
        return Sniff("empty")
    first_line = stripped.split("\n", 1)[0].strip()
    try:
        obj = json.loads(first_line)
    except ValueError:
        return Sniff("document")
    return Sniff("lines", obj) if isinstance(obj, dict) else Sniff("document")


@dataclass(frozen=True)
class LineChunk:
    """A run of whole lines of a file.

    Attributes:
        first_line: 1-based number of the chunk's first line.
        data: the bytes, ending with a newline (except, maybe, at the end of the file).
    """

    first_line: int
    data: bytes

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """``(line number, line)`` for every non-blank line of the chunk."""
        for offset, line in enumerate(self.data.split(b"\n")):
            if line.strip():
                yield self.first_line + offset, line


def iter_line_chunks(path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[LineChunk]:
    """Read ``path`` in chunks of about ``chunk_bytes`` that end at a line boundary."""
    line = 1
    rest = b""
    with open_binary(path) as fh:
        while True:
            block = fh.read(chunk_bytes)
            if not block:
                break
            data = rest + block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            chunk, rest = data[: cut + 1], data[cut + 1 :]
            if line == 1:
                chunk = chunk.removeprefix(b"\xef\xbb\xbf")
            yield LineChunk(line, chunk)
            line += chunk.count(b"\n")
    if rest.strip():
        yield LineChunk(line, rest.removeprefix(b"\xef\xbb\xbf") if line == 1 else rest)


@dataclass(frozen=True)
class Document:
    """One JSON document of a file and the line it starts on (1 for a single document)."""

    value: Any
    line: int
    index: int
    several: bool


def load_documents(path: Path) -> list[Document]:
    """Every JSON document in ``path``: one (JSON first), else a sequence (documents on lines).

    Raises:
        InputFormatError: the file is neither, e.g. truncated (names the line of the error).
    """
    with open_binary(path) as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise InputFormatError(path, f"not UTF-8 text (byte {exc.start})") from None
    try:
        return [Document(json.loads(text), 1, 0, False)]
    except json.JSONDecodeError as whole:
        first_error = whole
    decoder = json.JSONDecoder()
    docs: list[Document] = []
    pos, line = 0, 1
    while True:
        skip = len(text) - pos - len(text[pos:].lstrip())
        line += text.count("\n", pos, pos + skip)
        pos += skip
        if pos >= len(text):
            break
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            error = exc if docs else first_error
            raise InputFormatError(
                path, f"not valid JSON ({error.msg}, column {error.colno})", line=error.lineno
            ) from None
        docs.append(Document(value, line, len(docs), True))
        line += text.count("\n", pos, end)
        pos = end
    if not docs:
        raise InputFormatError(path, "the file is empty")
    return docs
