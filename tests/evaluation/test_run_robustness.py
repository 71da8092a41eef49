"""No sample and no harness failure on one sample can stop a run; missing verdicts are counted.

Harness failures are injected around the real sandbox (a worker that raises for one program, a
worker that cannot start); quality is fed the inputs that used to crash it; every string that
reaches the results file or the lake is valid UTF-8.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codex_metrics.cli.app import app
from codex_metrics.errors import InputFormatError, SandboxError
from codex_metrics.evaluation import execution
from codex_metrics.evaluation.isolation import (
    BLOCKED_SYSCALLS,
    _bwrap_command,
    bounded_sandbox,
    seccomp_filter,
)
from codex_metrics.evaluation.outcomes import Outcome
from codex_metrics.evaluation.quality import QualityJob, sample_quality
from codex_metrics.evaluation.results import EvalRun, SampleRecord, read_results, write_results
from codex_metrics.evaluation.samples import Sample, read_samples, write_samples
from codex_metrics.evaluation.sandbox import SandboxConfig, SandboxWorker
from codex_metrics.evaluation.store import publish
from codex_metrics.evaluation.tasks import TaskSet
from codex_metrics.lake import Lake
from tests.evaluation.conftest import requires_bwrap

BROKEN = "    return 'this sample breaks the harness'\n"


@pytest.fixture
def one_broken_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """A harness bug that strikes one program: the worker raises while running it."""
    real_run = SandboxWorker.run

    def run(self: SandboxWorker, program, limits):  # type: ignore[no-untyped-def]
        if BROKEN in getattr(program, "source", program):
            raise RuntimeError("simulated harness bug")
        return real_run(self, program, limits)

    monkeypatch.setattr(SandboxWorker, "run", run)


@requires_bwrap
@pytest.mark.sandbox
def test_a_harness_error_costs_one_verdict_and_the_cli_exits_3(
    tmp_path: Path, builtin: TaskSet, one_broken_sample: None
) -> None:
    samples = [Sample(t.task_id, 0, t.canonical_solution) for t in builtin]
    samples[3] = Sample(samples[3].task_id, 0, BROKEN)
    write_samples(tmp_path / "s.jsonl", samples)
    out, lake = tmp_path / "r.jsonl", tmp_path / "lake"
    result = CliRunner().invoke(
        app, ["eval", "run", str(tmp_path / "s.jsonl"), "--tasks", "builtin", "--output", str(out),
              "--lake", str(lake), "--workers", "2", "--run-id", "broken"],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "1 sample(s) have no verdict" in result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["outcome"] for x in lines].count("harness_error") == 1
    assert sum(x["passed"] for x in lines) == len(builtin) - 1  # every other sample judged
    run = read_results(out)
    assert run.verdicts_missing == 1 and run.pass_at_k() == {1: 1.0}  # missing is not failed
    row = (
        Lake.open(lake, create=False)
        .connect()
        .execute(
            "SELECT status, verdicts_missing, pass_at_1 FROM eval_runs WHERE eval_run_id = 'broken'"
        )
        .fetchone()
    )
    assert row == ("incomplete", 1, 1.0)


def test_a_worker_that_cannot_start_stops_the_run_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def start(self: SandboxWorker) -> None:
        raise SandboxError("the sandbox worker did not start: simulated")

    monkeypatch.setattr(SandboxWorker, "start", start)
    with pytest.raises(SandboxError, match="no sandbox worker could be started: .*simulated"):
        execution.run_programs(["pass"] * 5, workers=2, sandbox=SandboxConfig(enabled=False))


def test_a_worker_that_stops_starting_leaves_missing_verdicts_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts = {"count": 0}
    real_start = SandboxWorker.start

    def start(self: SandboxWorker) -> None:
        starts["count"] += 1
        if starts["count"] > 1:
            raise SandboxError("the sandbox worker did not start: out of processes")
        real_start(self)

    monkeypatch.setattr(SandboxWorker, "start", start)
    kill_the_server = (
        "import ctypes, os\nctypes.CDLL(None).kill(os.getppid(), 9)\nimport time\ntime.sleep(5)"
    )
    programs = [kill_the_server, "pass", "pass"]  # the first takes its worker down
    results = execution.run_programs(programs, workers=1, sandbox=SandboxConfig(enabled=False))
    assert [r.outcome for r in results] == [
        Outcome.CRASH,
        Outcome.HARNESS_ERROR,
        Outcome.HARNESS_ERROR,
    ]
    assert "out of processes" in (results[1].detail or "")


def test_quality_survives_what_used_to_crash_it() -> None:
    deep_unary = "def f(x):\n    return " + "-" * 600 + "x\n"
    deep_parens = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    deep_blocks = "".join("    " * i + "if x:\n" for i in range(90)) + "    " * 90 + "pass\n"
    huge = "x = '" + "a" * 3_000_000 + "'\n"
    surrogate = "def f():\n    return '\ud800'\n"
    codes = [deep_unary, deep_parens, deep_blocks, huge, surrogate]
    assert sample_quality(deep_unary, "def f(x):\n    return x\n").complexity == 1
    measured = QualityJob(codes, ["def f(x):\n    return x\n"] * len(codes)).result()
    assert all(q is not None for q in measured)
    assert measured[0] is not None and measured[0].compile_ok and measured[0].complexity == 1
    assert measured[2] is not None and measured[2].complexity == 91
    assert measured[3] is not None and measured[3].edit_distance_chars is None  # too long
    assert measured[4] is not None and measured[4].compile_ok is False


def test_a_scorer_that_dies_loses_only_that_samples_quality(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import codex_metrics.evaluation.quality as quality

    fragile = quality._CORE_SOURCE.replace(
        "def measure(code: str, reference: str | None)",
        "def measure(code: str, reference: str | None, _exit=__import__('os')._exit)",
    ).replace(
        "    try:\n        ok = compiles(code)",
        '    if "KILL" in code:\n        _exit(1)\n    try:\n        ok = compiles(code)',
    )
    monkeypatch.setattr(quality, "_CORE_SOURCE", fragile)
    codes = ["x = 1\n", "KILL = 1\n", "y = 2\n"] * 3
    measured = QualityJob(codes, [None] * len(codes), run_ruff=False).result()
    assert [q is None for q in measured] == [False, True, False] * 3


def test_every_string_written_is_valid_utf8(tmp_path: Path) -> None:
    bad = "broken \ud800 text \udcff"
    record = SampleRecord.sanitised(
        task_id="HumanEval/0", sample_index=0, completion=bad, outcome=Outcome.VALUE_ERROR,
        error_type="ValueError", error_message=bad, traceback=bad, detail=bad,
    )  # fmt: skip
    assert record.error_message == "broken \\ud800 text \\udcff"
    run = EvalRun("run-\udc80", "model-\ud800", "humaneval", "replay", (record,))
    path = tmp_path / "r.jsonl"
    write_results(path, run)
    path.read_bytes().decode("utf-8")  # strict
    assert "\\\\ud800" in path.read_text()  # the escape is text, not an escape JSON would decode
    publish(read_results(path), tmp_path / "lake")
    stored = (
        Lake.open(tmp_path / "lake", create=False)
        .connect()
        .execute("SELECT error_message, model_version FROM eval_results")
        .fetchone()
    )
    assert stored == ("broken \\ud800 text \\udcff", "model-\\ud800")


def test_a_samples_file_nested_too_deeply_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"task_id": "HumanEval/0", "completion": "x"}\n' + "[" * 100_000 + "]" * 100_000 + "\n"
    )
    with pytest.raises(InputFormatError, match="line 2"):
        read_samples(path)


def test_tmpfs_sizes_are_bounded_by_the_machines_memory() -> None:
    config = SandboxConfig(tmpfs_mb=256, shm_mb=64)
    assert bounded_sandbox(config, 8, memory_mb=24_000) == config  # 8 x 320 MB < 6 GB
    small = bounded_sandbox(config, 32, memory_mb=4_000)  # 1 GB for 32 workers
    assert 32 * (small.tmpfs_mb + small.shm_mb) <= 1_000 and small.shm_mb >= 4
    with pytest.raises(Exception, match="use fewer"):
        bounded_sandbox(config, 1_000, memory_mb=4_000)


def test_the_sandbox_command_closes_namespaces_dev_and_ipc() -> None:
    cmd = _bwrap_command(Path("/usr/bin/bwrap"), Path("/usr/bin/python3"), SandboxConfig(), 7)
    joined = " ".join(cmd)
    assert "--unshare-all --unshare-user --disable-userns" in joined
    assert "--tmpfs /dev/shm --mqueue /dev/mqueue --remount-ro /dev" in joined
    assert "--seccomp 7" in joined and f"--size {64 << 20} --tmpfs /dev/shm" in joined


def test_the_seccomp_filter_is_well_formed() -> None:
    program = seccomp_filter("x86_64")
    assert program is not None and len(program) % 8 == 0
    # arch check, x32 check, one comparison per blocked call, allow, deny
    assert len(program) // 8 == 4 + 1 + len(set(BLOCKED_SYSCALLS)) + 2
    assert seccomp_filter("aarch64") is not None and seccomp_filter("mips") is None
