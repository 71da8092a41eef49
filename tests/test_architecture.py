"""The arrows of DESIGN.md, held by the code: which package may import which.

Every ``import`` and ``from ... import`` of every module is read with ``ast`` (including imports
inside functions, which is where a hidden cycle would go), and each codex_metrics package may
import only the packages its row allows. Foundations (``errors``, ``config``, ``privacy``) are
open to everyone and only stack on each other (``errors`` <- ``config`` <- ``privacy``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "codex_metrics"
FOUNDATIONS = {"errors", "config", "privacy"}

#: package -> the codex_metrics packages it may import (besides itself and the foundations).
ALLOWED: dict[str, set[str]] = {
    "lake": set(),  # the bottom layer: storage imports no source and no consumer
    "telemetry": {"lake"},
    "collectors": {"lake", "telemetry.ingest"},  # parsers only, never the simulator
    "metrics": {"lake"},
    "experiments": {"lake", "metrics", "charts"},  # stats take numbers: never evaluation
    "evaluation": {"lake", "metrics", "charts"},
    "analysis": {"lake", "metrics", "experiments", "charts", "telemetry"},
    "alerts": {"lake", "metrics", "experiments", "charts"},
    "charts": set(),  # pure data -> figure functions, no page code
    "cli": {
        "lake",
        "telemetry",
        "collectors",
        "metrics",
        "experiments",
        "evaluation",
        "analysis",
        "alerts",
        "charts",
        "dashboard",
    },
    "dashboard": {
        "lake",
        "telemetry",
        "collectors",
        "metrics",
        "experiments",
        "evaluation",
        "analysis",
        "alerts",
        "charts",
    },
    "errors": set(),
    "config": set(),
    "privacy": set(),
}


def _package_of(module_path: Path) -> str:
    rel = module_path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module below codex_metrics) of every codex_metrics import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "codex_metrics":
                names = [f"codex_metrics.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "codex_metrics" or name.startswith("codex_metrics."):
                found.append((node.lineno, name.removeprefix("codex_metrics").lstrip(".")))
    return found


def _allowed(package: str, target: str) -> bool:
    if not target:
        return False
    head = target.split(".")[0]
    if head == package:
        return True
    if head in FOUNDATIONS:
        # Foundations stack: errors <- config <- privacy; everyone else may use all three.
        order = ["errors", "config", "privacy"]
        return package not in FOUNDATIONS or order.index(head) < order.index(package)
    for allowed in ALLOWED.get(package, set()):
        if target == allowed or target.startswith(allowed + ".") or head == allowed:
            if "." in allowed and not (target == allowed or target.startswith(allowed + ".")):
                continue
            return True
    return False


MODULES = sorted(p for p in SRC.rglob("*.py"))


def test_every_package_has_a_row() -> None:
    packages = {_package_of(p) for p in MODULES} - {"__init__", "__main__"}
    assert packages <= set(ALLOWED), f"add a row to ALLOWED for {packages - set(ALLOWED)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_arrows(path: Path) -> None:
    package = _package_of(path)
    if package in ("__init__", "__main__"):
        return
    bad = [
        f"{path.relative_to(SRC)}:{line} imports codex_metrics.{target}"
        for line, target in _imports(path)
        if not _allowed(package, target)
    ]
    assert not bad, f"{package} may import only {sorted(ALLOWED[package])}: " + "; ".join(bad)


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The rule table is not vacuous: known-bad imports are refused."""
    assert not _allowed("lake", "telemetry.simulator")
    assert not _allowed("experiments", "evaluation.results")
    assert not _allowed("metrics", "cli.app")
    assert not _allowed("collectors", "telemetry.simulator")
    assert _allowed("collectors", "telemetry.ingest.copilot")
    assert not _allowed("charts", "dashboard.app_pages.overview")
    assert not _allowed("errors", "lake")
    assert not _allowed("errors", "config")
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from codex_metrics.cli import app\n")
    assert _imports(module) == [(2, "cli")]


def test_no_lazy_import_hides_a_cycle_in_telemetry() -> None:
    init = (SRC / "telemetry" / "__init__.py").read_text()
    assert "__getattr__" not in init
