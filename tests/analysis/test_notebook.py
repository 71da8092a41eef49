"""The productivity notebook runs top to bottom on a small world, with the library's API only.

Executed with nbclient in the kernel ``./scripts/setup`` registers (``codex-metrics``, the
project's virtualenv); the world is 500 developers over 8 weeks, built by the notebook itself.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[2] / "notebooks" / "productivity_analysis.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def test_notebook_imports_only_public_library_names() -> None:
    nb = _notebook()
    imported = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("codex_metrics"):
                module = importlib.import_module(node.module or "")
                public = set(getattr(module, "__all__", ()))
                for alias in node.names:
                    assert alias.name in public, f"{node.module}.{alias.name} is not public API"
                    imported += 1
    assert imported >= 8


def test_notebook_is_stored_without_outputs() -> None:
    """The repository holds the story; outputs belong to a run (CI executes it below)."""
    for cell in _notebook().cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def test_notebook_executes_on_a_small_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _notebook()
    kernel = nb.metadata["kernelspec"]["name"]
    try:
        KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        pytest.fail(f"kernel {kernel!r} is not registered: run ./scripts/setup")
    lake = tmp_path / "lake"
    monkeypatch.setenv("CODEX_METRICS_LAKE", str(lake))
    monkeypatch.setenv("NOTEBOOK_DEVELOPERS", "500")
    client = NotebookClient(
        nb, timeout=300, kernel_name=kernel, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(
        o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
        for o in outputs
    )
    figures = [o["data"][PLOTLY] for o in outputs if PLOTLY in o.get("data", {})]
    assert len(figures) >= 4
    assert all(fig["data"] for fig in figures)  # every chart drew something
    for needle in ("callaway_santanna", "aipw", "pre-trend test p", "placebo", "E-value",
                   "cv_auc", "segment 0", "failure_share_shift", "published"):  # fmt: skip
        assert needle in text, needle
    # The adoption summary: adopters have less experience than non-adopters in `rollout`.
    summary = next(o for o in outputs if "adopters_mean_experience" in str(o.get("data", {})))
    developers, adopters, adopters_exp, others_exp = map(
        float, summary["data"]["text/plain"].splitlines()[-1].split()[1:]
    )
    assert developers == 500 and 0 < adopters < developers and adopters_exp < others_exp
    # Rows of the causal table say whether their interval covers the simulator's truth.
    assert "covers_truth" in text
    # The notebook published to the lake it was given and wrote the HTML report there.
    report = (lake / "productivity.html").read_text(encoding="utf-8")
    assert "plotly" in report.lower() and "Callaway" in report
