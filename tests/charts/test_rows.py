"""The dashboard's figures: titles, axis titles with units, gaps drawn as gaps, milestones."""

from __future__ import annotations

from codex_metrics.charts.rows import (
    rows_bar,
    rows_histogram,
    rows_share,
    rows_time_series,
    survey_radar,
)

ROWS = [
    {"period": "2025-03-03", "value": 0.30, "language": "python"},
    {"period": "2025-03-04", "value": None, "language": "python"},  # a gap
    {"period": "2025-03-05", "value": 0.32, "language": "python"},
    {"period": "2025-03-03", "value": 0.25, "language": "go"},
]


def test_time_series_keeps_gaps_and_labels_units() -> None:
    fig = rows_time_series(ROWS, title="Acceptance", unit="ratio", by="language")
    assert fig.layout.title.text == "Acceptance"
    assert fig.layout.xaxis.title.text == "day (UTC)" and fig.layout.yaxis.title.text == "share"
    python = next(t for t in fig.data if t.name == "python")
    assert list(python.y) == [0.30, None, 0.32] and python.connectgaps is False
    assert {t.name for t in fig.data} == {"go", "python"}
    assert fig.layout.yaxis.tickformat == ".0%"


def test_milestones_are_labelled_vertical_lines() -> None:
    fig = rows_time_series(ROWS[:1], title="t", unit="users",
                      milestones=[{"day": "2025-03-04", "text": "deploy v2"}])  # fmt: skip
    assert [s.type for s in fig.layout.shapes] == ["line"]
    assert [a.text for a in fig.layout.annotations] == ["deploy v2"]


def test_bars_with_intervals_and_shares() -> None:
    rows = [{"metric": "a", "value": 0.1, "low": 0.05, "high": 0.2}]
    fig = rows_bar(rows, title="Lift", category="metric", unit="ratio", low="low", high="high",
                    horizontal=True)  # fmt: skip
    bar = fig.data[0]
    assert list(bar.error_x.array) == [0.1] and list(bar.error_x.arrayminus) == [0.05]
    assert fig.layout.xaxis.title.text == "share"
    pie = rows_share(ROWS, title="Mix", category="language")
    assert list(pie.data[0].labels) == ["python", "python", "go"]  # null rows dropped
    hist = rows_histogram([{"bucket": "b", "value": 0.5}, {"bucket": "a", "value": 0.5}],
                           title="h", bucket="bucket", unit="ms")  # fmt: skip
    assert (
        list(hist.data[0].x) == ["a", "b"]
        and hist.layout.xaxis.title.text == "bucket (milliseconds)"
    )


def test_radar_closes_its_polygon() -> None:
    fig = survey_radar({"flow": 4.0, "trust": 3.5, "ease": None}, title="Happiness")
    assert list(fig.data[0].theta) == ["flow", "trust", "flow"]
