"""A/B tests on real data: `ingest experiment`, `ingest assignments`, then `ab analyze`.

Labelled synthetic Codex CLI requests (OTLP log lines, as the Codex exporter writes them) of
developers whose arm, error probability and token use the test chose; the experiment and its
assignments go in through the CLI like a user's files. The analysis numbers are checked against
an independent computation here (per-developer sums in Python, the delta method and Welch's t
with scipy), and exposure against what each generated developer was served.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps
from typer.testing import CliRunner

from codex_metrics.cli.app import app
from codex_metrics.lake import Lake
from codex_metrics.telemetry.ingest import archive_entries

from ..telemetry.ingest.conftest import USERS_28, requires_shared

EXPERIMENT = "exp-codex-next"
CONTROL, CANDIDATE = "gpt-5-codex", "gpt-5.1-codex"
START = datetime(2025, 3, 10, tzinfo=UTC)
TOML = f"""\
id = "{EXPERIMENT}"
description = "the next Codex model against the current one (labelled synthetic requests)"
start = 2025-03-10
end = 2025-03-17
planned_developers = 40
primary_metrics = ["codex_error_rate"]
secondary_metrics = ["codex_tokens_per_request"]

[[arms]]
name = "control"
model_version = "{CONTROL}"

[[arms]]
name = "candidate"
model_version = "{CANDIDATE}"
"""
runner = CliRunner()
Ingested = tuple[Path, dict[str, Path]]


def cli(*args: str) -> Any:
    """``codex-metrics ARGS --format json``, which must succeed: the parsed output."""
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _attr(key: str, value: object) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": str(value)}}


def _record(at: datetime, name: str, email: str, conversation: str, **attrs: object) -> dict:
    stamp = at.isoformat().replace("+00:00", "Z")
    common = {"event.name": name, "event.timestamp": stamp, "conversation.id": conversation,
              "user.email": email, **attrs}  # fmt: skip
    return {"attributes": [_attr(k, v) for k, v in common.items()]}


def _export(records: list[dict]) -> str:
    """One OTLP ExportLogsServiceRequest of the Codex CLI service, as one NDJSON line."""
    resource = {"attributes": [_attr("service.name", "codex_cli_rs")]}
    doc = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": records}]}]}
    return json.dumps(doc) + "\n"


def requests_of(email: str, model: str, outcomes: list[tuple[bool, int]], day0: datetime) -> str:
    """A developer's requests: (failed, tokens) each, with the token-bearing SSE record."""
    records = []
    for k, (failed, tokens) in enumerate(outcomes):
        at = day0 + timedelta(days=k % 5, hours=9, minutes=k)
        conversation = f"{email}-{day0:%m%d}-{k}"
        records.append(_record(at, "codex.api_request", email, conversation, model=model,
                               duration_ms=800 + k, attempt=1,
                               **{"http.response.status_code": 500 if failed else 200}))  # fmt: skip
        if not failed:
            records.append(_record(at + timedelta(seconds=5), "codex.sse_event", email,
                                   conversation, model=model,
                                   **{"event.kind": "response.completed",
                                      "input_token_count": tokens // 2,
                                      "output_token_count": tokens - tokens // 2}))  # fmt: skip
    return _export(records)


def _world() -> tuple[dict[str, str], dict[str, list[tuple[bool, int]]]]:
    """Assigned logins -> arm, and each one's requests in the period (the labels)."""
    rng = np.random.default_rng(13)
    arms = {f"dev{i:02d}@example.com": ("candidate" if i % 2 else "control") for i in range(40)}
    requests: dict[str, list[tuple[bool, int]]] = {}
    for i, (login, arm) in enumerate(arms.items()):
        if i == 38:
            continue  # assigned, never active: counts with zeros (intention to treat)
        p_error = rng.uniform(0.10, 0.30) * (0.4 if arm == "candidate" else 1.0)
        tokens = 1_000 * (1.2 if arm == "candidate" else 1.0)
        n = int(rng.integers(8, 30))
        requests[login] = [
            (bool(rng.random() < p_error), int(rng.normal(tokens, 150))) for _ in range(n)
        ]
    return arms, requests


ARMS, REQUESTS = _world()


def _write_world(folder: Path) -> dict[str, Path]:
    model = {"control": CONTROL, "candidate": CANDIDATE}
    lines = [requests_of(lg, model[ARMS[lg]], out, START) for lg, out in REQUESTS.items()]
    # Requests before the start are outside the experiment and must not count.
    lines.append(requests_of("dev00@example.com", CONTROL, [(True, 0)] * 6, START - timedelta(10)))
    paths = {
        "requests": folder / "codex-requests.ndjson",
        "experiment": folder / f"{EXPERIMENT}.toml",
        "assignments": folder / "assignments.csv",
    }
    paths["requests"].write_text("".join(lines))
    paths["experiment"].write_text(TOML)
    # Logins as a user's roster spells them: case differs from the telemetry's emails.
    paths["assignments"].write_text(
        "login,arm,assigned_at\n"
        + "".join(f"{lg.upper()},{arm},2025-03-10T08:00:00Z\n" for lg, arm in ARMS.items())
    )
    return paths


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Ingested:
    """A lake holding the world, ingested through the CLI as a user would."""
    folder = tmp_path_factory.mktemp("real-ab")
    paths, lake = _write_world(folder), folder / "lake"
    cli("ingest", "codex-otel", str(paths["requests"]), "--lake", str(lake))
    cli("ingest", "experiment", str(paths["experiment"]), "--lake", str(lake))
    cli("ingest", "assignments", str(paths["assignments"]), "--experiment", EXPERIMENT,
        "--lake", str(lake))  # fmt: skip
    return lake, paths


def _analyze(lake: Path) -> dict[str, Any]:
    doc: dict[str, Any] = cli("ab", "analyze", EXPERIMENT, "--no-slices", "--lake", str(lake))
    return doc


def _expected(numerators: dict[str, list[float]], denominators: dict[str, list[float]]) -> dict:
    """The delta-method ratio comparison of candidate against control, from per-developer sums."""
    arm = {}
    for name in ("control", "candidate"):
        m, d = np.array(numerators[name]), np.array(denominators[name])
        n = m.size
        mu_m, mu_d = m.mean(), d.mean()
        cov = np.cov(m, d, ddof=1)
        v = cov[0, 0] / mu_d**2 - 2 * cov[0, 1] * mu_m / mu_d**3 + mu_m**2 * cov[1, 1] / mu_d**4
        arm[name] = (m.sum() / d.sum(), v / n, n)
    (ra, sa, na), (rb, sb, nb) = arm["control"], arm["candidate"]
    df = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
    q = sps.t.ppf(0.975, df)
    se = math.sqrt(sa + sb)
    rel = rb / ra - 1
    rel_se = math.sqrt(sb / ra**2 + sa * rb**2 / ra**4)
    return {
        "control_mean": ra,
        "treatment_mean": rb,
        "absolute": (rb - ra, se, rb - ra - q * se, rb - ra + q * se,
                     2 * sps.t.sf(abs(rb - ra) / se, df)),
        "relative": (rel, rel_se, rel - q * rel_se, rel + q * rel_se),
    }  # fmt: skip


def _per_developer(metric: str) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    num: dict[str, list[float]] = {"control": [], "candidate": []}
    den: dict[str, list[float]] = {"control": [], "candidate": []}
    for login, arm in ARMS.items():
        outcomes = REQUESTS.get(login, [])
        if metric == "codex_error_rate":
            num[arm].append(sum(failed for failed, _ in outcomes))
            den[arm].append(len(outcomes))
        else:  # tokens per request over the requests that completed
            num[arm].append(sum(t for failed, t in outcomes if not failed))
            den[arm].append(sum(not failed for failed, _ in outcomes))
    return num, den


def test_ingested_files_land_pseudonymised_and_recorded(ingested: Ingested) -> None:
    lake_path, _ = ingested
    con = Lake.open(lake_path).snapshot(sources="all").connect()
    rows = con.execute("SELECT developer_id, arm, source, scope FROM assignments").fetchall()
    assert len(rows) == len(ARMS) and {r[2:] for r in rows} == {("assignments-file", EXPERIMENT)}
    assert all(r[0].startswith("u-") and "@" not in r[0] for r in rows)
    # Upper-cased logins pseudonymise like the telemetry's emails: the two sources join.
    joined = con.execute(
        "SELECT count(DISTINCT developer_id) FROM assignments JOIN codex_requests "
        "USING (developer_id)"
    ).fetchall()[0][0]
    assert joined == len(REQUESTS)
    runs = con.execute(
        "SELECT source, status, rows_written FROM source_runs WHERE source IN "
        "('experiment-toml', 'assignments-file') ORDER BY source"
    ).fetchall()
    assert [(s, st) for s, st, _ in runs] == [("assignments-file", "ok"), ("experiment-toml", "ok")]
    (arms,) = con.execute("SELECT arms FROM experiments").fetchall()[0]
    # Weights omitted: equal, stored normalised.
    assert [(a["arm"], a["model_version"], a["weight"]) for a in arms] == [
        ("control", CONTROL, 0.5),
        ("candidate", CANDIDATE, 0.5),
    ]


def test_ab_analyze_matches_an_independent_computation(ingested: Ingested) -> None:
    lake, _ = ingested
    doc = _analyze(lake)
    counts = doc["health"]["counts"]
    assert counts["developers"] == {"control": 20, "candidate": 20}
    assert (counts["unassigned_active"], counts["exposure_mismatch"]) == (0, 0)
    assert counts["exposure_seen_in"] == ["codex_requests"]
    by_metric = {m["metric"]: m for m in doc["metrics"]}
    for metric in ("codex_error_rate", "codex_tokens_per_request"):
        expected = _expected(*_per_developer(metric))
        got = by_metric[metric]
        assert got["arm"] == "candidate" and got["cuped_applied"] is False
        c = got["comparison"]
        assert c["control_n"] == c["treatment_n"] == 20
        assert c["control_mean"] == pytest.approx(expected["control_mean"], rel=1e-9)
        assert c["treatment_mean"] == pytest.approx(expected["treatment_mean"], rel=1e-9)
        a = c["absolute"]
        got_abs = (a["estimate"], a["se"], a["ci_low"], a["ci_high"], a["p_value"])
        assert got_abs == pytest.approx(expected["absolute"], rel=1e-7)
        r = c["relative"]
        got_rel = (r["estimate"], r["se"], r["ci_low"], r["ci_high"])
        assert got_rel == pytest.approx(expected["relative"], rel=1e-7)
    # One primary metric and no guardrail: Holm leaves its p; lower error is better.
    error = by_metric["codex_error_rate"]
    assert error["adjusted_p_value"] == pytest.approx(error["p_value"], rel=1e-12)
    assert error["comparison"]["absolute"]["ci_high"] < 0 and error["p_value"] < 0.05
    assert doc["verdict"]["decision"] == "ship" and doc["verdict"]["arm"] == "candidate"


def test_unassigned_exposure_to_the_treatment_model_is_untrustworthy(
    ingested: Ingested, tmp_path: Path
) -> None:
    """Three people served the candidate without an assignment, one control developer too."""
    lake_path, paths = ingested
    lake = tmp_path / "lake"
    shutil.copytree(lake_path, lake)
    extra = tmp_path / "more-requests.ndjson"
    ghosts = [requests_of(f"ghost{j}@example.com", CANDIDATE, [(False, 900)] * 4, START)
              for j in range(3)]  # fmt: skip
    on_control = requests_of("someone@example.com", CONTROL, [(False, 900)] * 4, START)
    crossed = requests_of("dev00@example.com", CANDIDATE, [(False, 900)], START + timedelta(2))
    extra.write_text("".join([*ghosts, on_control, crossed]))
    cli("ingest", "codex-otel", str(extra), "--lake", str(lake))
    doc = _analyze(lake)
    counts = doc["health"]["counts"]
    assert (counts["unassigned_active"], counts["exposure_mismatch"]) == (3, 1)
    assert doc["verdict"]["decision"] == "untrustworthy"
    assert (
        "3 developers were served a treatment model without an assignment record"
        in (doc["verdict"]["reason"])
    )
    markdown = runner.invoke(app, ["ab", "analyze", EXPERIMENT, "--no-slices", "--lake",
                                   str(lake), "--format", "markdown"]).stdout  # fmt: skip
    assert "Developers served another arm's model: 1" in markdown
    assert "Served models seen in: codex_requests" in markdown


def test_assignments_for_an_unknown_experiment_or_arm_fail_with_the_line(
    ingested: Ingested, tmp_path: Path
) -> None:
    lake_path, _ = ingested
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "login,arm,assigned_at\na@example.com,control,2025-03-10\nb@x.com,c,2025-03-10\n"
    )
    result = runner.invoke(app, ["ingest", "assignments", str(bad), "--experiment", EXPERIMENT,
                                 "--lake", str(lake_path)])  # fmt: skip
    assert result.exit_code == 2
    assert "bad.csv, line 3, field 'arm': unknown arm 'c'" in result.stderr
    assert "arms are candidate, control" in result.stderr
    result = runner.invoke(app, ["ingest", "assignments", str(bad), "--experiment", "exp-nope",
                                 "--lake", str(lake_path)])  # fmt: skip
    assert result.exit_code == 2 and "ingest experiment FILE.toml" in result.stderr
    assert "line 2, field 'experiment_id'" in result.stderr


@requires_shared
def test_copilot_model_breakdown_is_checked_for_exposure(tmp_path: Path) -> None:
    """GitHub's per-user report: who used which model on which day, against the assignments."""
    rows = json.loads(USERS_28.read_text())["day_totals"]
    control, treatment = "gpt-5.4", "claude-opus-4.6"
    served: dict[str, set[str]] = {}
    for r in rows:
        for m in r.get("totals_by_model_feature", []) + r.get("totals_by_language_model", []):
            served.setdefault(r["user_login"], set()).add(m.get("model"))
    on_treatment = {u for u, models in served.items() if treatment in models}
    on_control = {u for u, models in served.items() if control in models}
    # The first treatment user is assigned to the control; one control-only user to treatment.
    crossed = sorted(on_treatment)[0]
    assigned = {crossed: "control", sorted(on_control - on_treatment)[0]: "treatment"}
    days = sorted({r["day"] for r in rows})
    toml = tmp_path / "copilot.toml"
    toml.write_text(
        f'id = "exp-copilot"\nstart = {days[0]}\nend = '
        f"{(datetime.fromisoformat(days[-1]) + timedelta(1)).date()}\n"
        'primary_metrics = ["acceptance_rate_by_count"]\n'
        f'[[arms]]\nname = "control"\nmodel_version = "{control}"\n'
        f'[[arms]]\nname = "treatment"\nmodel_version = "{treatment}"\n'
    )
    csv = tmp_path / "assign.ndjson"
    csv.write_text("".join(json.dumps({"login": u, "arm": a, "assigned_at": days[0],
                                       "experiment_id": "exp-copilot"}) + "\n"
                           for u, a in assigned.items()))  # fmt: skip
    lake = str(tmp_path / "lake")
    cli("ingest", "copilot-report", str(USERS_28), "--org", "acme", "--lake", lake)
    cli("ingest", "experiment", str(toml), "--lake", lake)
    cli("ingest", "assignments", str(csv), "--lake", lake)
    doc = cli("ab", "analyze", "exp-copilot", "--no-slices", "--lake", lake)
    counts = doc["health"]["counts"]
    assert counts["exposure_seen_in"] == ["usage_daily"]
    assert counts["unassigned_active"] == len(on_treatment - set(assigned)) > 0
    expected_mismatch = sum(
        1
        for u, arm in assigned.items()
        if (arm == "control" and u in on_treatment) or (arm == "treatment" and u in on_control)
    )
    assert counts["exposure_mismatch"] == expected_mismatch == 2
    assert doc["verdict"]["decision"] == "untrustworthy"


def test_reprocess_rederives_and_forget_reaches_the_assignment_archives(
    ingested: Ingested, tmp_path: Path
) -> None:
    lake_path, _ = ingested
    lake = tmp_path / "lake"
    shutil.copytree(lake_path, lake)
    ndjson = tmp_path / "late.ndjson"
    ndjson.write_text(json.dumps({"login": "late@example.com", "arm": "control",
                                  "assigned_at": "2025-03-11", "experiment_id": EXPERIMENT}) + "\n")  # fmt: skip
    # Downloaded before the declaration: reprocessing reads it first, before the experiment
    # is back in the lake (it was checked when first ingested).
    early = datetime(2025, 1, 2, tzinfo=UTC).timestamp()
    os.utime(ndjson, (early, early))
    cli("ingest", "assignments", str(ndjson), "--lake", str(lake))

    def assignments() -> list[tuple[str, str]]:
        con = Lake.open(lake).snapshot(sources="all").connect()
        return con.execute("SELECT developer_id, arm FROM assignments ORDER BY 1").fetchall()

    before = assignments()
    assert len(before) == len(ARMS) + 1
    result = runner.invoke(app, ["ingest", "--reprocess", "--only", "experiment,assignments",
                                 "--lake", str(lake)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "reprocessed 3 archived file(s)" in result.stdout and assignments() == before
    forgotten = cli("lake", "forget", "DEV03@example.com", "late@example.com", "--lake", str(lake))
    assert forgotten["rows_removed"]["assignments"] == 2
    assert len(assignments()) == len(ARMS) - 1
    raw = Lake.open(lake).hidden_dir / "raw"
    for entry in archive_entries(raw, ["assignments"]):  # the CSV and the NDJSON archive
        text = pa.input_stream(str(entry.data_path(raw)), compression="zstd").read().lower()
        assert b"dev03@example.com" not in text and b"late@example.com" not in text
        assert entry.forgotten == 1
