"""People's ids: the lake's own key, one pseudonym per login, forgetting; raw archives."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pyarrow as pa

from codex_metrics.config import Settings
from codex_metrics.lake import Lake
from codex_metrics.privacy import Pseudonymiser, lake_key
from codex_metrics.telemetry.ingest import archive_entries

from .conftest import SEATS, TEAMS, USERS_28, cli, ingest, requires_shared, show, user_rows, values

pytestmark = requires_shared


def test_the_shipped_key_is_never_used_a_lake_key_is_generated(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    code, out, err = cli("ingest", "copilot-report", str(USERS_28), "--lake", str(lake))
    assert code == 0, err
    key_file = lake / ".codex-metrics" / "key"
    assert "generated a pseudonym key in" in err and str(key_file) in err
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key_file.read_text().strip())) == 32
    choice = lake_key(Settings(), lake / ".codex-metrics")
    assert choice.origin == "lake" and choice.note() is None
    stored = Lake.open(lake).connect(sources="all").sql(
        "SELECT DISTINCT developer_id FROM copilot_user_daily").fetchall()  # fmt: skip
    expected = {Pseudonymiser(choice.key)(r["user_login"]) for r in user_rows()}
    default = {Pseudonymiser(Settings().pseudonym_key)(r["user_login"]) for r in user_rows()}
    assert {d for (d,) in stored} == expected and not expected & default
    code, _, err = cli("ingest", "copilot-report", str(USERS_28), "--lake", str(lake))
    assert code == 0 and "generated" not in err  # said once
    assert lake_key(Settings(pseudonym_key="ours"), lake).origin == "config"


def test_forget_removes_a_person_from_tables_history_and_archives(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, "copilot-report", USERS_28, TEAMS)
    ingest(lake, "copilot-report", USERS_28)  # a merge: the first version's files are history
    ingest(lake, "seats", SEATS, extra=("--org", "100000001"))
    opened = Lake.open(lake)
    person = Pseudonymiser(lake_key(Settings(), opened.hidden_dir).key)("defunkt")
    tables = ("copilot_user_daily", "usage_daily", "team_members", "seats")

    def rows_of(table: str) -> int:
        con = opened.connect(sources="all")
        return con.sql(f"SELECT count(*) FROM {table} WHERE developer_id = '{person}'").fetchall()[
            0
        ][0]

    before = {t: rows_of(t) for t in tables}
    assert all(before.values()), before
    others = values(show(lake, "active_users", "--grain", "all"))[0]
    code, out, err = cli("lake", "forget", "defunkt", "--lake", str(lake), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rows_removed"] == before and report["archive_records_removed"] > 0
    assert {t: rows_of(t) for t in tables} == dict.fromkeys(tables, 0)
    assert values(show(lake, "active_users", "--grain", "all")) == [others - 1]
    for path in lake.rglob("*.parquet"):  # history included: no file holds the person
        assert person.encode() not in path.read_bytes(), path
    raw = opened.hidden_dir / "raw"
    forgotten = 0
    for entry in archive_entries(raw):
        text = pa.input_stream(str(entry.data_path(raw)), compression="zstd").read()
        assert b'"defunkt"' not in text
        forgotten += entry.forgotten
    assert forgotten == report["archive_records_removed"]


def test_archive_keeps_the_raw_file_and_reprocess_rederives_the_same(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = ingest(lake, "copilot-report", USERS_28, extra=("--fetched-at", "2026-04-26T05:00:00Z"))
    archive = Path(first[0]["archive"])
    assert archive.suffix == ".zst" and archive.stat().st_size < USERS_28.stat().st_size / 3
    assert pa.input_stream(str(archive), compression="zstd").read() == USERS_28.read_bytes()
    meta = json.loads(archive.with_suffix(".json").read_text())
    assert meta["fetched_at"] == "2026-04-26T05:00:00+00:00" and meta["name"] == USERS_28.name
    again = ingest(lake, "copilot-report", USERS_28)[0]
    assert again["fetched_at"] == "2026-04-26T05:00:00+00:00"  # the archive's time
    before = {m: show(lake, m, "--grain", "week")["rows"]
              for m in ("interactions", "usage_acceptance_rate_by_count")}  # fmt: skip
    code, out, err = cli("ingest", "--reprocess", "--lake", str(lake))
    assert code == 0 and "reprocessed 1 archived file(s)" in out, err
    after = {m: show(lake, m, "--grain", "week")["rows"] for m in before}
    assert after == before
