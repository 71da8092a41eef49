"""``codex-metrics annotate``: record a deploy, release, rollout or incident for the charts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from codex_metrics.cli.options import LakeOption, open_lake, parse_day

__all__ = ["annotate"]


def annotate(
    day: Annotated[str, typer.Argument(help="The UTC day it happened, YYYY-MM-DD.")],
    text: Annotated[str, typer.Argument(help="What happened, as charts should show it.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="deploy, model_release, rollout, incident, experiment_start, experiment_end "
            "or other.",
        ),
    ] = "other",
    model: Annotated[
        str | None, typer.Option("--model", help="Model version released or deployed.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day of a multi-day event (YYYY-MM-DD).")
    ] = None,
    applies_to: Annotated[
        str | None,
        typer.Option("--applies-to", help="The slice it concerns, as DIM=VALUE[,DIM=VALUE]."),
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Link to release notes.")] = None,
    lake: LakeOption = None,
) -> None:
    """Record an annotation: the dashboard draws it as a milestone, alerts test after it.

    Repeating the same annotation changes nothing.

    Example: codex-metrics annotate 2025-03-17 "completion model v2 deployed" --kind deploy --model v2
    """
    from codex_metrics.alerts import Annotation, add_annotations

    note = Annotation(
        day=parse_day(day, "DAY") or date.min,
        text=text,
        kind=kind,
        model_version=model,
        end_day=parse_day(end, "--end"),
        applies_to=applies_to,
        url=url,
    )
    add_annotations(open_lake(lake), [note])
    typer.echo(f"annotated {note.day} ({note.kind}): {note.text}")
