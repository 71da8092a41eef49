"""`alerts check`, `alerts list` and `alerts digest` end to end on a small regression world."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from codex_metrics.alerts import open_alerts
from codex_metrics.alerts.events import recorded_events
from codex_metrics.alerts.lock import check_lock
from codex_metrics.cli.app import app
from codex_metrics.lake import Lake
from tests.alerts.test_delivery import Hook

runner = CliRunner()


def _config(tmp_path: Path, url: str | None = None) -> Path:
    text = "[alerts]\nbackoff_seconds = 0.01\nretries = 2\n"
    if url:
        text += f'[[alerts.channels]]\nname = "slack"\nkind = "webhook"\nurl = "{url}"\n'
    path = tmp_path / "codex-metrics.toml"
    path.write_text(text)
    return path


def _check(config: Path, lake: Lake, *extra: str) -> Any:
    return runner.invoke(app, ["--config", str(config), "alerts", "check", "--lake",
                               str(lake.root), "--since", "2025-04-01", *extra])  # fmt: skip


def test_dry_run_reports_and_records_nothing(small_lake: Lake, tmp_path: Path) -> None:
    result = _check(_config(tmp_path), small_lake, "--dry-run", "--format", "json")
    assert result.exit_code == 1, result.stderr
    fired = json.loads(result.stdout)["fired"]
    p90 = [a for a in fired if a["metric"] == "latency_p90_ms"]
    assert p90 and p90[0]["change_start_day"] == "2025-04-02" and p90[0]["slice"] == ""
    assert p90[0]["observed"] > 2 * p90[0]["expected"]  # latency x2.5 on every model
    assert recorded_events(small_lake.snapshot()) == []


def test_undelivered_alert_still_exits_1_and_is_not_sent_again(
    small_lake: Lake, tmp_path: Path
) -> None:
    hook = Hook([500] * 20)
    try:
        config = _config(tmp_path, hook.url)
        result = _check(config, small_lake)
        assert result.exit_code == 1, result.stderr
        sent = len(hook.requests)
        rows = recorded_events(small_lake.snapshot())
        fired = [r for r in rows if r["event"] == "fired"]
        assert fired and sent == 3 * len(fired)  # 1 try + 2 retries each
        assert sum(r["event"] == "undelivered" for r in rows) == len(fired)
        assert all(a["delivery"] == "undelivered" for a in open_alerts(small_lake))
        # the next cron run: the incident is recorded, so nothing fires and nothing is sent
        again = _check(config, small_lake)
        assert again.exit_code == 0, again.stdout
        assert len(hook.requests) == sent
        listed = runner.invoke(app, ["alerts", "list", "--open", "--lake", str(small_lake.root),
                                     "--format", "json"])  # fmt: skip
        assert listed.exit_code == 0
        assert {a["alert_id"] for a in json.loads(listed.stdout)} == {r["alert_id"] for r in fired}
    finally:
        hook.close()


def test_an_overlapping_check_says_so_and_exits_0(small_lake: Lake, tmp_path: Path) -> None:
    with check_lock(small_lake) as acquired:
        assert acquired
        result = _check(_config(tmp_path), small_lake)
    assert result.exit_code == 0
    assert result.stdout.strip() == "another check is running"
    assert (small_lake.root / ".codex-metrics" / "locks" / "alerts-check.lock").exists()


def test_digest_is_sent_once_per_week(small_lake: Lake, tmp_path: Path) -> None:
    hook = Hook([])
    try:
        config = _config(tmp_path, hook.url)
        args = ["--config", str(config), "alerts", "digest", "--lake", str(small_lake.root)]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.stderr
        assert "completion_latency_p90_ms" in first.stdout
        body = hook.requests[0]["body"]
        assert body["alert_id"] == "digest-2025-W14" and body["codex_metrics"]["kind"] == "digest"
        kpis = {k["kpi"]: k for k in body["codex_metrics"]["kpis"]}
        assert kpis["completion_latency_p90_ms"]["delta"] > 0  # the regression week
        assert runner.invoke(app, args).exit_code == 0
        assert len(hook.requests) == 1
    finally:
        hook.close()


def test_threshold_and_after_deploy_targets_fire_on_the_regression(small_lake: Lake) -> None:
    from datetime import date

    from codex_metrics.alerts import detect_alerts, parse_alert_config
    from codex_metrics.alerts.check import _annotation_rows

    config = parse_alert_config(
        {
            "targets": [
                {"name": "p90-1000", "metric": "latency_p90_ms", "feature": "code_completion",
                 "kind": "threshold", "max": 1000, "slices": ["overall"]},
                {"name": "p90-2000", "metric": "latency_p90_ms", "feature": "code_completion",
                 "kind": "threshold", "max": 2000, "slices": ["overall"]},
                {"name": "deploys", "metric": "latency_p90_ms", "feature": "code_completion",
                 "kind": "after_annotation", "slices": ["overall", "model_version"]},
            ]
        }
    )  # fmt: skip
    from codex_metrics.alerts import Annotation, add_annotations

    add_annotations(small_lake, [Annotation(date(2025, 4, 2), "completion model deploy",
                                            kind="deploy")])  # fmt: skip
    snapshot = small_lake.snapshot()
    notes = _annotation_rows(snapshot, date(2025, 3, 1))
    assert [(n["day"], n["kind"]) for n in notes] == [(date(2025, 4, 2), "deploy")]
    alerts = detect_alerts(snapshot, config, since=date(2025, 3, 20), annotations=notes)
    by_rule = {a.rule: a for a in alerts}
    assert set(by_rule) == {"p90-1000", "deploys"}  # P90 ~560 ms x2.5: over 1 s, not 2 s
    assert by_rule["p90-1000"].change_start_day == date(2025, 4, 2)
    assert by_rule["p90-1000"].observed > 1000
    assert by_rule["deploys"].annotation_id == notes[0]["annotation_id"]
    assert by_rule["deploys"].direction == "increase"
