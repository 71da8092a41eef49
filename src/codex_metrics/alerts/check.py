"""``alerts check``: detect, de-duplicate, cool down, record and deliver.

Detection reads one scan per target (:mod:`codex_metrics.alerts.series`), tests every series
(:mod:`codex_metrics.alerts.detect`), groups the firing series of one incident into one alert,
drops alerts in their cool-down, records ``fired`` rows in ``alert_events`` and delivers them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from codex_metrics.alerts.delivery import deliver
from codex_metrics.alerts.detect import (
    Alert,
    DayPoint,
    SeriesStatus,
    evaluate_series,
    find_gaps,
    fired_days,
    group_incidents,
    slice_label,
)
from codex_metrics.alerts.events import alert_rows, recorded_events, write_events
from codex_metrics.alerts.lock import check_lock
from codex_metrics.alerts.series import DailyStats, SeriesKey, daily_volume, load_daily_stats
from codex_metrics.alerts.targets import AlertConfig, Target

if TYPE_CHECKING:
    from codex_metrics.alerts.delivery import Transport
    from codex_metrics.lake import Lake, LakeSnapshot

__all__ = ["CheckResult", "detect_alerts", "run_check"]


@dataclass
class CheckResult:
    """What a check found and did."""

    alerts: list[Alert] = field(default_factory=list)  # fired now (after cool-down)
    suppressed: list[Alert] = field(default_factory=list)  # in cool-down or already recorded
    undelivered: list[str] = field(default_factory=list)  # alert ids some channel did not take
    resolved: list[str] = field(default_factory=list)  # open alerts back to normal
    points: dict[tuple[str, str], list[DayPoint]] = field(default_factory=dict)
    gaps: list[date] = field(default_factory=list)
    locked: bool = False
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``--output``/JSON."""
        return {
            "fired": [a.to_dict() for a in self.alerts],
            "suppressed": [a.alert_id for a in self.suppressed],
            "undelivered": self.undelivered,
            "resolved": self.resolved,
            "gaps": [d.isoformat() for d in self.gaps],
            "dry_run": self.dry_run,
        }


def _dims(target: Target) -> tuple[str, ...]:
    dims = tuple(s for s in target.slices if s != "overall")
    if target.over_feature is not None:
        dims = tuple(d for d in dims if d != "feature")
    return dims


def detect_alerts(
    snapshot: LakeSnapshot,
    config: AlertConfig,
    *,
    since: date,
    until: date | None = None,
    annotations: list[dict[str, Any]] | None = None,
    points_out: dict[tuple[str, str], list[DayPoint]] | None = None,
    gaps_out: list[date] | None = None,
) -> list[Alert]:
    """Every incident whose detection day is in [since, until], one alert each (no cool-down)."""
    volume = daily_volume(snapshot, since=since - timedelta(days=120), until=until)
    if not volume:
        return []
    last = until or max(volume)
    gaps = find_gaps(volume, min(volume), last, config)
    if gaps_out is not None:
        gaps_out.extend(sorted(g for g in gaps if g >= since))
    candidates: list[Alert] = []
    for target in config.effective_targets():
        data = load_daily_stats(
            snapshot,
            measure=target.measure,
            feature=target.over_feature,
            dimensions=_dims(target),
            since=since - timedelta(days=target.window_days + 7),
            until=last,
        )
        if "overall" not in target.slices:
            data = {k: v for k, v in data.items() if k[0] != "overall"}
        if target.kind == "after_annotation":
            candidates += _after_annotations(target, data, annotations or [], since, last, gaps,
                                             config)  # fmt: skip
            continue
        per_day: dict[date, list[tuple[SeriesKey, DayPoint]]] = {}
        fired: list[tuple[SeriesKey, DayPoint, date]] = []
        for key, series in data.items():
            points = evaluate_series(target, key, series, first=since, last=last, gaps=gaps,
                                     config=config)  # fmt: skip
            if points_out is not None:
                points_out[(target.name, slice_label(key))] = points
            for p in points:
                per_day.setdefault(p.day, []).append((key, p))
            fired += [(key, p, start) for p, start in fired_days(points, config)]
        for key, p, start in fired:
            candidates.append(_alert(target, key, p, start, per_day.get(p.day, [])))
    return group_incidents(candidates)


def _alert(
    target: Target,
    key: SeriesKey,
    p: DayPoint,
    start: date,
    same_day: list[tuple[SeriesKey, DayPoint]],
    annotation_id: str | None = None,
) -> Alert:
    others = sorted(
        (
            (k, q)
            for k, q in same_day
            if k != key and k[0] != "overall" and q.status == SeriesStatus.OK and q.z > 0
        ),
        key=lambda kq: -kq[1].z,
    )
    contributors = tuple(
        {"slice": slice_label(k), "observed": q.value, "expected": q.expected, "z": round(q.z, 2)}
        for k, q in others[:3]
    )
    bad = target.bad_direction
    direction = bad
    if target.kind == "after_annotation":
        direction = "increase" if p.value > p.expected else "decrease"
    return Alert(
        rule=target.name,
        target_kind=target.kind,
        metric=target.metric,
        slice=slice_label(key),
        day=p.day,
        change_start_day=start,
        observed=p.value,
        expected=p.expected,
        lower=p.lower,
        upper=p.upper,
        unit=target.unit,
        direction=direction,
        z=p.z,
        contributors=contributors,
        annotation_id=annotation_id,
    )


def _after_annotations(
    target: Target,
    data: dict[SeriesKey, dict[date, DailyStats]],
    annotations: list[dict[str, Any]],
    since: date,
    last: date,
    gaps: set[date],
    config: AlertConfig,
) -> list[Alert]:
    out: list[Alert] = []
    for note in annotations:
        day = note["day"]
        if note["kind"] not in target.kinds or day > last or day + timedelta(days=7) < since:
            continue
        key: SeriesKey = ("overall", "")
        model = note.get("model_version")
        if model and ("model_version", model) in data:
            key = ("model_version", model)
        series = data.get(key)
        if not series:
            continue
        points = evaluate_series(target, key, series, first=day, last=min(last, day + timedelta(days=6)),
                                 gaps=gaps, config=config, baseline_until=day)  # fmt: skip
        evaluated = [p for p in points if p.status == SeriesStatus.OK][:2]
        hit = next((p for p in evaluated if p.z >= config.z_two_days), None)
        if hit is not None and hit.day >= since:
            out.append(_alert(target, key, hit, day, [], annotation_id=note.get("annotation_id")))
    return out


def run_check(
    lake: Lake,
    config: AlertConfig,
    *,
    since: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    transport: Transport | None = None,
    sleep: Any = None,
) -> CheckResult:
    """Detect, apply the cool-down, record and deliver; holds the check lock throughout.

    Returns a result with ``locked=True`` (and nothing done) when another check holds the lock.
    """
    now = now or datetime.now(UTC)
    with check_lock(lake) as acquired:
        if not acquired:
            return CheckResult(locked=True)
        snapshot = lake.snapshot()
        volume_last = _last_day(snapshot)
        if volume_last is None:
            return CheckResult(dry_run=dry_run)
        first = since or volume_last - timedelta(days=1)
        notes = _annotation_rows(snapshot, first - timedelta(days=7))
        result = CheckResult(dry_run=dry_run)
        found = detect_alerts(snapshot, config, since=first, annotations=notes,
                              points_out=result.points, gaps_out=result.gaps)  # fmt: skip
        history = recorded_events(snapshot)
        for alert in found:
            if _in_cooldown(alert, history, config):
                result.suppressed.append(alert)
            else:
                result.alerts.append(alert)
        resolved = _resolved_rows(history, result.points, now)
        result.resolved = [r["alert_id"] for r in resolved]
        if dry_run:
            return result
        write_events(lake, resolved)
        if not result.alerts:
            return result
        write_events(lake, alert_rows(result.alerts, now))
        for alert in result.alerts:
            payload = {"kind": "alert", **alert.to_dict()}
            ok = deliver(lake, config, alert.alert_id, "alert", alert.message, payload,
                         history=history, transport=transport, sleep=sleep)  # fmt: skip
            if not ok:
                result.undelivered.append(alert.alert_id)
        return result


def _last_day(snapshot: LakeSnapshot) -> date | None:
    row = (
        snapshot.connect()
        .execute("SELECT max(CAST(timestamp AS DATE)) FROM suggestions")
        .fetchone()
    )
    return row[0] if row and row[0] is not None else None


def _annotation_rows(snapshot: LakeSnapshot, since: date) -> list[dict[str, Any]]:
    rows = (
        snapshot.connect()
        .execute(
            "SELECT annotation_id, day, kind, model_version FROM annotations WHERE day >= ?",
            [since],
        )
        .fetchall()
    )
    return [
        dict(zip(("annotation_id", "day", "kind", "model_version"), r, strict=True)) for r in rows
    ]


def _resolved_rows(
    history: list[dict[str, Any]],
    points: dict[tuple[str, str], list[DayPoint]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Open alerts whose series' last two evaluated days are back within normal (z < 2)."""
    done = {r["alert_id"] for r in history if r["event"] == "resolved"}
    out = []
    for r in history:
        if r["event"] != "fired" or r["alert_kind"] != "alert" or r["alert_id"] in done:
            continue
        series = [p for p in points.get((r["rule"], r["slice"] or ""), [])
                  if p.status == SeriesStatus.OK and p.day > (r["change_start_day"] or date.min)]  # fmt: skip
        if len(series) >= 2 and all(p.z < 2.0 for p in series[-2:]):
            done.add(r["alert_id"])
            out.append({**{k: r[k] for k in ("alert_id", "alert_kind", "rule", "target_kind",
                                              "metric", "slice", "unit", "change_start_day")},
                        "event": "resolved", "at": now, "channel": "", "attempt": 0,
                        "observed": series[-1].value, "expected": series[-1].expected,
                        "message": f"resolved: {r['message']}"})  # fmt: skip
    return out


def _in_cooldown(alert: Alert, history: list[dict[str, Any]], config: AlertConfig) -> bool:
    """Already recorded, or the same rule and slice fired within the cool-down."""
    for row in history:
        if row["event"] != "fired":
            continue
        if row["alert_id"] == alert.alert_id:
            return True
        start = row.get("change_start_day")
        if (
            row.get("rule") == alert.rule
            and (row.get("slice") or "") == alert.slice
            and start is not None
            and abs((alert.change_start_day - start).days) <= config.cooldown_days
        ):
            return True
    return False


def contributors_json(alert: Alert) -> str:
    """The contributing slices as JSON (the alert_events column)."""
    return json.dumps(list(alert.contributors), default=str)
