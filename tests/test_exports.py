"""Each package's public surface is its __all__, sorted, and every name in it exists (httpx's rule)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "codex_metrics.lake",
    "codex_metrics.telemetry",
    "codex_metrics.errors",
    "codex_metrics.config",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported, key=lambda n: (not n.isupper(), n))
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"
    is_package = hasattr(module, "__path__")

    def defined_here(value: object) -> bool:
        home = getattr(value, "__module__", "") or ""
        return home.startswith(f"{name}.") if is_package else home == name

    public = {n for n, v in vars(module).items() if not n.startswith("_") and defined_here(v)}
    assert public <= set(exported), f"{name} exposes {public - set(exported)} without listing them"
