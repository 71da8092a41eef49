"""The lake contract: one commit per write, replacement by (source, scope, day), newest wins."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from codex_metrics.errors import LakePathError, SchemaMismatchError
from codex_metrics.lake import SCHEMA_VERSION, Lake


def typing_rows(devs: list[str], day: date, chars: int = 100) -> pa.Table:
    return pa.table(
        {
            "developer_id": devs,
            "org": ["org-a"] * len(devs),
            "chars_typed": [chars] * len(devs),
            "lines_typed": [chars // 40] * len(devs),
            "day": [day] * len(devs),
        }
    )


def rows(lake: Lake, table: str, where: str = "true") -> list[tuple]:
    con = lake.connect()
    cols = "* EXCLUDE (ingested_at)"
    return sorted(con.execute(f"SELECT {cols} FROM {table} WHERE {where}").fetchall(), key=str)


def test_write_is_visible_with_day_column_and_bookkeeping(tmp_lake: Lake) -> None:
    tmp_lake.write_table(
        "typing", typing_rows(["d1", "d2"], date(2025, 1, 6)), source="test", scope="org:a"
    )
    con = tmp_lake.connect()
    got = con.execute(
        "SELECT developer_id, day, source, run_id, typeof(ingested_at) FROM typing ORDER BY 1"
    ).fetchall()
    assert got == [
        ("d1", date(2025, 1, 6), "test", None, "TIMESTAMP WITH TIME ZONE"),
        ("d2", date(2025, 1, 6), "test", None, "TIMESTAMP WITH TIME ZONE"),
    ]


def test_rewriting_the_same_input_changes_nothing(tmp_lake: Lake) -> None:
    data = typing_rows(["d1", "d2"], date(2025, 1, 6))
    tmp_lake.write_table("typing", data, source="test", scope="org:a")
    before = rows(tmp_lake, "typing")
    tmp_lake.write_table("typing", data, source="test", scope="org:a")
    assert rows(tmp_lake, "typing") == before
    assert len(tmp_lake.snapshot().tables["typing"].files) == 1


def test_other_scope_and_other_days_are_untouched(tmp_lake: Lake) -> None:
    tmp_lake.write_table(
        "typing", typing_rows(["a1"], date(2025, 1, 6)), source="test", scope="org:a"
    )
    tmp_lake.write_table(
        "typing", typing_rows(["a2"], date(2025, 1, 7)), source="test", scope="org:a"
    )
    tmp_lake.write_table(
        "typing", typing_rows(["b1"], date(2025, 1, 6)), source="test", scope="org:b"
    )
    # Re-collect org A for Jan 6 only: its Jan 7 rows and org B stay.
    tmp_lake.write_table(
        "typing", typing_rows(["a3"], date(2025, 1, 6)), source="test", scope="org:a"
    )
    got = [(r[0], r[-1]) for r in rows(tmp_lake, "typing")]
    assert sorted(got) == [
        ("a2", date(2025, 1, 7)),
        ("a3", date(2025, 1, 6)),
        ("b1", date(2025, 1, 6)),
    ]


def usage_row(dev: str, count: int, report_end: date, fetched: datetime) -> dict[str, object]:
    return {
        "developer_id": dev,
        "org": "org-a",
        "breakdown": "total",
        "ide": None,
        "feature": None,
        "language": None,
        "model": None,
        "user_initiated_interaction_count": 0,
        "code_generation_activity_count": count,
        "code_acceptance_activity_count": count // 3,
        "loc_suggested_to_add_sum": 0,
        "loc_suggested_to_delete_sum": 0,
        "loc_added_sum": 0,
        "loc_deleted_sum": 0,
        "used_chat": False,
        "used_agent": False,
        "used_cli": False,
        "report_start_day": date(2025, 1, 1),
        "report_end_day": report_end,
        "fetched_at": fetched,
        "day": date(2025, 1, 10),
    }


def test_overlapping_reports_resolve_newest_wins_in_either_order(tmp_lake: Lake) -> None:
    newer = pa.Table.from_pylist(
        [usage_row("u1", 30, date(2025, 1, 28), datetime(2025, 1, 29, tzinfo=UTC))]
    )
    older = pa.Table.from_pylist(
        [
            usage_row("u1", 10, date(2025, 1, 20), datetime(2025, 1, 21, tzinfo=UTC)),
            usage_row("u2", 5, date(2025, 1, 20), datetime(2025, 1, 21, tzinfo=UTC)),
        ]
    )
    tmp_lake.write_table("usage_daily", newer, source="copilot-report", scope="org:a", mode="merge")
    tmp_lake.write_table("usage_daily", older, source="copilot-report", scope="org:a", mode="merge")
    con = tmp_lake.connect()
    got = con.execute(
        "SELECT developer_id, code_generation_activity_count FROM usage_daily ORDER BY 1"
    ).fetchall()
    assert got == [("u1", 30), ("u2", 5)]  # the older report never overwrites the newer one
    tmp_lake.write_table("usage_daily", older, source="copilot-report", scope="org:a", mode="merge")
    assert con.execute("SELECT count(*) FROM usage_daily").fetchone() == (2,)


def test_files_carry_schema_version_and_no_day_column(tmp_lake: Lake) -> None:
    tmp_lake.write_table("typing", typing_rows(["d1"], date(2025, 1, 6)), source="test", scope="s")
    (file,) = tmp_lake.snapshot().tables["typing"].files
    path = tmp_lake.table_dir("typing") / file.path
    meta = pq.read_schema(path).metadata
    assert meta[b"codex_metrics.schema_version"] == str(SCHEMA_VERSION).encode()
    assert meta[b"codex_metrics.table"] == b"typing"
    assert "day" not in pq.read_schema(path).names
    assert (file.source, file.scope, file.rows, file.day) == ("test", "s", 1, date(2025, 1, 6))


def test_uncommitted_files_are_invisible_and_abort_removes_them(tmp_lake: Lake) -> None:
    tmp_lake.write_table("typing", typing_rows(["old"], date(2025, 1, 6)), source="test", scope="s")
    writer = tmp_lake.writer("typing", source="test", scope="s")
    writer.write(typing_rows(["new"], date(2025, 1, 6)).drop_columns(["day"]), day=date(2025, 1, 6))
    writer.close_day(date(2025, 1, 6))
    # Written into the table's folder but not committed: readers see only the old row.
    on_disk = list((tmp_lake.table_dir("typing") / "day=2025-01-06").glob("*.parquet"))
    assert len(on_disk) == 2
    assert [r[0] for r in rows(tmp_lake, "typing")] == ["old"]
    writer.abort()
    assert len(list((tmp_lake.table_dir("typing") / "day=2025-01-06").glob("*.parquet"))) == 1
    assert [r[0] for r in rows(tmp_lake, "typing")] == ["old"]


def test_schema_mismatch_names_the_column_and_writes_nothing(tmp_lake: Lake) -> None:
    bad = typing_rows(["d1"], date(2025, 1, 6)).drop_columns(["chars_typed"])
    with pytest.raises(SchemaMismatchError, match="typing: missing column.*chars_typed"):
        tmp_lake.write_table("typing", bad, source="test", scope="s")
    wrong = typing_rows(["d1"], date(2025, 1, 6)).set_column(2, "chars_typed", pa.array(["many"]))
    with pytest.raises(SchemaMismatchError, match="chars_typed"):
        tmp_lake.write_table("typing", wrong, source="test", scope="s")
    assert tmp_lake.snapshot().tables["typing"].files == ()
    assert not list(tmp_lake.table_dir("typing").rglob("*.parquet"))


def test_unusable_lake_paths(tmp_path: Path) -> None:
    regular = tmp_path / "file.txt"
    regular.write_text("not a lake")
    with pytest.raises(LakePathError, match="is a regular file"):
        Lake.open(regular)
    with pytest.raises(LakePathError, match="under a regular file"):
        Lake.open(regular / "lake")
    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x")
    with pytest.raises(LakePathError, match="not a codex-metrics lake"):
        Lake.open(foreign)
    with pytest.raises(LakePathError, match="no lake here"):
        Lake.open(tmp_path / "missing", create=False)


def test_empty_tables_have_typed_views(tmp_lake: Lake) -> None:
    con = tmp_lake.connect()
    cols = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'suggestions'"
        ).fetchall()
    )
    assert cols["latency_ms"] == "DOUBLE"
    assert cols["day"] == "DATE"
    assert con.execute("SELECT count(*) FROM suggestions").fetchone() == (0,)


def test_info_reports_rows_days_and_sources(tmp_lake: Lake) -> None:
    tmp_lake.write_table(
        "typing", typing_rows(["d1", "d2"], date(2025, 1, 6)), source="test", scope="s"
    )
    tmp_lake.write_table("typing", typing_rows(["d3"], date(2025, 1, 9)), source="other", scope="s")
    info = {i.name: i for i in tmp_lake.info()}["typing"]
    assert (info.version, info.rows, info.files, info.first_day, info.last_day) == (
        2,
        3,
        2,
        date(2025, 1, 6),
        date(2025, 1, 9),
    )
    assert set(info.last_update_by_source) == {"test", "other"}


def test_an_additive_schema_change_reads_old_files_as_null(
    tmp_lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from codex_metrics.lake import tables
    from codex_metrics.lake.schema import Column

    tmp_lake.write_table("typing", typing_rows(["old"], date(2025, 1, 6)), source="t", scope="s")
    old_spec = tables.TABLES["typing"]
    assert tmp_lake.snapshot().tables["typing"].union_by_name is False  # one schema: fast bind
    wider = replace(
        old_spec,
        columns=(
            *old_spec.columns[:-4],
            Column("chars_pasted", pa.int64(), "new", True),
            *old_spec.columns[-4:],
        ),
    )
    monkeypatch.setitem(tables.TABLES, "typing", wider)
    # Before any new write the table lacks the column: readers see it as null.
    con = tmp_lake.connect()
    assert con.execute("SELECT developer_id, chars_pasted FROM typing").fetchall() == [
        ("old", None)
    ]
    new = typing_rows(["new"], date(2025, 1, 7)).append_column("chars_pasted", pa.array([7]))
    tmp_lake.write_table("typing", new, source="t", scope="s")
    snap = tmp_lake.snapshot()
    assert snap.tables["typing"].union_by_name is True
    got = (
        snap.connect()
        .execute("SELECT developer_id, chars_pasted FROM typing ORDER BY 1")
        .fetchall()
    )
    assert got == [("new", 7), ("old", None)]
