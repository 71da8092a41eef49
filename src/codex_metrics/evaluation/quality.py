"""Code quality of samples: edit distance to the reference, static analysis, complexity, score.

Nothing here executes sample code: it is parsed (``ast``, ``tokenize``, ``compile`` without
running) and handed to ruff, which only reads it. During ``eval run`` the parsing happens in a
separate sandboxed process (:class:`QualityJob`) while the samples execute, and ruff runs once
over all samples at the same time, so quality costs little wall-clock time and no input, however
hostile (10,000-deep nesting, megabyte literals, lone surrogates), can crash the run: a sample
whose quality cannot be measured gets ``None`` fields ("quality unavailable").

* **Edit distance** compares implementations, not layout: both the sample and the reference are
  round-tripped through ``ast`` with docstrings dropped (so comments, blank lines and docstrings
  do not count), then compared as characters and as Python tokens from the standard
  ``tokenize`` module (names, operators, numbers, strings; no tokenizer that downloads
  anything). Distances are Levenshtein distances divided by the longer length: 0 means
  identical, 1 means nothing in common. Code that does not parse is compared as written.
* **Static analysis** runs ruff once over all samples with pyflakes (``F``), bugbear (``B``),
  syntax (``E9``) and its flake8-bandit security rules (``S``, the CodeWhisperer-style scan;
  ``S101`` "assert used" is ignored, tests are asserts).
* **Cyclomatic complexity** is McCabe's: 1 plus one per branch point (``if``, loops,
  ``except``, boolean operators, comprehension ``if``s, ``match`` cases), the maximum over the
  sample's functions.
* **Quality score**, 0-100: 0 when the code does not compile; otherwise 100, minus 10 per
  security finding (at most 40), minus 3 per other ruff finding (at most 30), minus 2 per
  complexity point above 10 (at most 30).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_metrics.evaluation._quality_core import (
    cyclomatic_complexity,
    levenshtein,
    measure,
    normalise_code,
    normalised_distance,
    python_tokens,
)

if TYPE_CHECKING:
    from codex_metrics.evaluation.sandbox import SandboxConfig

__all__ = [
    "CodeQuality",
    "QualityJob",
    "cyclomatic_complexity",
    "levenshtein",
    "normalised_distance",
    "normalise_code",
    "python_tokens",
    "quality_of_samples",
    "quality_score",
    "ruff_findings",
    "sample_quality",
]

RUFF_RULES = ("E9", "F", "B", "S")
_CORE_SOURCE = Path(__file__).with_name("_quality_core.py").read_text(encoding="utf-8")
_BATCH = 64
_SAMPLE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class CodeQuality:
    """Quality measurements of one sample.

    Attributes:
        compile_ok: the code compiles (``compile``, not run).
        edit_distance_chars: normalised character edit distance to the reference (None
            without a reference, or for code too long to compare).
        edit_distance_tokens: normalised token edit distance to the reference.
        complexity: maximum McCabe complexity of its functions (None when it does not parse).
        ruff_findings: ruff findings other than security ones (None when ruff is unavailable).
        security_findings: ruff ``S`` (bandit) findings.
        quality_score: see the module docstring.
    """

    compile_ok: bool
    edit_distance_chars: float | None
    edit_distance_tokens: float | None
    complexity: int | None
    ruff_findings: int | None = None
    security_findings: int | None = None
    quality_score: float | None = None


def quality_score(
    compile_ok: bool, ruff: int | None, security: int | None, complexity: int | None
) -> float:
    """The documented 0-100 code-quality score (see the module docstring)."""
    if not compile_ok:
        return 0.0
    score = 100.0
    score -= min(40, 10 * (security or 0))
    score -= min(30, 3 * (ruff or 0))
    score -= min(30, 2 * max(0, (complexity or 0) - 10))
    return max(0.0, score)


def _ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _ruff_command(binary: str, folder: str) -> list[str]:
    return [
        binary, "check", "--isolated", "--no-cache", "--exit-zero", "--output-format", "json",
        "--select", ",".join(RUFF_RULES), "--ignore", "S101", "--target-version", "py311", folder,
    ]  # fmt: skip


def _write_sources(folder: Path, codes: Sequence[str]) -> None:
    for i, code in enumerate(codes):
        # a lone surrogate cannot be UTF-8: ruff reads it escaped
        (folder / f"s{i}.py").write_text(code, encoding="utf-8", errors="backslashreplace")


def _ruff_counts(stdout: str, count: int) -> list[tuple[int, int]] | None:
    try:
        findings = json.loads(stdout or "[]")
    except (ValueError, RecursionError):
        return None
    counts = [[0, 0] for _ in range(count)]
    for item in findings if isinstance(findings, list) else []:
        stem = Path(str(item.get("filename", "s-1.py"))).stem[1:]
        index = int(stem) if stem.isdigit() else -1
        if 0 <= index < count:
            rule = str(item.get("code") or "")
            counts[index][1 if rule.startswith("S") else 0] += 1
    return [(a, b) for a, b in counts]


def ruff_findings(codes: Sequence[str]) -> list[tuple[int, int]] | None:
    """(other findings, security findings) per code, from one ruff run; None without ruff."""
    binary = _ruff_binary()
    if binary is None or not codes:
        return None if binary is None else []
    with tempfile.TemporaryDirectory(prefix="codex-metrics-ruff-") as tmp:
        _write_sources(Path(tmp), codes)
        try:
            proc = subprocess.run(
                _ruff_command(binary, tmp), capture_output=True, text=True, timeout=600, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    return _ruff_counts(proc.stdout, len(codes))


def _assemble(measured: tuple[Any, ...] | None, ruff: tuple[int, int] | None) -> CodeQuality | None:
    if measured is None:
        return None
    compile_ok, chars, tokens, complexity = measured
    other, security = ruff if ruff is not None else (None, None)
    return CodeQuality(
        compile_ok=bool(compile_ok),
        edit_distance_chars=chars,
        edit_distance_tokens=tokens,
        complexity=complexity,
        ruff_findings=other,
        security_findings=security,
        quality_score=quality_score(bool(compile_ok), other, security, complexity),
    )


def sample_quality(
    code: str, reference: str | None, *, ruff: tuple[int, int] | None = None
) -> CodeQuality:
    """Quality of one sample's code against the task's reference solution (in this process)."""
    quality = _assemble(measure(code, reference), ruff)
    assert quality is not None  # measure() always answers
    return quality


def quality_of_samples(
    codes: Sequence[str],
    references: Sequence[str | None],
    *,
    run_ruff: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[CodeQuality]:
    """Quality of many samples in this process (ruff runs once for all of them).

    Args:
        codes: the samples' code.
        references: each sample's reference solution (``None``: no edit distance).
        run_ruff: run ruff (skipped when it is not installed).
        progress: called as ``progress(done, total)``.
    """
    findings = ruff_findings(codes) if run_ruff else None
    out = []
    for i, (code, ref) in enumerate(zip(codes, references, strict=True)):
        out.append(sample_quality(code, ref, ruff=findings[i] if findings else None))
        if progress is not None and (i % 100 == 99 or i == len(codes) - 1):
            progress(i + 1, len(codes))
    return out


class QualityJob:
    """Quality of many samples, measured in the background while they execute.

    Two processes work at once: ruff over all samples (one run), and the standard-library
    measurements in a separate process (sandboxed like the workers when ``sandbox`` is on). A
    scorer that dies or hangs on a sample is replaced; that sample's quality is ``None``. Each
    distinct (code, reference) pair is measured once: quality is a pure function of them, and
    sampled answers repeat.

    Args:
        codes: the samples' code.
        references: each sample's reference solution (``None``: no edit distance).
        sandbox: how to isolate the scorer (``None``: a plain process).
        run_ruff: run ruff as well.
    """

    def __init__(
        self,
        codes: Sequence[str],
        references: Sequence[str | None],
        *,
        sandbox: SandboxConfig | None = None,
        run_ruff: bool = True,
    ) -> None:
        distinct: dict[tuple[str, str | None], int] = {}
        self._slot = [
            distinct.setdefault((code, ref), len(distinct))
            for code, ref in zip(codes, references, strict=True)
        ]
        self._codes = [code for code, _ in distinct]
        self._references = [ref for _, ref in distinct]
        self._sandbox = sandbox
        self._measured: list[tuple[Any, ...] | None] = [None] * len(self._codes)
        self._ruff: list[tuple[int, int]] | None = None
        self._run_ruff = run_ruff
        self._thread = threading.Thread(target=self._work, name="eval-quality", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        ruff_proc, folder = None, None
        binary = _ruff_binary() if self._run_ruff and self._codes else None
        try:
            if binary is not None:
                folder = tempfile.mkdtemp(prefix="codex-metrics-ruff-")
                _write_sources(Path(folder), self._codes)
                ruff_proc = subprocess.Popen(
                    _ruff_command(binary, folder), stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, text=True,
                )  # fmt: skip
            start = 0
            while start < len(self._codes):
                start = self._score_from(start)
            if ruff_proc is not None:
                out, _ = ruff_proc.communicate(timeout=600)
                self._ruff = _ruff_counts(out, len(self._codes))
        except Exception:  # noqa: BLE001 - quality is optional: leave what is unmeasured None
            if ruff_proc is not None:
                ruff_proc.kill()
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)

    def _start_scorer(self) -> subprocess.Popen[bytes]:
        import sys

        if self._sandbox is not None:
            from codex_metrics.evaluation.isolation import launch_isolated

            return launch_isolated(self._sandbox, _CORE_SOURCE, "")
        return subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", "-c", _CORE_SOURCE], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def _score_from(self, start: int) -> int:
        """Score samples from ``start``; return where to go on (past a sample that broke it)."""
        proc = self._start_scorer()
        assert proc.stdin is not None and proc.stdout is not None
        buffer, index = b"", start
        try:
            while index < len(self._codes):
                batch = range(index, min(index + _BATCH, len(self._codes)))
                lines = [
                    json.dumps({"i": i, "code": self._codes[i], "ref": self._references[i]})
                    for i in batch
                ]
                proc.stdin.write(("\n".join(lines) + "\n").encode())
                proc.stdin.flush()
                for i in batch:
                    line, buffer = _next_line(proc.stdout.fileno(), buffer)
                    if line is None:
                        return i + 1  # this sample stopped the scorer: it stays unmeasured
                    answer = json.loads(line)
                    if answer.get("i") == i and isinstance(answer.get("q"), list):
                        self._measured[i] = tuple(answer["q"])
                index = batch.stop
            return index
        except (OSError, ValueError):
            return index + 1
        finally:
            proc.kill()
            proc.wait()

    def result(self) -> list[CodeQuality | None]:
        """Wait for the measurements; ``None`` for a sample whose quality is unavailable."""
        self._thread.join()
        ruff = self._ruff
        distinct = [
            _assemble(m, ruff[i] if ruff is not None else None)
            for i, m in enumerate(self._measured)
        ]
        return [distinct[slot] for slot in self._slot]


def _next_line(fd: int, buffer: bytes) -> tuple[bytes | None, bytes]:
    deadline = time.monotonic() + _SAMPLE_TIMEOUT_S
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, buffer
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None, buffer
            buffer += chunk
    line, rest = buffer.split(b"\n", 1)
    return line, rest
