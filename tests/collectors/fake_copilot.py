"""Copilot usage-metrics report links and downloads, served from the recorded viewer files.

The organisation 28-day links body is the recorded one (its link is relative, pointing at the
viewer's mock file, served here at that path). No recording exists of the per-user or
user-teams links bodies, nor of a signed storage URL: those bodies are built from the
documented shape ``{download_links, report_start_day, report_end_day}`` / ``{..., report_day}``
(shared/notes/data-sources.md section 1.3) with links on another host, ``objects.example``,
carrying a made-up signature, so the tests see what happens to credentials there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from . import recordings

NEW_API = recordings.FIXTURES / "copilot-metrics" / "new-api"
MORE = recordings.FIXTURES / "copilot-metrics" / "more"
STORAGE = "https://objects.example/copilot-reports"
FILES = {
    "organization-1-day-report.json": NEW_API / "organization-1-day-report.json",
    "organization-users-1-day-report.json": NEW_API / "organization-users-1-day-report.json",
    "organization-user-teams-1-day-report.json": MORE / "organization-user-teams-1-day-report.json",
}


def synthetic_links(name: str, storage: str = STORAGE, **days: str) -> dict[str, Any]:
    link = f"{storage}/{name}?sv=2026&se=2026-11-26T06%3A10Z&sig=c2lnbmF0dXJl"
    return {"download_links": [link], **days}


class FakeCopilot:
    """Routes for ``FakeGitHub.extra``: report links under /orgs/acme, files on storage."""

    def __init__(self, org: str = "acme", *, missing_days: tuple[str, ...] = ()) -> None:
        self.org = org
        self.missing_days = set(missing_days)
        self.downloads: list[httpx.Request] = []
        self.links: list[httpx.Request] = []
        self.broken: set[str] = set()
        self.storage = STORAGE

    def routes(self) -> dict[str, Any]:
        return {f"/orgs/{self.org}/copilot/": self.report, "/mock-data/": self.file,
                "/copilot-reports/": self.file}  # fmt: skip

    def report(self, request: httpx.Request) -> httpx.Response:
        self.links.append(request)
        name = request.url.path.rsplit("/reports/", 1)[-1]
        day = request.url.params.get("day")
        if day in self.missing_days:
            return httpx.Response(404, json={"message": "Not Found"}, request=request)
        if name == "organization-28-day/latest":
            body = json.loads((NEW_API / "download-links-organization-28-day.json").read_text())
            body["download_links"] = ["/mock-data/new-api/organization-1-day-report.json"]
        elif name == "users-28-day/latest":
            body = synthetic_links("organization-users-1-day-report.json", self.storage,
                                   report_start_day="2026-10-29", report_end_day="2026-11-25")  # fmt: skip
        elif name.endswith("-1-day"):
            file = {"organization-1-day": "organization-1-day-report.json",
                    "users-1-day": "organization-users-1-day-report.json",
                    "user-teams-1-day": "organization-user-teams-1-day-report.json"}[name]  # fmt: skip
            body = synthetic_links(file, self.storage, report_day=day or "")
        else:
            return httpx.Response(404, json={"message": "Not Found"}, request=request)
        return httpx.Response(200, json=body, request=request)

    def file(self, request: httpx.Request) -> httpx.Response:
        self.downloads.append(request)
        name = request.url.path.rsplit("/", 1)[-1]
        if name in self.broken:
            return httpx.Response(
                200, content=b'{"day_totals": [{"day": "not a da', request=request
            )
        path: Path = FILES[name]
        return httpx.Response(200, content=path.read_bytes(), request=request)
