"""The server renders the default page once before it listens, reading and never writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codex_metrics.dashboard import APP_FILE, data, server
from codex_metrics.lake import Lake


def _versions(lake: Lake) -> dict[str, int | None]:
    return {name: t.version for name, t in lake.snapshot().tables.items()}


def test_warm_render_reads_the_lake_once_and_writes_nothing(
    lake_env: Path, dash_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    real = data.snapshot_for

    def spy(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(data, "snapshot_for", spy)  # the app imports it at each run
    before = _versions(dash_lake)
    server._warm_render(str(APP_FILE))
    assert calls == [(str(lake_env), None)]
    assert _versions(dash_lake) == before


def test_warm_render_can_be_switched_off_and_skips_a_missing_lake(
    lake_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(data, "snapshot_for", lambda *a: calls.append(a))
    monkeypatch.setattr(server, "WARM_RENDER_SECONDS", 0.0)
    server._warm_render(str(APP_FILE))
    monkeypatch.setattr(server, "WARM_RENDER_SECONDS", 60.0)
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(tmp_path / "no-lake-here"))
    server._warm_render(str(APP_FILE))
    assert calls == []
