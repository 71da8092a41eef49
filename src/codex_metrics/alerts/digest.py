"""The weekly digest: the week's KPIs with their change on the week before, and open alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from codex_metrics.alerts.delivery import deliver
from codex_metrics.alerts.detect import quantile_from_histogram
from codex_metrics.alerts.events import recorded_events, write_events
from codex_metrics.alerts.history import open_alerts
from codex_metrics.alerts.series import load_daily_stats
from codex_metrics.alerts.targets import AlertConfig

if TYPE_CHECKING:
    from codex_metrics.alerts.delivery import Transport
    from codex_metrics.lake import Lake, LakeSnapshot

__all__ = ["Digest", "build_digest", "send_digest"]


@dataclass(frozen=True)
class Digest:
    """One ISO week's KPIs (``this``, ``previous``, ``delta``) and the open alerts."""

    week: str
    first_day: date
    last_day: date
    kpis: list[dict[str, Any]] = field(default_factory=list)
    open_alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def digest_id(self) -> str:
        """Stable id: one digest per ISO week."""
        return f"digest-{self.week}"

    @property
    def message(self) -> str:
        """A few lines for Slack or an email body."""
        lines = [f"codex-metrics week {self.week} ({self.first_day} to {self.last_day})"]
        for k in self.kpis:
            lines.append(f"- {k['kpi']}: {_fmt(k['this'], k['unit'])} ({_delta(k)} vs last week)")
        lines.append(f"open alerts: {len(self.open_alerts)}")
        lines += [f"- {a['message']}" for a in self.open_alerts[:10]]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the payload)."""
        return {
            "kind": "digest",
            "alert_id": self.digest_id,
            "week": self.week,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "kpis": self.kpis,
            "open_alerts": [
                {k: a[k] for k in ("alert_id", "metric", "slice", "message")}
                for a in self.open_alerts
            ],
            "message": self.message,
        }


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.1%}" if unit == "ratio" else f"{value:,.0f} {unit}"


def _delta(k: dict[str, Any]) -> str:
    d = k["delta"]
    if d is None:
        return "n/a"
    if k["unit"] == "ratio":
        return f"{d * 100:+.1f} points"
    return f"{d:+,.0f} {k['unit']}"


def build_digest(snapshot: LakeSnapshot, *, week_ending: date) -> Digest:
    """KPIs over the 7 days ending ``week_ending`` against the 7 days before."""
    first = week_ending - timedelta(days=6)
    prev = first - timedelta(days=7)
    ratio = load_daily_stats(snapshot, measure="ratio", feature="code_completion", dimensions=(),
                             since=prev, until=week_ending).get(("overall", ""), {})  # fmt: skip
    quant = load_daily_stats(snapshot, measure="quantile", feature="code_completion",
                             dimensions=(), since=prev, until=week_ending).get(("overall", ""), {})  # fmt: skip
    con = snapshot.connect()

    def window(lo: date, hi: date) -> dict[str, float | None]:
        days = [s for d, s in ratio.items() if lo <= d <= hi]
        num = sum(float(s.num.sum()) for s in days if s.num is not None)
        den = sum(float(s.den.sum()) for s in days if s.den is not None)
        hist: dict[int, float] = {}
        for d, s in quant.items():
            if lo <= d <= hi and s.bins is not None and s.counts is not None:
                for b, c in zip(s.bins.tolist(), s.counts.sum(axis=0).tolist(), strict=True):
                    hist[b] = hist.get(b, 0.0) + c
        p90 = None
        if hist:
            import numpy as np

            bins = np.array(sorted(hist))
            p90 = float(quantile_from_histogram(bins, np.array([hist[b] for b in bins]), 0.9)[0])
        row = con.execute(
            "SELECT count(*), count(DISTINCT developer_id) FROM suggestions "
            "WHERE CAST(timestamp AS DATE) BETWEEN ? AND ?",
            [lo, hi],
        ).fetchone()
        return {
            "completion_acceptance_rate_by_count": num / den if den else None,
            "completion_latency_p90_ms": p90,
            "suggestions": float(row[0]) if row else None,
            "active_developers": float(row[1]) if row else None,
        }

    this, before = window(first, week_ending), window(prev, first - timedelta(days=1))
    units = {"completion_acceptance_rate_by_count": "ratio", "completion_latency_p90_ms": "ms",
             "suggestions": "suggestions", "active_developers": "developers"}  # fmt: skip
    kpis = [
        {
            "kpi": name,
            "unit": units[name],
            "this": this[name],
            "previous": before[name],
            "delta": None
            if this[name] is None or before[name] is None
            else this[name] - before[name],  # type: ignore[operator]
        }
        for name in units
    ]
    iso = week_ending.isocalendar()
    return Digest(f"{iso.year}-W{iso.week:02d}", first, week_ending, kpis, open_alerts(snapshot))


def send_digest(
    lake: Lake,
    config: AlertConfig,
    *,
    week_ending: date | None = None,
    dry_run: bool = False,
    transport: Transport | None = None,
    sleep: Any = None,
) -> tuple[Digest, bool]:
    """Build the week's digest and deliver it through the alert channels, once per week.

    ``week_ending`` defaults to the last day with data; the digest id is the ISO week.
    """
    snapshot = lake.snapshot()
    if week_ending is None:
        row = (
            snapshot.connect()
            .execute("SELECT max(CAST(timestamp AS DATE)) FROM suggestions")
            .fetchone()
        )
        week_ending = row[0] if row and row[0] else datetime.now(UTC).date()
    assert week_ending is not None
    digest = build_digest(snapshot, week_ending=week_ending)
    if dry_run:
        return digest, True
    history = recorded_events(snapshot)
    if not any(r["alert_id"] == digest.digest_id and r["event"] == "fired" for r in history):
        write_events(
            lake,
            [
                {
                    "alert_id": digest.digest_id,
                    "event": "fired",
                    "at": datetime.now(UTC),
                    "alert_kind": "digest",
                    "channel": "",
                    "attempt": 0,
                    "message": digest.message.splitlines()[0],
                }
            ],  # fmt: skip
        )
    ok = deliver(lake, config, digest.digest_id, "digest", digest.message, digest.to_dict(),
                 history=history, transport=transport, sleep=sleep)  # fmt: skip
    return digest, ok
