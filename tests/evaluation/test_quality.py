"""Quality: Levenshtein (property-tested), normalised distances, complexity, ruff, score."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from codex_metrics.evaluation.quality import (
    cyclomatic_complexity,
    levenshtein,
    normalise_code,
    normalised_distance,
    python_tokens,
    quality_of_samples,
    quality_score,
    sample_quality,
)


def reference_levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@given(st.text(alphabet="abcd", max_size=80), st.text(alphabet="abcd", max_size=80))
def test_levenshtein_matches_dynamic_programming(a: str, b: str) -> None:
    assert levenshtein(a, b) == reference_levenshtein(a, b)
    assert levenshtein(a, b) == levenshtein(b, a)


def test_levenshtein_golden_and_tokens() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein(["def", "f", "(", ")"], ["def", "g", "(", ")"]) == 1
    assert normalised_distance("abc", "abc") == 0.0
    assert normalised_distance("abc", "xyz") == 1.0
    assert normalised_distance("", "") == 0.0
    assert python_tokens("x = 1  # note\nif x:\n    y = 'a'\n") == [
        "x",
        "=",
        "1",
        "if",
        "x",
        ":",
        "y",
        "=",
        "'a'",
    ]


def test_distance_ignores_docstrings_comments_and_layout() -> None:
    reference = 'def f(x):\n    """Double."""\n    return x * 2\n'
    sample = "def f(x):\n\n    # twice\n    return x*2\n"
    quality = sample_quality(sample, reference)
    assert quality.edit_distance_chars == 0.0 and quality.edit_distance_tokens == 0.0
    assert normalise_code("def f(:") == "def f(:"


def test_complexity_counts_branch_points() -> None:
    assert cyclomatic_complexity("def f(x):\n    return x\n") == 1
    code = "def f(x):\n    if x and x > 1:\n        return [i for i in range(x) if i]\n    for i in x:\n        pass\n"
    assert cyclomatic_complexity(code) == 6  # 1 + if + and + comprehension + its if + for
    assert cyclomatic_complexity("def f(:") is None


def test_ruff_security_findings_and_score() -> None:
    risky = "import subprocess\ndef f(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    clean = "def f(x):\n    return x + 1\n"
    broken = "def f(:\n"
    q_risky, q_clean, q_broken = quality_of_samples([risky, clean, broken], [clean, clean, clean])
    assert q_risky.security_findings is not None and q_risky.security_findings >= 1
    assert q_clean.security_findings == 0 and q_clean.ruff_findings == 0
    assert q_clean.quality_score == 100.0
    assert (
        q_risky.quality_score == 100.0 - 10 * q_risky.security_findings - 3 * q_risky.ruff_findings
    )
    assert (q_broken.compile_ok, q_broken.quality_score) == (False, 0.0)
    assert quality_score(True, 20, 10, 30) == 0.0  # 100 - 40 - 30 - 30
    assert quality_score(True, 1, 0, 12) == 93.0  # 100 - 3 - 2*2
