"""Targets, regression detection and alerts; today the annotations charts and alerts share."""

from codex_metrics.alerts.annotations import (
    ANNOTATE_SOURCE,
    Annotation,
    add_annotations,
    list_annotations,
)

__all__ = ["ANNOTATE_SOURCE", "Annotation", "add_annotations", "list_annotations"]
