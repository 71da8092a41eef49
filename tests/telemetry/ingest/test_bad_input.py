"""Bad input: one line naming file, line (or JSON path) and field; exit 2; nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codex_metrics.lake import Lake

from .conftest import (
    CODEX,
    COPILOT,
    NEW_API,
    ORG_28,
    SEATS,
    USERS_28,
    cli,
    ingest,
    requires_shared,
    user_rows,
    write_ndjson,
)

pytestmark = requires_shared


def _fails(lake: Path, command: str, path: Path, *extra: str) -> str:
    code, out, err = cli("ingest", command, str(path), "--lake", str(lake), *extra)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert str(path) in err
    tables = [t.name for t in lake.iterdir() if t.is_dir() and not t.name.startswith(".")]
    raw = lake / ".codex-metrics" / "raw"
    assert tables == [] and not any(p.suffix == ".zst" for p in raw.rglob("*")), tables
    return err


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


def test_truncated_files_name_the_line(lake: Path, tmp_path: Path) -> None:
    text = ORG_28.read_text()
    cut = tmp_path / "organization-28-day-truncated.json"
    cut.write_text(text[: len(text) // 2])
    err = _fails(lake, "copilot-report", cut)
    assert "not valid JSON" in err and ", line " in err
    lines = write_ndjson(tmp_path / "users.ndjson", user_rows()[:5])
    half = tmp_path / "users-truncated.ndjson"
    half.write_text(lines.read_text()[:-200])
    err = _fails(lake, "copilot-report", half)
    assert "line 5" in err and "not valid JSON" in err


def test_a_malformed_line_a_bad_day_and_a_negative_counter(lake: Path, tmp_path: Path) -> None:
    rows = user_rows()[:6]
    text = "".join(json.dumps(r) + "\n" for r in rows).splitlines()
    text[2] = text[2].replace(",", ",,", 1)
    broken = tmp_path / "users-malformed.ndjson"
    broken.write_text("\n".join(text) + "\n")
    assert "line 3" in _fails(lake, "copilot-report", broken)
    bad_day = [dict(r) for r in rows]
    bad_day[4]["day"] = "2026-13-40"
    err = _fails(lake, "copilot-report", write_ndjson(tmp_path / "users-day.ndjson", bad_day))
    assert "line 5, field 'day'" in err and "'2026-13-40'" in err
    negative = [dict(r) for r in rows]
    negative[1]["totals_by_ide"] = [dict(negative[1]["totals_by_ide"][0], loc_added_sum=-3)]
    err = _fails(lake, "copilot-report", write_ndjson(tmp_path / "users-neg.ndjson", negative))
    assert "line 2, field 'totals_by_ide[0].loc_added_sum'" in err and "negative" in err
    wrapped = json.loads(USERS_28.read_text())
    wrapped["day_totals"][3]["code_generation_activity_count"] = "12"
    doc = tmp_path / "users-wrapped.json"
    doc.write_text(json.dumps(wrapped, indent=1))
    err = _fails(lake, "copilot-report", doc)
    assert "field '$.day_totals[3].code_generation_activity_count'" in err


def test_the_wrong_file_for_the_command_says_what_it_is(lake: Path) -> None:
    viewer = _fails(lake, "copilot-report", NEW_API / "enterprise-users-28-day-report.json")
    assert "pre-aggregated user_totals export" in viewer
    assert "use `codex-metrics ingest seats`" in _fails(lake, "copilot-report", SEATS)
    legacy = COPILOT / "organization_metrics_response_sample.json"
    assert "ingest copilot-legacy" in _fails(lake, "copilot-report", legacy)
    assert "ingest codex-otel" in _fails(lake, "copilot-report", CODEX)
    assert "ingest copilot-report" in _fails(lake, "codex-otel", USERS_28)
    assert "ingest copilot-report" in _fails(lake, "seats", ORG_28, "--org", "acme")
    assert "ingest copilot-report" in _fails(lake, "copilot-legacy", ORG_28)
    links = _fails(lake, "copilot-report", NEW_API / "download-links-organization-28-day.json")
    assert "download-links response" in links


def test_skip_bad_lines_quarantines_them_and_says_how_many(lake: Path, tmp_path: Path) -> None:
    rows = [dict(r) for r in user_rows()[:8]]
    rows[2]["day"] = "yesterday"
    rows[6]["code_generation_activity_count"] = -1
    lines = [json.dumps(r) for r in rows]
    lines.insert(4, '{"user_login": "truncated", "day": "2026-04-')
    path = tmp_path / "users-some-bad.ndjson"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = cli("ingest", "copilot-report", str(path), "--lake", str(lake),
                         "--skip-bad-lines", "--format", "json")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)[0]
    assert report["rejected"] == 3 and report["rows"]["copilot_user_daily"] == 6
    assert "quarantined 3 bad line(s)" in err
    rejects = Path(report["rejects_file"])
    assert rejects.parent == Path(report["archive"]).parent  # beside the raw archive
    quarantined = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in quarantined] == [
        (3, "day"), (5, None), (8, "code_generation_activity_count")
    ]  # fmt: skip
    con = Lake.open(lake).connect(sources="all")
    assert con.sql("SELECT count(*) FROM copilot_user_daily").fetchall() == [(6,)]
    assert ingest(lake, "copilot-report", USERS_28)[0]["rejected"] == 0
