"""Every package's public surface: its ``__all__``, sorted, complete, documented, one meaning.

httpx's rule: a package re-exports its small public surface in ``__init__`` and lists it in
``__all__`` (constants first, then the rest, each group sorted); every listed name exists and
every public name defined in the package is listed. And one name means one thing: a name that
two packages export must be the same object (``MetricResult`` in metrics and another
``MetricResult`` in experiments was the kind of collision this stops).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest

import codex_metrics

PACKAGES = sorted(
    {f"codex_metrics.{m.name}" for m in pkgutil.iter_modules(codex_metrics.__path__)}
    - {"codex_metrics.cli", "codex_metrics.__main__"}
)


def _key(name: str) -> tuple[bool, str]:
    return (not name.isupper(), name)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported, key=_key)
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"
    is_package = hasattr(module, "__path__")

    def defined_here(value: object) -> bool:
        home = getattr(value, "__module__", "") or ""
        return home.startswith(f"{name}.") if is_package else home == name

    public = {n for n, v in vars(module).items() if not n.startswith("_") and defined_here(v)}
    assert public <= set(exported), f"{name} exposes {public - set(exported)} without listing them"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_callables_and_classes_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    undocumented = [
        attr
        for attr in module.__all__
        if callable(getattr(module, attr))
        and getattr(getattr(module, attr), "__module__", "").startswith("codex_metrics")
        and not (getattr(module, attr).__doc__ or "").strip()
    ]
    assert undocumented == []


def test_one_name_has_one_meaning_across_packages() -> None:
    owners: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name in PACKAGES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            owners[attr][id(getattr(module, attr))].append(name)
    clashes = {
        attr: sorted(p for ps in objs.values() for p in ps)
        for attr, objs in owners.items()
        if len(objs) > 1
    }
    assert clashes == {}, f"the same public name means different things: {clashes}"
