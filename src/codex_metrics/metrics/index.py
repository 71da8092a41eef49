"""A generated index of the catalogue, so listing metrics loads no query engine.

``catalogue_index.json`` beside this module holds :func:`~codex_metrics.metrics.catalogue.
metric_definition` of every metric, written by ``codex-metrics metrics docs`` and held equal to
the live catalogue by a test. ``metrics list`` and the CLI's help read it; computing a metric
always uses the live catalogue.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from codex_metrics.errors import MetricError
from codex_metrics.metrics.catalogue import FAMILIES

__all__ = ["INDEX_FILE", "catalogue_index", "render_catalogue_index"]

INDEX_FILE = Path(__file__).with_name("catalogue_index.json")


def catalogue_index(family: str | None = None) -> list[dict[str, Any]]:
    """Every metric's definition (of one family), in catalogue order.

    Raises:
        MetricError: ``family`` is not a family (with the closest one).
    """
    if family is not None and family not in FAMILIES:
        close = difflib.get_close_matches(family, FAMILIES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise MetricError(
            f"unknown family {family!r}{hint} Families: {', '.join(FAMILIES)}".replace(
                "? Families", "? families"
            )
        )
    entries: list[dict[str, Any]] = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    return [e for e in entries if family is None or e["family"] == family]


def render_catalogue_index() -> str:
    """The index as it must be for the live catalogue (loads every family module)."""
    from codex_metrics.metrics.catalogue import list_metrics, metric_definition

    return json.dumps([metric_definition(m) for m in list_metrics()], indent=1) + "\n"
