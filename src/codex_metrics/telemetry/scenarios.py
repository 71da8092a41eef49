"""Simulation scenarios and their parameters.

Every parameter is declared once with its default, range and meaning; a scenario is a name, a
sentence, and the parameter groups it uses. Users override parameters with ``--set key=value``
or a TOML file (``[ab] lift_acceptance = 0.2``). Defaults are calibrated to published figures
(docs/simulator.md lists the bands the tests hold them to).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from codex_metrics.errors import ConfigError, ParameterError

__all__ = [
    "AB_SCENARIOS",
    "DEFAULT_START",
    "PARAMETERS",
    "REGRESSION_SLICE_DIMENSIONS",
    "SCENARIOS",
    "ParamSpec",
    "Scenario",
    "SimulationConfig",
    "arm_weights",
    "build_config",
    "load_overrides_file",
    "parse_set_options",
]

DEFAULT_START = date(2025, 3, 3)  # a Monday; never "today", so runs are reproducible
#: Scenarios that randomise developers into experiment arms.
AB_SCENARIOS = ("ab_test", "ab_three_arms", "demo")


@dataclass(frozen=True)
class ParamSpec:
    """A simulation parameter: default, inclusive range (numbers) and meaning."""

    default: float | int | str
    doc: str
    low: float | None = None
    high: float | None = None


def _p(
    default: float | int | str, doc: str, low: float | None = None, high: float | None = None
) -> ParamSpec:
    return ParamSpec(default, doc, low, high)


PARAMETERS: dict[str, ParamSpec] = {
    # population and activity
    "orgs": _p(3, "Number of organisations developers belong to.", 1, 10_000),
    "activity.events_per_day": _p(
        55.0, "Mean suggestions per active day at activity 1.", 0.1, 10_000
    ),
    "activity.weekend_factor": _p(0.12, "Weekend activity relative to a weekday.", 0, 1),
    "activity.holiday_factor": _p(0.1, "Holiday activity relative to a weekday.", 0, 1),
    "activity.holidays": _p("01-01,05-01,07-04,12-24,12-25,12-26,12-31", "Holidays as MM-DD list."),
    "adoption.initial_share": _p(0.75, "Share of developers who adopted before the start.", 0, 1),
    "adoption.growth": _p(0.5, "Share of the others who adopt during the period.", 0, 1),
    "adoption.monthly_churn": _p(0.03, "Monthly probability that an adopter stops.", 0, 1),
    # acceptance
    "acceptance.base_rate": _p(
        0.25, "Completion acceptance of a typical developer at median latency.", 0.01, 0.99
    ),
    "acceptance.latency_effect": _p(
        -0.45, "Change in acceptance log-odds per doubling of latency.", -3, 3
    ),
    "acceptance.developer_sd": _p(
        0.45, "SD of developers' acceptance log-odds around their persona.", 0, 3
    ),
    # latency and errors
    "latency.completion_median_ms": _p(260.0, "Median code-completion latency, ms.", 10, 60_000),
    "latency.chat_median_ms": _p(2400.0, "Median chat latency, ms.", 10, 600_000),
    "latency.agent_median_ms": _p(9000.0, "Median agent-edit latency, ms.", 10, 600_000),
    "latency.cli_median_ms": _p(3200.0, "Median CLI request latency, ms.", 10, 600_000),
    "latency.sigma": _p(0.5, "Log-normal sigma of latency.", 0.01, 3),
    "latency.tail_share": _p(0.02, "Share of requests hitting a slow path (x3-x6).", 0, 1),
    "errors.error_rate": _p(0.008, "Share of requests failing with a server error.", 0, 1),
    "errors.cancel_rate": _p(0.02, "Share of completion requests cancelled by typing.", 0, 1),
    # tasks and surveys
    "tasks.per_developer_week": _p(4.0, "Coding tasks per developer per week.", 0, 1000),
    "tasks.base_minutes": _p(95.0, "Median task duration without AI, minutes.", 1, 100_000),
    "tasks.ai_speedup": _p(0.26, "Mean relative time saved with AI at mean experience.", -0.9, 0.9),
    "tasks.speedup_per_year": _p(
        -0.015, "Change in speed-up per year of experience above mean.", -0.2, 0.2
    ),
    "surveys.response_rate": _p(0.4, "Share of adopters answering each fortnightly survey.", 0, 1),
    # ab_test
    "ab.pre_days": _p(7, "Days of pre-period on model A for everyone.", 1, 3650),
    "ab.weight_b": _p(0.5, "Intended allocation to arm B.", 0.01, 0.99),
    "ab.lift_acceptance": _p(0.12, "Log-odds lift of acceptance on model B.", -2, 2),
    "ab.latency_ratio": _p(0.85, "Latency of model B relative to A.", 0.1, 10),
    "ab.srm_bug": _p(
        0.0, "Share of B developers missing from the assignment log (an SRM bug).", 0, 0.9
    ),
    "ab.model_a": _p("codex-completion-a", "Model version of arm A."),
    "ab.model_b": _p("codex-completion-b", "Model version of arm B."),
    # ab_three_arms (with ab.pre_days, ab.lift_acceptance, ab.latency_ratio and the models of A, B)
    "ab3.weight_b": _p(1 / 3, "Intended allocation to arm B (three arms).", 0.01, 0.98),
    "ab3.weight_c": _p(1 / 3, "Intended allocation to arm C (three arms).", 0.01, 0.98),
    "ab3.lift_acceptance_c": _p(0.05, "Log-odds lift of acceptance on model C.", -2, 2),
    "ab3.latency_ratio_c": _p(1.0, "Latency of model C relative to A.", 0.1, 10),
    "ab3.model_c": _p("codex-completion-c", "Model version of arm C."),
    # rollout
    "rollout.waves": _p(4, "Number of staggered adoption waves during the period.", 1, 52),
    "rollout.initial_share": _p(0.15, "Share adopted before the start.", 0, 1),
    "rollout.experience_effect": _p(
        -0.25, "Adoption log-odds per year of experience above mean.", -5, 5
    ),
    "rollout.final_share": _p(0.7, "Share adopted by the end (average over experience).", 0, 1),
    # latency_regression
    "regression.day": _p(14, "Day index (0-based) of the bad deploy.", 0, 3650),
    "regression.factor": _p(2.5, "Latency multiplier after the deploy.", 0.1, 100),
    "regression.model": _p("", "Model version affected (empty: all)."),
    "regression.metric": _p(
        "latency", "What the deploy breaks: latency (x factor) or acceptance (minus drop)."
    ),
    "regression.slice": _p(
        "",
        "Slice hit, as dim=value with dim model_version, language or editor "
        "(empty: regression.model, or everything).",
    ),
    "regression.acceptance_drop": _p(
        0.02, "Acceptance probability removed from every hit suggestion (metric acceptance).", 0, 1
    ),
}

#: Dimensions ``regression.slice`` may name (the suggestion columns the simulator draws).
REGRESSION_SLICE_DIMENSIONS = ("model_version", "language", "editor")

_COMMON = ("orgs", "activity", "adoption", "acceptance", "latency", "errors", "tasks", "surveys")


@dataclass(frozen=True)
class Scenario:
    """A named scenario: what it simulates and which parameter groups apply."""

    name: str
    doc: str
    groups: tuple[str, ...]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("baseline", "A steady month of assistant use with growth and churn.", _COMMON),
        Scenario(
            "ab_test",
            "A pre-period on model A for everyone, then A vs B randomised per developer.",
            (*_COMMON, "ab"),
        ),
        Scenario(
            "ab_three_arms",
            "A pre-period on model A for everyone, then A vs B vs C randomised per developer.",
            (
                *_COMMON,
                "ab.pre_days",
                "ab.lift_acceptance",
                "ab.latency_ratio",
                "ab.srm_bug",
                "ab.model_a",
                "ab.model_b",
                "ab3",
            ),
        ),
        Scenario(
            "rollout",
            "Staggered adoption in waves, confounded by experience (juniors adopt first).",
            (*_COMMON, "rollout"),
        ),
        Scenario(
            "latency_regression",
            "A bad deploy on a given day multiplies latency (and so lowers acceptance).",
            (*_COMMON, "regression"),
        ),
        Scenario(
            "demo",
            "Everything the dashboard shows in one world: a staggered adoption rollout, an A/B "
            "test of two model versions, a latency regression on a known day, survey rounds.",
            (*_COMMON, "ab", "rollout", "regression"),
        ),
    )
}


def _group(key: str) -> str:
    return key.split(".", 1)[0]


@dataclass(frozen=True)
class SimulationConfig:
    """A fully validated simulation request."""

    scenario: str
    developers: int
    days: int
    seed: int
    start: date
    params: Mapping[str, float | int | str]

    def __getitem__(self, key: str) -> float:
        value = self.params[key]
        if isinstance(value, str):
            raise TypeError(f"{key} is a text parameter")
        return float(value)

    def text(self, key: str) -> str:
        """A text parameter."""
        return str(self.params[key])

    def integer(self, key: str) -> int:
        """An integer parameter."""
        return int(self.params[key])

    def items(self) -> Iterator[tuple[str, float | int | str]]:
        """All parameters, sorted by key."""
        return iter(sorted(self.params.items()))

    def has(self, group: str) -> bool:
        """Whether the scenario simulates ``group``: its parameters are in the request.

        Groups: ``ab`` (an experiment), ``ab3`` (its third arm), ``rollout``, ``regression``.
        """
        prefix = group + "."
        return any(k.startswith(prefix) for k in self.params)


def arm_weights(cfg: SimulationConfig) -> list[float]:
    """Intended allocation of arms A, B (and C) in an experiment scenario."""
    if cfg.has("ab3"):
        b, c = cfg["ab3.weight_b"], cfg["ab3.weight_c"]
        return [1 - b - c, b, c]
    return [1 - cfg["ab.weight_b"], cfg["ab.weight_b"]]


def parse_set_options(values: list[str] | None) -> dict[str, str]:
    """Parse ``--set key=value`` options."""
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(
                "--set", f"{item!r} is not key=value (e.g. --set ab.lift_acceptance=0.2)"
            )
        out[key.strip()] = value.strip()
    return out


def load_overrides_file(path: Path) -> dict[str, object]:
    """Read parameter overrides from a TOML file, flattening tables into dotted keys."""
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read parameter file ({exc})") from None
    flat: dict[str, object] = {}

    def walk(prefix: str, node: Mapping[str, object]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                walk(f"{name}.", value)
            else:
                flat[name] = value

    walk("", doc)
    return flat


def _coerce(key: str, spec: ParamSpec, raw: object) -> float | int | str:
    if isinstance(spec.default, str):
        return str(raw)
    try:
        value: float | int = int(str(raw)) if isinstance(spec.default, int) else float(str(raw))
    except ValueError:
        kind = "an integer" if isinstance(spec.default, int) else "a number"
        raise ParameterError(key, f"{raw!r} is not {kind}") from None
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise ParameterError(
            key,
            f"{value} is outside its range [{spec.low:g}, {spec.high:g}]; pick a value inside it",
        )
    return value


def build_config(
    scenario: str,
    *,
    developers: int,
    days: int,
    seed: int = 0,
    start: date = DEFAULT_START,
    overrides: Mapping[str, object] | None = None,
) -> SimulationConfig:
    """Validate a simulation request and return its config.

    Raises:
        ParameterError: unknown scenario, bad size, unknown key or value out of range.
    """
    if scenario not in SCENARIOS:
        raise ParameterError(
            "--scenario", f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}"
        )
    if developers < 1:
        raise ParameterError("--developers", f"must be at least 1, got {developers}")
    if days < 1:
        raise ParameterError("--days", f"must be at least 1, got {days}")
    if seed < 0:
        raise ParameterError("--seed", f"must be zero or positive, got {seed}")
    groups = SCENARIOS[scenario].groups
    params = {k: s.default for k, s in PARAMETERS.items() if k in groups or _group(k) in groups}
    for key, raw in (overrides or {}).items():
        if key not in params:
            allowed = ", ".join(sorted({_group(k) for k in params}))
            hint = "" if key not in PARAMETERS else " (it belongs to another scenario)"
            raise ParameterError(
                key, f"unknown parameter for scenario {scenario}{hint}; groups here: {allowed}"
            )
        params[key] = _coerce(key, PARAMETERS[key], raw)
    if "ab.pre_days" in params and int(params["ab.pre_days"]) >= days:
        raise ParameterError(
            "ab.pre_days", f"must be less than --days ({days}) to leave an experiment period"
        )
    if "regression.day" in params and int(params["regression.day"]) >= days:
        raise ParameterError("regression.day", f"must be less than --days ({days})")
    if "regression.metric" in params and params["regression.metric"] not in (
        "latency",
        "acceptance",
    ):
        raise ParameterError("regression.metric", "must be latency or acceptance")
    if params.get("regression.slice"):
        dim, sep, value = str(params["regression.slice"]).partition("=")
        if not sep or dim not in REGRESSION_SLICE_DIMENSIONS or not value:
            raise ParameterError(
                "regression.slice",
                f"{params['regression.slice']!r} is not dim=value with dim one of "
                + ", ".join(REGRESSION_SLICE_DIMENSIONS),
            )
    if (
        "ab3.weight_b" in params
        and float(params["ab3.weight_b"]) + float(params["ab3.weight_c"]) >= 0.99
    ):
        raise ParameterError("ab3.weight_c", "arms B and C must leave arm A at least 1%")
    for key in ("ab.model_a", "ab.model_b", "ab3.model_c"):
        if key in params and not str(params[key]).strip():
            raise ParameterError(key, "must not be empty")
    return SimulationConfig(scenario, developers, days, seed, start, params)
