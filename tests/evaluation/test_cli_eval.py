"""The eval command group end to end (sandbox on), and its error handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app, main
from codex_metrics.evaluation.samples import Sample, write_samples
from codex_metrics.evaluation.tasks import TaskSet
from tests.evaluation.conftest import requires_bwrap

runner = CliRunner()


def samples_file(path: Path, builtin: TaskSet, *, wrong: set[str]) -> Path:
    samples = [
        Sample(t.task_id, 0, "    return None\n" if t.task_id in wrong else t.canonical_solution)
        for t in builtin
    ]
    write_samples(path, samples)
    return path


@requires_bwrap
@pytest.mark.sandbox
def test_run_compare_and_report(tmp_path: Path, builtin: TaskSet) -> None:
    a = samples_file(tmp_path / "a.jsonl", builtin, wrong={"builtin/gcd", "builtin/fizzbuzz"})
    b = samples_file(tmp_path / "b.jsonl", builtin, wrong={"builtin/gcd"})
    lake = tmp_path / "lake"
    for name, path in (("model-a", a), ("model-b", b)):
        result = runner.invoke(
            app,
            ["eval", "run", str(path), "--out", str(tmp_path / f"{name}.results.jsonl"), "--tasks", "builtin",
             "--model-version", name, "--run-id", name, "--lake", str(lake), "--timeout", "2", "--workers", "2"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"run {name}:" in result.output
    lines = [json.loads(x) for x in (tmp_path / "model-a.results.jsonl").read_text().splitlines()]
    assert sum(x["passed"] for x in lines) == len(lines) - 2
    compared = runner.invoke(
        app, ["eval", "compare", "model-a", "model-b", "--lake", str(lake), "--format", "json"]
    )
    assert compared.exit_code == 0, compared.output
    data = json.loads(compared.output)
    assert data["flipped_to_pass"] == ["builtin/fizzbuzz"] and data["flipped_to_fail"] == []
    assert data["mcnemar_p"] == 1.0
    for fmt, name in (("markdown", "r.md"), ("html", "r.html"), ("json", "r.json")):
        report = runner.invoke(
            app,
            ["eval", "report", str(tmp_path / "model-a.results.jsonl"), "model-b", "--lake", str(lake),
             "--format", fmt, "--output", str(tmp_path / "new" / name)],
        )  # fmt: skip
        assert report.exit_code == 0, report.output
    assert "Flipped to pass (1): builtin/fizzbuzz" in (tmp_path / "new" / "r.md").read_text()
    assert (tmp_path / "new" / "r.html").read_text().count('class="plotly-graph-div"') >= 3
    doc = json.loads((tmp_path / "new" / "r.json").read_text())
    assert doc["comparison"]["flipped_to_pass"] == ["builtin/fizzbuzz"]


def test_malformed_samples_file_names_the_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"task_id": "builtin/gcd", "completion": "    return 1\\n"}\n{"task_id": "builtin/gcd", \n'
    )
    out = tmp_path / "results.jsonl"
    with pytest.raises(SystemExit) as info:
        main(
            [
                "eval",
                "run",
                str(bad),
                "--out",
                str(out),
                "--tasks",
                "builtin",
                "--lake",
                str(tmp_path / "lake"),
            ]
        )
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "line 2" in err and err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "lake").exists()


def test_refuses_without_bubblewrap_and_says_how_to_install(
    tmp_path: Path,
    builtin: TaskSet,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("codex_metrics.evaluation.execution.bwrap_path", lambda _config: None)
    path = samples_file(tmp_path / "s.jsonl", builtin, wrong=set())
    with pytest.raises(SystemExit):
        main(
            [
                "eval",
                "run",
                str(path),
                "--out",
                str(tmp_path / "r.jsonl"),
                "--tasks",
                "builtin",
                "--no-lake",
            ]
        )
    err = capsys.readouterr().err
    assert "apt-get install bubblewrap" in err and "--unsafe-no-sandbox" in err
    assert not (tmp_path / "r.jsonl").exists()


def test_unsafe_mode_runs_without_bubblewrap(tmp_path: Path, builtin: TaskSet) -> None:
    path = samples_file(tmp_path / "s.jsonl", builtin, wrong={"builtin/gcd"})
    out = tmp_path / "r.jsonl"
    result = runner.invoke(
        app,
        ["eval", "run", str(path), "--out", str(out), "--tasks", "builtin", "--no-lake", "--unsafe-no-sandbox", "--no-quality"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert sum(x["passed"] for x in lines) == len(builtin) - 1


def test_compare_fails_on_a_significant_regression(tmp_path: Path) -> None:
    from codex_metrics.evaluation.outcomes import Outcome
    from codex_metrics.evaluation.results import EvalRun, SampleRecord, write_results

    def results(name: str, failing: int) -> Path:
        records = tuple(
            SampleRecord(
                f"HumanEval/{i}",
                0,
                "",
                Outcome.ASSERTION_FAILURE if i < failing else Outcome.PASSED,
            )
            for i in range(40)
        )
        path = tmp_path / f"{name}.jsonl"
        write_results(path, EvalRun(name, name, "humaneval", "replay", records))
        return path

    base, candidate, close = results("base", 0), results("candidate", 9), results("close", 2)
    gated = runner.invoke(
        app, ["eval", "compare", str(base), str(candidate), "--fail-on-regression"]
    )
    assert gated.exit_code == 1, gated.output
    assert "regression: candidate is worse than base" in gated.stderr
    assert runner.invoke(app, ["eval", "compare", str(base), str(candidate)]).exit_code == 0
    fine = runner.invoke(app, ["eval", "compare", str(base), str(close), "--fail-on-regression"])
    assert fine.exit_code == 0, fine.output
