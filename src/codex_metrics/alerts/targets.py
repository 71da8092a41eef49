"""Targets from ``[alerts]`` in ``codex-metrics.toml``: what to watch, who to tell.

A target is a metric, the slices to watch it on, and a rule:

* ``threshold``: the metric must stay below ``max`` (or above ``min``); it fires when the whole
  interval of a day's value is on the wrong side, so noise alone never fires it;
* ``baseline``: the metric must not move more than ``margin`` in the bad ``direction`` from
  its trailing ``window_days`` like-days baseline (``margin = 0``: any significant change);
* ``after_annotation``: no significant change on the days after an annotated deploy
  (``kinds``), in the slice the annotation names (its model version), else overall.

Every error names the field and the fix in one line (a :class:`ParameterError`, exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from codex_metrics.errors import ParameterError

__all__ = [
    "ALERT_METRICS",
    "DEFAULT_SLICE_DIMENSIONS",
    "AlertConfig",
    "Channel",
    "Target",
    "default_targets",
    "parse_alert_config",
]

TargetKind = Literal["threshold", "baseline", "after_annotation"]
Direction = Literal["increase", "decrease"]

#: Metrics alerts can watch: catalogue name -> (kind, quantile level, feature it is over or None,
#: unit, direction that is bad). Latency quantiles take ``feature`` (default code completions).
ALERT_METRICS: dict[str, tuple[str, float, str | None, str, Direction]] = {
    "acceptance_rate_by_count": ("ratio", 0.0, None, "ratio", "decrease"),
    "completion_acceptance_rate_by_count": ("ratio", 0.0, "code_completion", "ratio", "decrease"),
    "latency_p50_ms": ("quantile", 0.5, None, "ms", "increase"),
    "latency_p90_ms": ("quantile", 0.9, None, "ms", "increase"),
    "latency_p99_ms": ("quantile", 0.99, None, "ms", "increase"),
}
#: The default slices: overall plus one series per value of each dimension.
DEFAULT_SLICE_DIMENSIONS = ("model_version", "feature", "language", "editor")
_SLICES = ("overall", *DEFAULT_SLICE_DIMENSIONS)
_FEATURES = ("code_completion", "chat_inline", "chat_panel", "agent_edit", "cli")
_MMDD = re.compile(r"^\d\d-\d\d$")


@dataclass(frozen=True)
class Target:
    """One rule on one metric over some slices."""

    name: str
    metric: str
    kind: TargetKind = "baseline"
    slices: tuple[str, ...] = _SLICES
    feature: str | None = None
    max: float | None = None
    min: float | None = None
    margin: float = 0.0
    direction: Direction | None = None
    window_days: int = 28
    kinds: tuple[str, ...] = ("deploy", "model_release")

    @property
    def measure(self) -> str:
        """``ratio`` or ``quantile``."""
        return ALERT_METRICS[self.metric][0]

    @property
    def level(self) -> float:
        """Quantile level (quantile metrics)."""
        return ALERT_METRICS[self.metric][1]

    @property
    def unit(self) -> str:
        """Unit of the metric."""
        return ALERT_METRICS[self.metric][3]

    @property
    def over_feature(self) -> str | None:
        """The feature the metric is restricted to (None: every feature)."""
        return self.feature or ALERT_METRICS[self.metric][2]

    @property
    def bad_direction(self) -> Direction:
        """The direction that breaks the target."""
        return self.direction or ALERT_METRICS[self.metric][4]


@dataclass(frozen=True)
class Channel:
    """Where alerts go: a Slack-compatible webhook or an email address list."""

    name: str
    kind: Literal["webhook", "email"]
    url: str | None = field(default=None, repr=False)
    smtp_host: str = "localhost"
    smtp_port: int = 25
    sender: str = "codex-metrics@localhost"
    to: tuple[str, ...] = ()
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class AlertConfig:
    """Everything ``[alerts]`` configures (defaults when the section is absent)."""

    targets: tuple[Target, ...] = ()
    channels: tuple[Channel, ...] = ()
    holidays: tuple[str, ...] = ()
    min_events: int = 300
    min_developers: int = 20
    cooldown_days: int = 7
    z_one_day: float = 4.0
    z_two_days: float = 3.75
    retries: int = 3
    backoff_seconds: float = 2.0
    bootstrap_replicates: int = 100

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a configured holiday (ISO date, or MM-DD every year)."""
        return day.isoformat() in self.holidays or day.strftime("%m-%d") in self.holidays

    def effective_targets(self) -> tuple[Target, ...]:
        """The configured targets, else :func:`default_targets`."""
        return self.targets or default_targets()


def default_targets() -> tuple[Target, ...]:
    """Watch completion acceptance and completion P90 latency, overall and per default slice."""
    return (
        Target("completion-acceptance", "completion_acceptance_rate_by_count"),
        Target("completion-latency-p90", "latency_p90_ms", feature="code_completion"),
    )


def _fail(where: str, message: str) -> ParameterError:
    return ParameterError(f"[alerts] {where}", message)


def _number(raw: Mapping[str, Any], key: str, where: str, *, integer: bool = False) -> Any:
    value = raw[key]
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        kind = "a whole number" if integer else "a number"
        raise _fail(f"{where}.{key}", f"must be {kind}, not {value!r}")
    return value


def _target(raw: object, i: int) -> Target:
    where = f"targets[{i}]"
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a table: [[alerts.targets]] with name, metric and kind")
    known = {"name", "metric", "kind", "slices", "feature", "max", "min", "margin", "direction",
             "window_days", "kinds"}  # fmt: skip
    extra = sorted(set(raw) - known)
    if extra:
        raise _fail(f"{where}.{extra[0]}", f"unknown key; use one of {', '.join(sorted(known))}")
    name = str(raw.get("name") or f"target-{i + 1}")
    where = f"targets[{i}] ({name})"
    metric = raw.get("metric")
    if metric not in ALERT_METRICS:
        raise _fail(
            f"{where}.metric",
            f"unknown metric {metric!r}; use one of {', '.join(ALERT_METRICS)}",
        )
    kind = raw.get("kind", "baseline")
    if kind not in ("threshold", "baseline", "after_annotation"):
        raise _fail(f"{where}.kind", f"{kind!r}: use threshold, baseline or after_annotation")
    slices = raw.get("slices", list(_SLICES))
    if not isinstance(slices, list) or not all(s in _SLICES for s in slices) or not slices:
        raise _fail(f"{where}.slices", f"{slices!r}: use a list of {', '.join(_SLICES)}")
    feature = raw.get("feature")
    if feature is not None and feature not in _FEATURES:
        raise _fail(f"{where}.feature", f"{feature!r}: use one of {', '.join(_FEATURES)}")
    if feature is not None and ALERT_METRICS[str(metric)][2] not in (None, feature):
        raise _fail(f"{where}.feature", f"{metric} is over {ALERT_METRICS[str(metric)][2]} only")
    values: dict[str, Any] = {}
    for key in ("max", "min", "margin"):
        if key in raw:
            values[key] = float(_number(raw, key, where))
    if "window_days" in raw:
        values["window_days"] = _number(raw, "window_days", where, integer=True)
        if not 7 <= values["window_days"] <= 365:
            raise _fail(f"{where}.window_days", "must be between 7 and 365")
    if values.get("margin", 0.0) < 0:
        raise _fail(f"{where}.margin", "must be >= 0 (the direction says which way is bad)")
    direction = raw.get("direction")
    if direction not in (None, "increase", "decrease"):
        raise _fail(f"{where}.direction", f"{direction!r}: use increase or decrease")
    if kind == "threshold" and ("max" in values) == ("min" in values):
        raise _fail(where, "a threshold target needs exactly one of max or min (max = 500)")
    kinds = raw.get("kinds", ["deploy", "model_release"])
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise _fail(f"{where}.kinds", "must be a list of annotation kinds, e.g. ['deploy']")
    return Target(
        name=name,
        metric=str(metric),
        kind=kind,
        slices=tuple(slices),
        feature=feature,
        direction=direction,
        kinds=tuple(kinds),
        **values,
    )


def _channel(raw: object, i: int) -> Channel:
    where = f"channels[{i}]"
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be a table: [[alerts.channels]] with name and kind")
    name = str(raw.get("name") or f"channel-{i + 1}")
    kind = raw.get("kind")
    if kind == "webhook":
        url = raw.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _fail(f"{where}.url", "a webhook channel needs url = 'https://hooks...'")
        return Channel(name, "webhook", url=url, timeout_seconds=float(raw.get("timeout", 10.0)))
    if kind == "email":
        to = raw.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not to or not all("@" in str(a) for a in to):
            raise _fail(f"{where}.to", "an email channel needs to = ['team@example.com']")
        return Channel(
            name,
            "email",
            smtp_host=str(raw.get("smtp_host", "localhost")),
            smtp_port=int(raw.get("smtp_port", 25)),
            sender=str(raw.get("from", "codex-metrics@localhost")),
            to=tuple(str(a) for a in to),
            timeout_seconds=float(raw.get("timeout", 10.0)),
        )
    raise _fail(f"{where}.kind", f"{kind!r}: use webhook or email")


def parse_alert_config(section: Mapping[str, Any] | None) -> AlertConfig:
    """Parse the ``[alerts]`` table (None or empty: the defaults).

    Raises:
        ParameterError: a field is unknown or malformed; the message names it and the fix.
    """
    if not section:
        return AlertConfig()
    targets = section.get("targets", [])
    channels = section.get("channels", [])
    if not isinstance(targets, list):
        raise _fail("targets", "must be an array of tables: [[alerts.targets]]")
    if not isinstance(channels, list):
        raise _fail("channels", "must be an array of tables: [[alerts.channels]]")
    holidays = section.get("holidays", [])
    if not isinstance(holidays, list):
        raise _fail("holidays", "must be a list of days, e.g. ['2025-12-25', '01-01']")
    days: list[str] = []
    for h in holidays:
        text = h.isoformat() if isinstance(h, date) else str(h)
        if not _MMDD.match(text):
            try:
                date.fromisoformat(text)
            except ValueError:
                raise _fail("holidays", f"{h!r} is not YYYY-MM-DD or MM-DD") from None
        days.append(text)
    values: dict[str, Any] = {}
    for key in ("min_events", "min_developers", "cooldown_days", "retries",
                "bootstrap_replicates"):  # fmt: skip
        if key in section:
            values[key] = _number(section, key, "", integer=True)
    for key in ("z_one_day", "z_two_days", "backoff_seconds"):
        if key in section:
            values[key] = float(_number(section, key, ""))
    known = {"targets", "channels", "holidays", *AlertConfig.__dataclass_fields__}
    extra = sorted(set(section) - known)
    if extra:
        raise _fail(extra[0], f"unknown key; use one of {', '.join(sorted(known))}")
    parsed = tuple(_target(t, i) for i, t in enumerate(targets))
    names = [t.name for t in parsed]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise _fail("targets", f"two targets are named {dup!r}; give each a unique name")
    return AlertConfig(
        targets=parsed,
        channels=tuple(_channel(c, i) for i, c in enumerate(channels)),
        holidays=tuple(days),
        **values,
    )
