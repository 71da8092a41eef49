"""`[alerts]` parsing: defaults, and one line naming the field and the fix for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from codex_metrics.alerts import parse_alert_config
from codex_metrics.cli.app import app
from codex_metrics.errors import ParameterError

runner = CliRunner()


def test_defaults_watch_acceptance_and_p90_latency() -> None:
    config = parse_alert_config(None)
    names = [(t.metric, t.over_feature, t.kind) for t in config.effective_targets()]
    assert names == [
        ("completion_acceptance_rate_by_count", "code_completion", "baseline"),
        ("latency_p90_ms", "code_completion", "baseline"),
    ]


def test_a_full_section_parses() -> None:
    config = parse_alert_config(
        {
            "holidays": ["2025-12-25", "01-01"],
            "cooldown_days": 3,
            "targets": [
                {"name": "p90", "metric": "latency_p90_ms", "kind": "threshold", "max": 500,
                 "feature": "code_completion", "slices": ["overall", "model_version"]},
                {"name": "acc", "metric": "completion_acceptance_rate_by_count",
                 "margin": 0.02, "window_days": 28},
                {"name": "deploys", "metric": "latency_p90_ms", "kind": "after_annotation"},
            ],
            "channels": [
                {"name": "slack", "kind": "webhook", "url": "https://hooks.example/x"},
                {"name": "mail", "kind": "email", "to": "team@example.com", "smtp_port": 2525},
            ],
        }
    )  # fmt: skip
    p90, acc, deploys = config.targets
    assert (p90.max, p90.slices, p90.bad_direction) == (
        500.0,
        ("overall", "model_version"),
        "increase",
    )
    assert (acc.margin, acc.bad_direction, acc.unit) == (0.02, "decrease", "ratio")
    assert deploys.kinds == ("deploy", "model_release")
    assert config.channels[1].to == ("team@example.com",) and config.cooldown_days == 3
    from datetime import date

    assert config.is_holiday(date(2025, 12, 25)) and config.is_holiday(date(2031, 1, 1))
    assert not config.is_holiday(date(2026, 12, 25))


@pytest.mark.parametrize(
    ("section", "field", "fix"),
    [
        ({"targets": [{"metric": "latency_p95_ms"}]}, "targets[0] (target-1).metric",
         "use one of"),
        ({"targets": [{"metric": "latency_p90_ms", "slices": ["team"]}]},
         "targets[0] (target-1).slices", "use a list of"),
        ({"targets": [{"metric": "latency_p90_ms", "kind": "threshold"}]},
         "targets[0] (target-1)", "exactly one of max or min"),
        ({"targets": [{"metric": "latency_p90_ms", "max": "fast"}]},
         "targets[0] (target-1).max", "must be a number"),
        ({"targets": [{"metric": "latency_p90_ms", "treshold": 1}]}, "targets[0].treshold",
         "unknown key"),
        ({"holidays": ["Christmas"]}, "holidays", "YYYY-MM-DD or MM-DD"),
        ({"channels": [{"kind": "webhook"}]}, "channels[0].url", "needs url"),
        ({"colldown_days": 3}, "colldown_days", "unknown key"),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_the_fix(section: dict, field: str, fix: str) -> None:
    with pytest.raises(ParameterError) as info:
        parse_alert_config(section)
    assert info.value.field == f"[alerts] {field}"
    assert fix in str(info.value) and "\n" not in str(info.value)


def test_cli_exits_2_with_one_line_on_a_bad_target(tmp_path: Path) -> None:
    config = tmp_path / "codex-metrics.toml"
    config.write_text('[[alerts.targets]]\nmetric = "p90_latency"\n')
    result = runner.invoke(app, ["--config", str(config), "alerts", "check",
                                 "--lake", str(tmp_path / "lake")])  # fmt: skip
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "metric" in lines[0] and "latency_p90_ms" in lines[0]
