"""Annotations: deploys, model releases, rollouts, incidents, experiment starts.

Written by ``codex-metrics annotate`` (and by the simulator's scenarios), drawn by the dashboard
as milestones, and tested by the alerts for a change after them. An annotation's id is derived
from its day, kind, text and model, so repeating a command changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from codex_metrics.errors import ParameterError
from codex_metrics.lake import Lake, LakeSnapshot, WriteReport
from codex_metrics.lake.tables_operations import ANNOTATION_KINDS

__all__ = ["ANNOTATE_SOURCE", "Annotation", "add_annotations", "list_annotations"]

#: ``source`` of annotations people write (the simulator writes its own with ``simulator``).
ANNOTATE_SOURCE = "annotate"


@dataclass(frozen=True)
class Annotation:
    """One event worth a line on a chart."""

    day: date
    text: str
    kind: str = "other"
    model_version: str | None = None
    end_day: date | None = None
    applies_to: str | None = None
    experiment_id: str | None = None
    url: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind not in ANNOTATION_KINDS:
            raise ParameterError(
                "--kind", f"{self.kind!r} is not one of {', '.join(ANNOTATION_KINDS)}"
            )
        if not self.text.strip():
            raise ParameterError("TEXT", "say what happened (a short text shown on charts)")
        if self.end_day is not None and self.end_day < self.day:
            raise ParameterError("--end", f"{self.end_day} is before the day {self.day}")

    @property
    def annotation_id(self) -> str:
        """Stable id: the same annotation written twice is one row."""
        raw = "|".join(
            [self.day.isoformat(), self.kind, self.text.strip(), self.model_version or ""]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def add_annotations(
    lake: Lake,
    annotations: Iterable[Annotation],
    *,
    source: str = ANNOTATE_SOURCE,
    scope: str = "manual",
    created_by: str | None = None,
) -> WriteReport:
    """Write annotations (merged by id: repeating one changes nothing) in one commit."""
    now = datetime.now(UTC)
    rows = [
        {
            "annotation_id": a.annotation_id,
            "kind": a.kind,
            "text": a.text.strip(),
            "at": a.at,
            "end_day": a.end_day,
            "model_version": a.model_version,
            "applies_to": a.applies_to,
            "experiment_id": a.experiment_id,
            "url": a.url,
            "created_at": now,
            "created_by": created_by,
            "day": a.day,
        }
        for a in annotations
    ]
    if not rows:
        return WriteReport(table="annotations")
    schema = pa.schema(
        [
            ("annotation_id", pa.string()), ("kind", pa.string()), ("text", pa.string()),
            ("at", pa.timestamp("us", tz="UTC")), ("end_day", pa.date32()),
            ("model_version", pa.string()), ("applies_to", pa.string()),
            ("experiment_id", pa.string()), ("url", pa.string()),
            ("created_at", pa.timestamp("us", tz="UTC")), ("created_by", pa.string()),
            ("day", pa.date32()),
        ]
    )  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=schema)
    return lake.write_table("annotations", table, source=source, scope=scope, mode="merge")


def list_annotations(
    snapshot: LakeSnapshot, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Annotations in [since, until], oldest first, as plain rows.

    People's annotations always show; annotations a source wrote (the simulator's milestones)
    show only when that source is selected, so a simulated deploy never marks real charts.
    """
    con = snapshot.connect()
    rows = con.execute(
        "SELECT day, kind, text, model_version, end_day, applies_to, experiment_id, url, source "
        "FROM annotations WHERE (? IS NULL OR day >= ?) AND (? IS NULL OR day <= ?) "
        "ORDER BY day, kind, text",
        [since, since, until, until],
    ).fetchall()
    names = ["day", "kind", "text", "model_version", "end_day", "applies_to", "experiment_id",
             "url", "source"]  # fmt: skip
    out = [dict(zip(names, r, strict=True)) for r in rows]
    return [
        r for r in out if r["source"] == ANNOTATE_SOURCE or snapshot.sources.includes(r["source"])
    ]
