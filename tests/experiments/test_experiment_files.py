"""Real experiments: TOML declarations and assignment files into lake rows, then ``ab analyze``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codex_metrics.errors import InputFormatError
from codex_metrics.experiments import (
    AnalysisOptions,
    analyze_experiment,
    load_experiment,
    parse_assignments,
    parse_experiment_toml,
)
from codex_metrics.privacy import pseudonymise

from .events import END, START, open_lake, suggestion_rows, write_suggestions

KEY = "test-key"

TOML = """\
id = "exp-codex-c-vs-b"
description = "Codex model C against B (labelled synthetic requests)"
start = 2025-03-10
end = 2025-03-17T00:00:00Z
planned_developers = 40
primary_metrics = ["latency_mean_ms"]
secondary_metrics = ["error_rate"]

[[arms]]
name = "control"
model_version = "model-a"
weight = 0.5

[[arms]]
name = "candidate"
model_version = "model-b"
weight = 0.5

[[guardrails]]
metric = "latency_p90_ms"
margin = 0.05
filters = { feature = "code_completion" }
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_declaration_becomes_an_experiments_row(tmp_path):
    row = parse_experiment_toml(_write(tmp_path, "exp.toml", TOML)).to_pylist()[0]
    assert row["experiment_id"] == "exp-codex-c-vs-b"
    assert [a["arm"] for a in row["arms"]] == ["control", "candidate"]
    assert row["start"].isoformat() == "2025-03-10T00:00:00+00:00"
    assert row["guardrail_metrics"] == [{"metric": "latency_p90_ms", "margin": 0.05}]
    assert row["metric_filters"] == [
        {"metric": "latency_p90_ms", "dimension": "feature", "value": "code_completion"}
    ]


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        ('primary_metrics = ["latency_mean_ms"]', 6, None),  # unchanged: parses
        ('primary_metrics = ["latency_men_ms"]', 6, "did you mean latency_mean_ms"),
        ("margin = 0.05", 21, "margin must be a fraction"),
        ("end = 2025-03-17T00:00:00Z", 4, None),
        ("start = 2025-03-10", 3, None),
    ],
)
def test_errors_name_the_line_and_field(tmp_path, change, line, message):
    bad = {
        'primary_metrics = ["latency_men_ms"]': ('primary_metrics = ["latency_mean_ms"]', "x"),
        "margin = 0.05": ("margin = 0.05", "margin = 5"),
    }
    text = TOML
    if message is not None:
        old, new = bad[change]
        text = TOML.replace(old, change if new == "x" else new)
        with pytest.raises(InputFormatError) as exc:
            parse_experiment_toml(_write(tmp_path, "bad.toml", text))
        assert exc.value.line == line and message in str(exc.value)
    else:
        assert parse_experiment_toml(_write(tmp_path, "ok.toml", text)).num_rows == 1


def test_structural_errors(tmp_path):
    with pytest.raises(InputFormatError, match="not valid TOML") as exc:
        parse_experiment_toml(_write(tmp_path, "a.toml", 'id = "x"\nstart = \n'))
    assert exc.value.line == 2
    one_arm = TOML.split('[[arms]]\nname = "candidate"')[0]
    with pytest.raises(InputFormatError, match="at least two"):
        parse_experiment_toml(_write(tmp_path, "b.toml", one_arm))
    backwards = TOML.replace("end = 2025-03-17T00:00:00Z", "end = 2025-03-01")
    with pytest.raises(InputFormatError, match="end must be after start") as exc:
        parse_experiment_toml(_write(tmp_path, "c.toml", backwards))
    assert exc.value.line == 4 and exc.value.field == "end"


def test_assignments_are_pseudonymised_and_checked(tmp_path):
    csv = "login,arm,assigned_at\nAlice,control,2025-03-10\nbob,candidate,2025-03-10T09:00:00Z\n"
    table = parse_assignments(
        _write(tmp_path, "a.csv", csv),
        pseudonymise=lambda login: pseudonymise(login, key=KEY),
        experiment_id="exp-1",
        arms={"control", "candidate"},
    )
    rows = table.to_pylist()
    assert rows[0]["developer_id"] == pseudonymise("alice", key=KEY) != "Alice"
    assert rows[1]["assigned_at"].hour == 9 and {r["experiment_id"] for r in rows} == {"exp-1"}
    ndjson = "\n".join(
        json.dumps(r)
        for r in [
            {
                "developer_id": "u-1",
                "arm": "control",
                "assigned_at": "2025-03-10",
                "experiment_id": "e",
            },
            {
                "developer_id": "u-2",
                "arm": "treatment",
                "assigned_at": "2025-03-10",
                "experiment_id": "e",
            },
        ]
    )
    with pytest.raises(InputFormatError, match="unknown arm 'treatment'") as exc:
        parse_assignments(_write(tmp_path, "a.ndjson", ndjson), pseudonymise=str, arms={"control"})
    assert exc.value.line == 2 and exc.value.field == "arm"
    with pytest.raises(InputFormatError, match="not an ISO date") as exc:
        parse_assignments(
            _write(tmp_path, "b.csv", "developer_id,arm,assigned_at\nu-1,control,yesterday\n"),
            pseudonymise=str,
            experiment_id="e",
        )
    assert exc.value.line == 2


def test_ab_analyze_on_an_ingested_experiment_over_labelled_requests(tmp_path):
    """Labelled synthetic requests: the candidate's model is 20% faster for every developer."""
    rng = np.random.default_rng(5)
    logins = {f"dev{i}@example.com": ("control" if i % 2 else "candidate") for i in range(40)}
    ids = {login: pseudonymise(login, key=KEY) for login in logins}
    events = {"control": {}, "candidate": {}}
    for login, arm in logins.items():
        speed = 0.8 if arm == "candidate" else 1.0
        values = np.exp(rng.normal(np.log(300 * speed * rng.lognormal(0, 0.2)), 0.4, 60))
        events[arm][ids[login]] = np.round(values, 1).tolist()
    lake = open_lake(tmp_path / "lake")
    write_suggestions(
        lake,
        [
            suggestion_rows(events["control"], model="model-a", start=START),
            suggestion_rows(events["candidate"], model="model-b", first_id=10_000, start=START),
        ],
    )
    lake.write_table(
        "experiments",
        parse_experiment_toml(_write(tmp_path, "exp.toml", TOML)),
        source="test",
        scope="exp-codex-c-vs-b",
    )
    csv = "login,arm,assigned_at\n" + "".join(
        f"{lg},{arm},2025-03-10\n" for lg, arm in logins.items()
    )
    design_arms = {"control", "candidate"}
    lake.write_table(
        "assignments",
        parse_assignments(
            _write(tmp_path, "assign.csv", csv),
            pseudonymise=lambda login: pseudonymise(login, key=KEY),
            experiment_id="exp-codex-c-vs-b",
            arms=design_arms,
        ),
        source="test",
        scope="exp-codex-c-vs-b",
    )
    con = lake.connect()
    design = load_experiment(con, "exp-codex-c-vs-b")
    assert design.end == END and design.filters_of("latency_p90_ms") == {
        "feature": ["code_completion"]
    }
    report = analyze_experiment(con, "exp-codex-c-vs-b", AnalysisOptions(slices=False))
    assert report.health.counts.developers == {"control": 20, "candidate": 20}
    assert (
        report.health.counts.unassigned_active == 0 and report.health.counts.exposure_mismatch == 0
    )
    mean, p90 = report.metrics[0], report.metrics[1]
    assert mean.metric == "latency_mean_ms" and mean.comparison.relative.ci_high < 0
    assert (
        p90.kind == "quantile"
        and p90.comparison.relative.ci_low < -0.2 < p90.comparison.relative.ci_high
    )
    assert report.verdict.decision.value == "ship" and report.verdict.arm == "candidate"
