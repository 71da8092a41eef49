"""Codex CLI OTLP logs in (synthetic exports from the documented catalogue), file and receiver."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from codex_metrics.lake import Lake
from codex_metrics.telemetry.ingest import IngestOptions, OtlpReceiver, parse_otel_logs

from .conftest import CODEX, CODEX_BATCHES, cli, ingest, show, values

# Worked out by hand in fixtures/SOURCES.md.
EXPECTED = {
    "codex_request_latency_p50_ms": 812.0,
    "codex_request_latency_p90_ms": 2100 + 0.4 * (30000 - 2100),
    "codex_error_rate": 3 / 7,
    "codex_tokens_per_request": 6450 / 4,
    "codex_time_to_first_token_p50_ms": 640.0,
    "codex_tool_approval_rate": 2 / 3,
    "codex_tool_success_rate": 2 / 3,
    "codex_requests": 7,
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("codex") / "lake"
    ingest(root, "codex-otel", CODEX)
    return root


def test_the_catalogue_numbers_worked_out_by_hand(lake: Path) -> None:
    for metric, want in EXPECTED.items():
        assert values(show(lake, metric, "--grain", "all")) == [pytest.approx(want)], metric
    by_model = show(lake, "codex_request_latency_p50_ms", "--grain", "all", "--by", "model")
    assert {r["model"]: r["value"] for r in by_model["rows"]} == {
        "gpt-5": 2100.0,
        "gpt-5-codex": pytest.approx((700 + 812) / 2),  # 95, 700, 812, 1034
    }


def test_joins_statuses_and_nothing_secret_is_stored(lake: Path) -> None:
    con = Lake.open(lake).connect(sources="all")
    rows = con.sql(
        "SELECT duration_ms, status, transport, attempt, reasoning_effort, input_tokens, "
        "cached_input_tokens, time_to_first_token_ms, service_name FROM codex_requests "
        "ORDER BY timestamp"
    ).fetchall()
    assert rows == [
        (812.0, "ok", "http", 1, "medium", 1200, 800, 640.0, "codex_cli_rs"),
        (95.0, "error", "http", 1, "medium", None, None, None, "codex_cli_rs"),
        (1034.0, "ok", "http", 2, "medium", 1500, 1000, None, "codex_cli_rs"),
        (700.0, "ok", "http", 1, "medium", 1800, None, 480.0, "codex_cli_rs"),
        (2100.0, "ok", "websocket", None, "high", 900, None, 1900.0, "codex_exec"),
        (30000.0, "timeout", "http", 1, "high", None, None, None, "codex_exec"),
        (15.0, "error", "websocket", None, "high", None, None, None, "codex_exec"),
    ]
    people = {d for (d,) in con.sql("SELECT DISTINCT developer_id FROM codex_requests").fetchall()}
    assert len(people) == 2 and not any("alice" in p or "bob" in p for p in people)
    for path in lake.rglob("*.parquet"):
        data = path.read_bytes()
        assert b"SECRET-TOOL-OUTPUT" not in data and b"REDACTED" not in data
        assert b"alice@example.com" not in data and b'"command"' not in data


def test_batches_on_lines_equal_one_export_and_reingest_adds_nothing(tmp_path: Path) -> None:
    options = IngestOptions(pseudonymise=str.upper)
    one = [b.tables for b in parse_otel_logs(CODEX, options)][0]
    lines = [b.tables for b in parse_otel_logs(CODEX_BATCHES, options)][0]
    for table in ("codex_requests", "codex_tool_events"):
        assert one[table].sort_by("timestamp").equals(lines[table].sort_by("timestamp"))
    root = tmp_path / "lake"
    ingest(root, "codex-otel", CODEX_BATCHES)
    ingest(root, "codex-otel", CODEX)
    assert values(show(root, "codex_requests", "--grain", "all")) == [7]


def test_the_receiver_ingests_posted_json_and_refuses_protobuf(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    reports = []
    receiver = OtlpReceiver(
        lake, IngestOptions(pseudonymise=str.upper), port=0, flush_seconds=3600,
        on_report=reports.append,
    )  # fmt: skip
    thread = receiver.start()
    url = f"http://127.0.0.1:{receiver.port}"
    for line in CODEX_BATCHES.read_text().splitlines():
        r = httpx.post(f"{url}/v1/logs", content=line, headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and r.json() == {}
    refused = httpx.post(f"{url}/v1/logs", content=b"\x0a\x01",
                         headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
    assert refused.status_code == 415 and "json" in refused.json()["error"]
    assert httpx.post(f"{url}/v1/logs", content="{}", headers={
        "Content-Type": "application/json"}).status_code == 400  # fmt: skip
    report = receiver.flush()
    assert report is not None and report.rows == {"codex_requests": 7, "codex_tool_events": 7}
    receiver.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and reports == [report]
    con = lake.connect(sources="all")
    assert con.sql("SELECT count(*) FROM codex_requests").fetchall() == [(7,)]


def test_listen_rejects_a_bad_address() -> None:
    code, out, err = cli("ingest", "codex-otel", "--listen", "localhost")
    assert code == 2 and "HOST:PORT" in err
    started = time.monotonic()
    code, _, err = cli("ingest", "codex-otel")
    assert code == 2 and "--listen" in err and time.monotonic() - started < 5


def test_unknown_events_and_services_never_fail_a_file(tmp_path: Path) -> None:
    doc = json.loads(CODEX.read_text())
    record = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    record["attributes"].append({"key": "brand.new", "value": {"kvlistValue": {"values": []}}})
    novel = json.loads(json.dumps(record))
    for a in novel["attributes"]:
        if a["key"] == "event.name":
            a["value"] = {"stringValue": "codex.something_new"}
    doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"].append(novel)
    path = tmp_path / "codex-new-events.json"
    path.write_text(json.dumps(doc))
    report = ingest(tmp_path / "lake", "codex-otel", path)[0]
    assert report["rows"] == {"codex_requests": 7, "codex_tool_events": 7}
