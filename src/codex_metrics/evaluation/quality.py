"""Code quality of samples: edit distance to the reference, static analysis, complexity, score.

Nothing here executes sample code: it is parsed (``ast``, ``tokenize``, ``compile`` without
running) and handed to ruff, which only reads it.

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

import ast
import functools
import io
import json
import re
import subprocess
import tempfile
import tokenize
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CodeQuality",
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
_SKIP_TOKENS = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


@dataclass(frozen=True)
class CodeQuality:
    """Quality measurements of one sample.

    Attributes:
        compile_ok: the code compiles (``compile``, not run).
        edit_distance_chars: normalised character edit distance to the reference (None
            without a reference).
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


def levenshtein(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance between two sequences (strings or token lists).

    Bit-parallel algorithm of Myers (1999) in Hyyrö's formulation (2001): one pass over ``b``
    with big-integer bit vectors as long as ``a``, so long code stays fast in pure Python.
    """
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    m = len(a)
    mask = (1 << m) - 1
    high = 1 << (m - 1)
    peq: dict[Hashable, int] = {}
    for i, item in enumerate(a):
        peq[item] = peq.get(item, 0) | (1 << i)
    pv, mv, score = mask, 0, m
    for item in b:
        eq = peq.get(item, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def normalised_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Levenshtein distance divided by the longer length (0 identical, 1 disjoint)."""
    longest = max(len(a), len(b))
    return 0.0 if longest == 0 else levenshtein(a, b) / longest


def python_tokens(code: str) -> list[str]:
    """The significant Python tokens of ``code`` (``tokenize``; a regex split if it fails)."""
    tokens: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in _SKIP_TOKENS:
                tokens.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.findall(r"\w+|[^\w\s]", code)
    return tokens


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


def normalise_code(code: str) -> str:
    """``code`` without docstrings, comments or layout (``ast`` round trip), else as is."""
    try:
        return ast.unparse(_strip_docstrings(ast.parse(code)))
    except (SyntaxError, ValueError, RecursionError):
        return code


class _Complexity(ast.NodeVisitor):
    def __init__(self) -> None:
        self.count = 1

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(
            node, ast.If | ast.For | ast.AsyncFor | ast.While | ast.IfExp | ast.ExceptHandler
        ):
            self.count += 1
        elif isinstance(node, ast.BoolOp):
            self.count += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            self.count += 1 + len(node.ifs)
        elif isinstance(node, ast.match_case):
            self.count += 1
        super().generic_visit(node)


def cyclomatic_complexity(code: str) -> int | None:
    """Maximum McCabe complexity over the functions in ``code`` (module level if none)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return None
    functions: list[ast.AST] = [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    best = 1
    for node in functions or [tree]:
        visitor = _Complexity()
        for child in node.body if hasattr(node, "body") else []:
            visitor.visit(child)
        best = max(best, visitor.count)
    return best


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


def _compiles(code: str) -> bool:
    try:
        compile(code, "<sample>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        import shutil

        return shutil.which("ruff")


def ruff_findings(codes: Sequence[str]) -> list[tuple[int, int]] | None:
    """(other findings, security findings) per code, from one ruff run; None without ruff."""
    binary = _ruff_binary()
    if binary is None or not codes:
        return None if binary is None else []
    with tempfile.TemporaryDirectory(prefix="codex-metrics-ruff-") as tmp:
        root = Path(tmp)
        for i, code in enumerate(codes):
            (root / f"s{i}.py").write_text(code, encoding="utf-8")
        cmd = [
            binary, "check", "--isolated", "--no-cache", "--exit-zero", "--output-format", "json",
            "--select", ",".join(RUFF_RULES), "--ignore", "S101", "--target-version", "py311", tmp,
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
            findings = json.loads(proc.stdout or "[]")
        except (OSError, subprocess.TimeoutExpired, ValueError):
            return None
    counts = [[0, 0] for _ in codes]
    for item in findings:
        index = int(Path(item.get("filename", "s-1.py")).stem[1:] or -1)
        if 0 <= index < len(codes):
            rule = str(item.get("code") or "")
            counts[index][1 if rule.startswith("S") else 0] += 1
    return [(a, b) for a, b in counts]


@functools.lru_cache(maxsize=8192)
def _comparable(code: str) -> tuple[str, tuple[str, ...]]:
    """Normalised code and its tokens (cached: a reference serves every sample of its task)."""
    normalised = normalise_code(code)
    return normalised, tuple(python_tokens(normalised))


def sample_quality(
    code: str, reference: str | None, *, ruff: tuple[int, int] | None = None
) -> CodeQuality:
    """Quality of one sample's code against the task's reference solution."""
    compile_ok = _compiles(code)
    chars = tokens = None
    if reference:
        (mine, my_tokens), (theirs, their_tokens) = _comparable(code), _comparable(reference)
        chars = normalised_distance(mine, theirs)
        tokens = normalised_distance(my_tokens, their_tokens)
    complexity = cyclomatic_complexity(code)
    other, security = ruff if ruff is not None else (None, None)
    return CodeQuality(
        compile_ok=compile_ok,
        edit_distance_chars=chars,
        edit_distance_tokens=tokens,
        complexity=complexity,
        ruff_findings=other,
        security_findings=security,
        quality_score=quality_score(compile_ok, other, security, complexity),
    )


def quality_of_samples(
    codes: Sequence[str],
    references: Sequence[str | None],
    *,
    run_ruff: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[CodeQuality]:
    """Quality of many samples (ruff runs once for all of them).

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
