"""Generating samples with the official ``openai`` client, from OpenAI or any compatible server.

``base_url`` and the API key come from :class:`~codex_metrics.config.Settings` (passed in, never
read from the environment here), so vLLM, Ollama and llama.cpp servers work as they are. One
request per task asks for ``n`` choices; requests run with bounded concurrency; a rate-limited
(429) or overloaded (5xx) answer is retried after the server's ``retry-after`` (or
``retry-after-ms``) delay, else with exponential backoff. Samples are appended to the samples
file as each task finishes, so an interrupted run resumes where it stopped.

Each sample records what it cost: the wall time of the request that produced it (the successful
attempt, without retries) and the request's prompt and completion tokens as the server reported
them in ``usage``, split evenly over the request's ``n`` samples (so per-run sums are exact).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from codex_metrics.errors import ParameterError, ProviderError
from codex_metrics.evaluation.extraction import extract_code
from codex_metrics.evaluation.samples import Sample, read_samples, write_samples
from codex_metrics.evaluation.tasks import Task

__all__ = ["GenerationConfig", "OpenAIProvider", "chat_messages"]

SYSTEM_PROMPT = "You are an expert Python programmer. Answer with code only."
USER_TEMPLATE = (
    "Complete the following Python function. Reply with the whole function, including its "
    "signature and any imports it needs, in one ```python code block.\n\n```python\n{prompt}\n```"
)
_RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class GenerationConfig:
    """What to ask the model for.

    Attributes:
        model: model name sent to the server.
        model_version: version string stored with the samples and results (default:
            ``model``); use the same string as telemetry and experiments.
        temperature: sampling temperature.
        n: samples per task.
        max_tokens: token limit of each answer.
        top_p: nucleus sampling, when set.
        mode: ``chat`` (chat completions, code extracted from the answer) or ``completion``
            (legacy completions of the prompt, the text is the completion).
        concurrency: requests in flight at once.
        max_retries: retries of one request on 429, 5xx, timeouts and connection errors.
        request_timeout_s: timeout of one HTTP request.
    """

    model: str
    model_version: str | None = None
    temperature: float = 0.0
    n: int = 1
    max_tokens: int = 1024
    top_p: float | None = None
    mode: Literal["chat", "completion"] = "chat"
    concurrency: int = 4
    max_retries: int = 6
    request_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ParameterError("n", f"must be at least 1, not {self.n}")
        if not 0 <= self.temperature <= 2:
            raise ParameterError("temperature", f"must be in 0..2, not {self.temperature}")
        if self.concurrency < 1:
            raise ParameterError("concurrency", f"must be at least 1, not {self.concurrency}")
        if self.mode not in ("chat", "completion"):
            raise ParameterError("mode", f"must be chat or completion, not {self.mode!r}")

    @property
    def version(self) -> str:
        """The model version recorded with the samples."""
        return self.model_version or self.model

    def as_settings(self) -> dict[str, Any]:
        """Parameters recorded with the run."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "n": self.n,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "mode": self.mode,
        }


def chat_messages(task: Task) -> list[dict[str, str]]:
    """The chat messages sent for ``task``."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_TEMPLATE.format(prompt=task.prompt.strip("\n"))},
    ]


def _cost(response: Any, latency_s: float) -> dict[str, Any]:
    """Latency and token usage of one response (``None`` where the server gave none)."""
    usage = getattr(response, "usage", None)

    def count(name: str) -> int | None:
        value = getattr(usage, name, None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "latency_s": latency_s,
        "prompt_tokens": count("prompt_tokens"),
        "completion_tokens": count("completion_tokens"),
    }


def _split(total: int | None, parts: int) -> list[int | None]:
    """``total`` in ``parts`` integers that add up to it (the first ones take the remainder)."""
    if total is None or parts == 0:
        return [None] * parts
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _retry_delay(exc: Exception, attempt: int) -> float:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return min(60.0, max(0.0, float(value) * scale))
            except ValueError:
                pass
    return min(30.0, 0.5 * 2**attempt)


class OpenAIProvider:
    """Samples from an OpenAI-compatible server.

    Args:
        config: what to ask for.
        base_url: server URL, e.g. ``http://localhost:8000/v1`` (``None``: api.openai.com).
        api_key: the key (local servers accept any non-empty string).
        client: an ``openai.OpenAI`` client to use instead of building one.
        sleep: how to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        config: GenerationConfig,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        client: Any | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self.base_url = base_url or "https://api.openai.com/v1"
        self._probe = client is None  # a client we build talks to a real address: check it
        if client is None:
            import openai

            if not api_key and base_url is None:
                raise ProviderError(
                    "no OpenAI API key: set OPENAI_API_KEY, or [openai] base_url in "
                    "codex-metrics.toml for a local server"
                )
            client = openai.OpenAI(
                base_url=base_url,
                api_key=api_key or "not-needed",
                max_retries=0,  # retries are ours, so they honour retry-after and are counted
                timeout=config.request_timeout_s,
            )
        self.client: Any = client
        self.retries = 0
        self._lock = threading.Lock()

    def _request(self, task: Task) -> tuple[list[str], dict[str, Any]]:
        import openai

        cfg = self.config
        for attempt in range(cfg.max_retries + 1):
            started = time.perf_counter()
            try:
                if cfg.mode == "chat":
                    kwargs: dict[str, Any] = {}
                    if cfg.top_p is not None:
                        kwargs["top_p"] = cfg.top_p
                    response = self.client.chat.completions.create(
                        model=cfg.model,
                        messages=chat_messages(task),
                        n=cfg.n,
                        temperature=cfg.temperature,
                        max_tokens=cfg.max_tokens,
                        **kwargs,
                    )
                    answers = [c.message.content or "" for c in response.choices]
                else:
                    response = self.client.completions.create(
                        model=cfg.model,
                        prompt=task.prompt,
                        n=cfg.n,
                        temperature=cfg.temperature,
                        max_tokens=cfg.max_tokens,
                        **({"top_p": cfg.top_p} if cfg.top_p is not None else {}),
                    )
                    answers = [c.text or "" for c in response.choices]
                if len(answers) != cfg.n:
                    raise ProviderError(
                        f"{task.task_id}: asked for {cfg.n} choices, got {len(answers)}"
                    )
                return answers, _cost(response, time.perf_counter() - started)
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                status = getattr(exc, "status_code", None)
                retryable = isinstance(exc, openai.APIConnectionError) or status in _RETRY_STATUSES
                if not retryable or attempt == cfg.max_retries:
                    raise ProviderError(
                        f"{task.task_id}: the model server at {self.base_url} failed ({exc})"
                    ) from None
                with self._lock:
                    self.retries += 1
                self._sleep(_retry_delay(exc, attempt))
        raise ProviderError(
            f"{task.task_id}: no answer after {cfg.max_retries} retries"
        )  # pragma: no cover

    def check_reachable(self, *, timeout_s: float = 3.0) -> None:
        """Fail at once, naming the URL, when nothing listens at the server's address.

        Slow answers and rate limits are not failures (requests retry them); a refused or
        unresolvable address is, and retrying it for minutes helps nobody.

        Raises:
            ProviderError: the address cannot be reached.
        """
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ProviderError(
                f"cannot reach the model server at {self.base_url} ({reason}); start it, or set "
                "[openai] base_url in codex-metrics.toml or OPENAI_BASE_URL"
            ) from None

    def _samples(
        self, task: Task, answers: Sequence[str], cost: dict[str, Any] | None = None
    ) -> list[Sample]:
        cost = cost or {}
        prompt = _split(cost.get("prompt_tokens"), len(answers))
        completion = _split(cost.get("completion_tokens"), len(answers))
        out = []
        for index, answer in enumerate(answers):
            if self.config.mode == "chat":
                code = extract_code(answer, entry_point=task.entry_point)
            else:
                code = answer
            out.append(
                Sample(
                    task_id=task.task_id,
                    sample_index=index,
                    code=code or "",
                    model_version=self.config.version,
                    raw=answer,
                    extracted=code is not None,
                    latency_s=cost.get("latency_s"),
                    prompt_tokens=prompt[index],
                    completion_tokens=completion[index],
                )
            )
        return out

    def generate(
        self,
        tasks: Sequence[Task],
        out: Path,
        *,
        resume: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Sample]:
        """Ask for ``n`` samples of every task, appending them to ``out`` as tasks finish.

        With ``resume``, tasks that already have ``n`` samples in ``out`` are not asked again.

        Returns:
            All samples in ``out`` for these tasks (old and new), in task order.

        Raises:
            ProviderError: a request failed after its retries (samples already written stay).
        """
        if self._probe:
            self.check_reachable()
        done: dict[str, list[Sample]] = {}
        if resume and out.exists() and out.stat().st_size > 0:
            for sample in read_samples(out):
                done.setdefault(sample.task_id, []).append(sample)
        elif out.exists():
            out.unlink()
        todo = [t for t in tasks if len(done.get(t.task_id, [])) < self.config.n]
        if resume and done and todo:
            # A task with fewer than n samples is asked again in full; drop its partial lines.
            keep = [s for t in tasks if t not in todo for s in done.get(t.task_id, [])]
            write_samples(out, keep)
            for t in todo:
                done.pop(t.task_id, None)
        finished = len(tasks) - len(todo)
        if progress is not None:
            progress(finished, len(tasks))
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency)
        try:
            futures = {pool.submit(self._request, task): task for task in todo}
            for future in as_completed(futures):
                task = futures[future]
                samples = self._samples(task, *future.result())
                write_samples(out, samples, append=True)
                done[task.task_id] = samples
                finished += 1
                if progress is not None:
                    progress(finished, len(tasks))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return [
            s for t in tasks for s in sorted(done.get(t.task_id, []), key=lambda s: s.sample_index)
        ]
