"""The OpenAI provider against a local OpenAI-compatible HTTP server, through the real client.

The server checks every request (model, messages, n, temperature), answers with ``n`` choices
built from real WizardCoder answers (the raw ``all_code`` responses of the recorded file), and
answers the first request of some tasks with 429 and ``retry-after``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from codex_metrics.errors import ProviderError
from codex_metrics.evaluation.openai_provider import GenerationConfig, OpenAIProvider
from codex_metrics.evaluation.runner import evaluate
from codex_metrics.evaluation.samples import read_samples
from codex_metrics.evaluation.tasks import TaskSet
from tests.evaluation.conftest import WIZARD_RESULTS, requires_bwrap, requires_shared

pytestmark = requires_shared

MODEL = "wizardcoder-15b"
TASK_IDS = [f"HumanEval/{i}" for i in range(12)]
RATE_LIMITED = {"HumanEval/2", "HumanEval/7"}


def recorded_answers() -> dict[str, dict[str, Any]]:
    out = {}
    for line in WIZARD_RESULTS.read_text().splitlines():
        record = json.loads(line)
        out[record["task_id"]] = {
            "answer": record["all_code"].split("### Response:", 1)[1],
            "passed": record["passed"],
        }
    return out


class FakeOpenAI:
    """A minimal OpenAI-compatible chat-completions server with request checks."""

    def __init__(self, tasks: TaskSet, *, n: int, temperature: float) -> None:
        self.tasks = tasks
        self.n = n
        self.temperature = temperature
        self.answers = recorded_answers()
        self.requests: Counter[str] = Counter()
        self.problems: list[str] = []
        self.rate_limited_at: dict[str, float] = {}
        self.retried_after: dict[str, float] = {}
        self.fail_always: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                status, payload, headers = server.handle(self.path, body, self.headers)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def task_of(self, body: dict[str, Any]) -> str | None:
        user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
        for task in self.tasks:
            if task.prompt.strip("\n") in user:
                return task.task_id
        return None

    def handle(
        self, path: str, body: dict[str, Any], headers: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if path != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}"}}, {}
        task_id = self.task_of(body)
        checks = {
            "model": body.get("model") == MODEL,
            "n": body.get("n") == self.n,
            "temperature": body.get("temperature") == self.temperature,
            "messages": task_id is not None and body["messages"][0]["role"] == "system",
            "auth": headers.get("authorization") == "Bearer sk-local-test",
        }
        bad = [name for name, ok in checks.items() if not ok]
        with self.lock:
            if bad:
                self.problems.append(f"{task_id}: bad {bad}")
                return 400, {"error": {"message": f"bad request: {bad}"}}, {}
            self.requests[task_id] += 1
            if task_id in self.fail_always:
                return 503, {"error": {"message": "overloaded"}}, {}
            if task_id in RATE_LIMITED and self.requests[task_id] == 1:
                self.rate_limited_at[task_id] = time.monotonic()
                return (
                    429,
                    {"error": {"message": "rate limited", "type": "rate_limit"}},
                    {"retry-after": "1"},
                )
            if task_id in self.rate_limited_at:
                self.retried_after[task_id] = time.monotonic() - self.rate_limited_at[task_id]
        answer = self.answers[task_id]["answer"]
        choices = [
            {
                "index": i,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer},
            }
            for i in range(self.n)
        ]
        return (
            200,
            {
                "id": f"chatcmpl-{task_id}",
                "object": "chat.completion",
                "created": 0,
                "model": MODEL,
                "choices": choices,
                "usage": {
                    "prompt_tokens": 100,
                    "completion_tokens": 10 * self.n + 1,
                    "total_tokens": 101 + 10 * self.n,
                },  # fmt: skip
            },
            {},
        )

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tasks(humaneval: TaskSet) -> list:
    return [humaneval[t] for t in TASK_IDS]


def provider(server: FakeOpenAI, *, n: int, temperature: float, **kw: Any) -> OpenAIProvider:
    config = GenerationConfig(model=MODEL, n=n, temperature=temperature, concurrency=3, **kw)
    return OpenAIProvider(config, base_url=server.base_url, api_key="sk-local-test")


def test_generation_checks_requests_honours_429_and_writes_samples(
    tmp_path: Path, humaneval: TaskSet, tasks: list
) -> None:
    out = tmp_path / "samples.jsonl"
    with FakeOpenAI(humaneval, n=3, temperature=0.2) as server:
        gen = provider(server, n=3, temperature=0.2)
        samples = gen.generate(tasks, out)
    assert server.problems == []
    assert len(samples) == 36 and [s.sample_index for s in samples[:3]] == [0, 1, 2]
    assert gen.retries == 2
    assert {t: server.requests[t] for t in RATE_LIMITED} == {t: 2 for t in RATE_LIMITED}
    assert all(server.requests[t] == 1 for t in TASK_IDS if t not in RATE_LIMITED)
    assert all(delay >= 0.9 for delay in server.retried_after.values()), server.retried_after
    # The file round-trips through replay, with the raw answer and the model version.
    replayed = read_samples(out, tasks=humaneval)
    assert sorted((s.task_id, s.sample_index) for s in replayed) == sorted(
        (s.task_id, s.sample_index) for s in samples
    )
    assert all(s.model_version == MODEL and s.raw and s.extracted for s in replayed)
    answers = recorded_answers()
    assert all(s.code.lstrip().startswith(("def ", "from ", "import ")) for s in replayed)
    assert replayed[0].raw == answers[replayed[0].task_id]["answer"]


def test_each_sample_records_its_latency_and_share_of_the_tokens(
    tmp_path: Path, humaneval: TaskSet, tasks: list
) -> None:
    out = tmp_path / "samples.jsonl"
    with FakeOpenAI(humaneval, n=3, temperature=0.2) as server:
        provider(server, n=3, temperature=0.2).generate(tasks[:3], out)
    samples = read_samples(out, tasks=humaneval)
    by_task: dict[str, list] = {}
    for s in samples:
        by_task.setdefault(s.task_id, []).append(s)
    for task_samples in by_task.values():
        assert [s.prompt_tokens for s in task_samples] == [34, 33, 33]  # 100 split, sum exact
        assert [s.completion_tokens for s in task_samples] == [11, 10, 10]  # 31 split
        assert len({s.latency_s for s in task_samples}) == 1 and task_samples[0].latency_s > 0
    rate_limited = by_task["HumanEval/2"][0].latency_s
    assert rate_limited < 0.9  # the successful attempt only, not the retry-after wait


@requires_bwrap
@pytest.mark.sandbox
def test_generation_cost_reaches_the_results_and_the_run(
    tmp_path: Path, humaneval: TaskSet, tasks: list
) -> None:
    from codex_metrics.evaluation.results import read_results, write_results

    out = tmp_path / "samples.jsonl"
    with FakeOpenAI(humaneval, n=1, temperature=0.0) as server:
        provider(server, n=1, temperature=0.0).generate(tasks[:3], out)
    run = evaluate(read_samples(out, tasks=humaneval), humaneval, provider="openai", quality=False)
    write_results(tmp_path / "results.jsonl", run)
    back = read_results(tmp_path / "results.jsonl")
    assert [r.prompt_tokens for r in back.records] == [100, 100, 100]
    assert [r.completion_tokens for r in back.records] == [11, 11, 11]
    cost = back.generation_cost()
    assert (cost["prompt_tokens_total"], cost["completion_tokens_total"]) == (300, 33)
    assert cost["generation_latency_mean_ms"] is not None and cost["generation_latency_mean_ms"] > 0


@requires_bwrap
@pytest.mark.sandbox
def test_generated_samples_score_like_the_recorded_run(
    tmp_path: Path, humaneval: TaskSet, tasks: list
) -> None:
    out = tmp_path / "samples.jsonl"
    with FakeOpenAI(humaneval, n=1, temperature=0.0) as server:
        provider(server, n=1, temperature=0.0).generate(tasks, out)
    run = evaluate(read_samples(out, tasks=humaneval), humaneval, provider="openai", quality=False)
    expected = {t: recorded_answers()[t]["passed"] for t in TASK_IDS}
    assert {r.task_id: r.passed for r in run.records} == expected
    assert run.model_version == MODEL


def test_resume_asks_only_for_missing_tasks(
    tmp_path: Path, humaneval: TaskSet, tasks: list
) -> None:
    out = tmp_path / "samples.jsonl"
    with FakeOpenAI(humaneval, n=2, temperature=0.5) as server:
        server.fail_always = {"HumanEval/5"}
        gen = provider(server, n=2, temperature=0.5, max_retries=1)
        gen._sleep = lambda _s: None
        with pytest.raises(ProviderError, match="HumanEval/5"):
            gen.generate(tasks, out)
        written = {s.task_id for s in read_samples(out)}
        assert "HumanEval/5" not in written and written
        server.fail_always = set()
        before = Counter(server.requests)
        samples = provider(server, n=2, temperature=0.5).generate(tasks, out)
    asked_again = {t for t in TASK_IDS if server.requests[t] > before[t]}
    assert "HumanEval/5" in asked_again
    assert asked_again.isdisjoint(written)
    assert len(samples) == 24
    assert len(read_samples(out)) == 24


def test_unretryable_error_is_reported_once(
    tmp_path: Path, humaneval: TaskSet, tasks: list
) -> None:
    with FakeOpenAI(humaneval, n=1, temperature=0.0) as server:
        wrong = GenerationConfig(model="other-model", n=1, temperature=0.0)
        gen = OpenAIProvider(wrong, base_url=server.base_url, api_key="sk-local-test")
        with pytest.raises(
            ProviderError, match=r"model server at http://127\.0\.0\.1:\d+/v1 failed"
        ):
            gen.generate(tasks[:1], tmp_path / "s.jsonl")
        assert gen.retries == 0


def test_generate_command_uses_configured_server(
    tmp_path: Path, humaneval: TaskSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from codex_metrics.cli.app import app

    out = tmp_path / "samples.jsonl"
    with FakeOpenAI(humaneval, n=2, temperature=0.8) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(
            app,
            ["eval", "generate", "--model", MODEL, "--n", "2", "--temperature", "0.8", "--limit", "3",
             "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 6 samples for 3 tasks" in result.output
    assert server.problems == [] and sum(server.requests.values()) == 4  # HumanEval/2 got a 429
    assert {s.task_id for s in read_samples(out)} == {"HumanEval/0", "HumanEval/1", "HumanEval/2"}
