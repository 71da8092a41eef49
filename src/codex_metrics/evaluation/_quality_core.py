"""The measurements of code quality that need only the standard library.

Used in process by :mod:`codex_metrics.evaluation.quality`, and run as a script (``serve``) in a
separate sandboxed process while samples execute, so scoring overlaps execution and no hostile
input can take the harness down with it. Every measurement survives any input: code that does
not parse, nests 10,000 levels deep, holds a megabyte literal or a lone surrogate gets ``None``
where a number cannot be had, never an exception.
"""

from __future__ import annotations

import ast
import io
import json
import re
import sys
import tokenize
from collections.abc import Hashable, Sequence
from typing import Any

#: Code longer than this (characters) gets no edit distance (and no token list).
MAX_DISTANCE_CHARS = 50_000
_SKIP_TOKENS = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}
_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
_BRANCHES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp, ast.ExceptHandler, ast.match_case)


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
    except (tokenize.TokenError, *_PARSE_ERRORS):
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
    except _PARSE_ERRORS:
        return code


def _branch_points(root: ast.AST) -> int:
    """McCabe branch points in ``root``'s body, counted without recursion (any nesting depth)."""
    count, stack = 0, list(getattr(root, "body", []))
    while stack:
        node = stack.pop()
        if isinstance(node, _BRANCHES):
            count += 1
        elif isinstance(node, ast.BoolOp):
            count += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            count += 1 + len(node.ifs)
        stack.extend(ast.iter_child_nodes(node))
    return count


def cyclomatic_complexity(code: str) -> int | None:
    """Maximum McCabe complexity over the functions in ``code`` (module level if none)."""
    try:
        tree = ast.parse(code)
    except _PARSE_ERRORS:
        return None
    functions: list[ast.AST] = [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return max(1 + _branch_points(node) for node in functions or [tree])


def compiles(code: str) -> bool:
    """Whether ``code`` compiles (``compile``, never run)."""
    try:
        compile(code, "<sample>", "exec", dont_inherit=True)
    except _PARSE_ERRORS:
        return False
    return True


Measured = tuple[bool, float | None, float | None, int | None]
_COMPARABLE: dict[str, tuple[str, list[str]]] = {}
_MEASURED: dict[tuple[str, str | None], Measured] = {}


def _comparable(code: str) -> tuple[str, list[str]]:
    """Normalised code and its tokens (kept: a reference serves every sample of its task)."""
    found = _COMPARABLE.get(code)
    if found is None:
        normalised = normalise_code(code)
        found = normalised, python_tokens(normalised)
        if len(_COMPARABLE) > 4096:
            _COMPARABLE.clear()
        _COMPARABLE[code] = found
    return found


def measure(code: str, reference: str | None) -> Measured:
    """(compiles, char distance, token distance, complexity) of ``code``; never raises.

    A pure function of its inputs, so an answer drawn twice is measured once.
    """
    key = (code, reference)
    found = _MEASURED.get(key)
    if found is None:
        found = _measure(code, reference)
        if len(_MEASURED) > 4096:
            _MEASURED.clear()
        _MEASURED[key] = found
    return found


def _measure(code: str, reference: str | None) -> Measured:
    try:
        ok = compiles(code)
    except Exception:  # noqa: BLE001 - "quality unavailable", never a broken run
        ok = False
    chars = tokens = None
    if reference and max(len(code), len(reference)) <= MAX_DISTANCE_CHARS:
        try:
            (mine, my_tokens), (theirs, their_tokens) = _comparable(code), _comparable(reference)
            chars = normalised_distance(mine, theirs)
            tokens = normalised_distance(my_tokens, their_tokens)
        except Exception:  # noqa: BLE001
            chars = tokens = None
    try:
        complexity = cyclomatic_complexity(code)
    except Exception:  # noqa: BLE001
        complexity = None
    return ok, chars, tokens, complexity


def serve() -> None:
    """Answer ``{"i", "code", "ref"}`` lines on stdin with ``{"i", "q"}`` lines on stdout."""
    out = sys.stdout
    for line in sys.stdin:
        try:
            request: dict[str, Any] = json.loads(line)
            answer = {"i": request["i"], "q": measure(request["code"], request.get("ref"))}
        except Exception as exc:  # noqa: BLE001
            answer = {"i": -1, "error": repr(exc)[:200]}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
