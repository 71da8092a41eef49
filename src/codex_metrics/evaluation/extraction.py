"""Pulling code out of chat-style model answers.

Chat models wrap code in Markdown fences and explain around it. :func:`extract_code` returns the
code to test, or ``None`` when the answer holds none:

1. fenced blocks (```` ```python ````, ```` ```py ````, bare ```` ``` ````, ``~~~``): the first
   block that defines the entry point, else the longest block that parses as Python, else the
   first block;
2. no fence: if the whole answer parses as Python, or as a function body, it is code (a plain
   completion);
3. otherwise the longest run of lines that parses and defines a function or returns.

``if __name__ == "__main__":`` tails and example-usage sections are cut, as
WizardCoder's ``process_humaneval.py`` does, so printing examples cannot fail a sample.
"""

from __future__ import annotations

import ast
import re

__all__ = ["extract_code", "strip_main_block"]

_FENCE = re.compile(
    r"^[ \t]*(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE
)
_OPEN_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*)\Z", re.DOTALL | re.MULTILINE)
_PYTHON_TAGS = {"", "python", "python3", "py", "py3"}
_MAIN = re.compile(r"^if\s+__name__\s*==\s*['\"]__main__['\"]\s*:.*", re.DOTALL | re.MULTILINE)
_EXAMPLE = re.compile(
    r"^#\s*(example|test|usage|sample)[^\n]*\n(?:(?![ \t]).*\n?)*\Z", re.IGNORECASE | re.MULTILINE
)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _defines(code: str, name: str) -> bool:
    return (
        re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None
    )


def strip_main_block(code: str) -> str:
    """Cut an ``if __name__ == "__main__":`` tail and a trailing example-usage section."""
    code = _MAIN.sub("", code)
    code = _EXAMPLE.sub("", code)
    return code.rstrip() + "\n"


def _fenced_blocks(answer: str) -> list[str]:
    blocks = [m.group(3) for m in _FENCE.finditer(answer) if m.group(2).lower() in _PYTHON_TAGS]
    if not blocks:
        unclosed = _OPEN_FENCE.search(answer)  # answers cut off by max_tokens
        if unclosed and unclosed.group(2).lower() in _PYTHON_TAGS:
            blocks = [unclosed.group(3)]
    return blocks


def _longest_code_run(answer: str) -> str | None:
    lines = answer.splitlines()
    best: str | None = None
    for start, line in enumerate(lines):
        if not re.match(r"(?:from\s+\w|import\s+\w|def\s+\w|class\s+\w|@)", line):
            continue
        for end in range(len(lines), start, -1):
            chunk = "\n".join(lines[start:end])
            if _parses(chunk) and ("def " in chunk or "return" in chunk):
                if best is None or len(chunk) > len(best):
                    best = chunk
                break
    return best


def extract_code(answer: str, *, entry_point: str | None = None) -> str | None:
    r"""The code in a model answer, or ``None`` when there is none.

    Args:
        answer: the model's raw text.
        entry_point: the function the tests call; a block defining it is preferred.

    Example:
        >>> extract_code("Sure!\n```python\ndef f():\n    return 1\n```\nDone.")
        'def f():\n    return 1\n'
    """
    if not answer or not answer.strip():
        return None
    answer = answer.replace("\r\n", "\n")
    blocks = _fenced_blocks(answer)
    if blocks:
        chosen = None
        if entry_point is not None:
            chosen = next((b for b in blocks if _defines(b, entry_point)), None)
        if chosen is None:
            parsing = [b for b in blocks if _parses(b)]
            chosen = max(parsing, key=len) if parsing else blocks[0]
        code = strip_main_block(chosen)
        return code if code.strip() else None
    if _parses(answer):
        return answer
    if answer[:1] in " \t" and _parses("def _body():\n" + answer):
        return answer  # a function body, as completion models return
    run = _longest_code_run(answer)
    return strip_main_block(run) if run else None
