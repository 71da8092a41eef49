"""Fixtures of the collector tests: a fake clock that never sleeps, fakes, sessions, a lake."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from codex_metrics.collectors import ApiSession, RequestBudget, StaticToken, github_session
from codex_metrics.lake import Lake
from codex_metrics.privacy import pseudonymise

from .fake_github import FakeGitHub

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


class FakeClock:
    """A clock whose sleep only moves it forward (and remembers every sleep)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture(autouse=True)
def _no_collector_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's GitHub App or Stack Exchange settings."""
    for name in (
        "GITHUB_API_URL",
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_PRIVATE_KEY_PATH",
        "GITHUB_APP_INSTALLATION_ID",
        "STACKEXCHANGE_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def fake() -> FakeGitHub:
    """The fake GitHub with six weeks of star history (the full 40 cost 224 lake partitions)."""
    return FakeGitHub(history=FakeGitHub().history[:6])


@pytest.fixture()
def lake(tmp_path: Path) -> Lake:
    return Lake.open(tmp_path / "lake")


def pseudonym(login: str) -> str:
    return pseudonymise(login, key="test-key")


SessionFactory = Callable[..., ApiSession]


@pytest.fixture()
def make_session(clock: FakeClock) -> SessionFactory:
    """A GitHub session over a MockTransport handler, with the fake clock and a seeded jitter."""

    def build(
        handler: Callable[[httpx.Request], httpx.Response],
        *,
        budget: int | None = None,
        max_wait: float = 900.0,
        token: str | None = "ghp_test_token",
        api_url: str = "https://api.github.com",
    ) -> ApiSession:
        session = github_session(
            httpx.Client(transport=httpx.MockTransport(handler)),
            api_url=api_url,
            token=StaticToken(token) if token else None,
            budget=RequestBudget(budget),
            clock=clock,
            sleep=clock.sleep,
            max_wait=max_wait,
        )
        session.rng = random.Random(7)
        return session

    return build
