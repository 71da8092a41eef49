"""Loading the recorded responses in ../shared/fixtures (three formats) and our synthetic ones.

* ``github/*.json``: PyGithub replays re-serialised as ``{request, status, headers, body}``
  (several exchanges: ``{"exchanges": [...]}``);
* ``github/more/octokit-fixtures/*.raw-fixture.json``: nock recordings with ``rawHeaders``;
* ``github/more/pygithub-replay/*.txt``: PyGithub's 10-line replay format;
* ``tests/collectors/fixtures/synthetic-*.json``: built from DOCUMENTED_SHAPES.md where no
  public recording exists (see that folder's SOURCES.md).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FIXTURES = SHARED / "fixtures"
GITHUB = FIXTURES / "github"
SYNTHETIC = Path(__file__).resolve().parent / "fixtures"


@dataclass
class Exchange:
    """One recorded request and response."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: Any
    request_headers: dict[str, str] = field(default_factory=dict)

    def response(self, request: httpx.Request, **changes: Any) -> httpx.Response:
        """The recorded response for ``request`` (body re-encoded; encodings dropped)."""
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        }
        headers.update(changes.pop("headers", {}))
        body = changes.pop("body", self.body)
        content = b"" if body is None else json.dumps(body).encode()
        return httpx.Response(
            changes.pop("status", self.status), headers=headers, content=content, request=request
        )


def github(name: str) -> list[Exchange]:
    """The exchanges of ``fixtures/github/<name>``."""
    doc = json.loads((GITHUB / name).read_text())
    items = doc["exchanges"] if "exchanges" in doc else [doc]
    return [
        Exchange(
            e["request"]["method"],
            e["request"]["path"],
            e["status"],
            dict(e["headers"]),
            e["body"],
            dict(e["request"].get("headers", {})),
        )
        for e in items
    ]


def octokit(name: str) -> list[Exchange]:
    """The exchanges of an octokit raw fixture (``rawHeaders`` is a flat name/value list)."""
    doc = json.loads((GITHUB / "more" / "octokit-fixtures" / name).read_text())
    out = []
    for r in doc:
        raw = r["rawHeaders"]
        out.append(
            Exchange(
                r["method"].upper(),
                r["path"],
                r["status"],
                dict(zip(raw[::2], raw[1::2], strict=True)),
                r["response"],
            )  # fmt: skip
        )
    return out


def pygithub(name: str) -> list[Exchange]:
    """The exchanges of a PyGithub replay file (10 lines each, blank line between)."""
    lines = (GITHUB / "more" / "pygithub-replay" / name).read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        rec = lines[i : i + 10]
        i += 11
        body = rec[9].strip()
        out.append(
            Exchange(
                rec[1],
                rec[4],
                int(rec[7]),
                dict(ast.literal_eval(rec[8])),
                json.loads(body) if body else None,
                ast.literal_eval(rec[5]),
            )  # fmt: skip
        )
    return out


def synthetic(name: str) -> Any:
    """A synthetic fixture of ``tests/collectors/fixtures`` (see its SOURCES.md)."""
    assert name.startswith("synthetic-"), "synthetic fixtures say so in their name"
    return json.loads((SYNTHETIC / name).read_text())


def stackexchange(name: str) -> Any:
    """A recorded Stack Exchange body."""
    return json.loads((FIXTURES / "stackexchange" / name).read_text())


def copilot(name: str) -> Path:
    """A Copilot usage-metrics fixture file."""
    return FIXTURES / "copilot-metrics" / "new-api" / name
