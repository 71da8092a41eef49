"""The package's public surface is small, sorted and honest."""

from __future__ import annotations

import codex_metrics.evaluation as evaluation


def test_all_is_sorted_and_every_name_exists() -> None:
    assert evaluation.__all__ == sorted(evaluation.__all__)
    missing = [name for name in evaluation.__all__ if not hasattr(evaluation, name)]
    assert missing == []


def test_public_names_are_documented() -> None:
    undocumented = [
        n for n in evaluation.__all__ if not (getattr(evaluation, n).__doc__ or "").strip()
    ]
    assert undocumented == []
