"""The unbiased pass@k estimator of the Codex paper."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from codex_metrics.errors import ParameterError

__all__ = ["pass_at_k", "pass_at_k_by_task", "pass_at_k_table", "possible_ks"]

DEFAULT_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    r"""Unbiased estimate of pass@k for one task with ``n`` samples of which ``c`` passed.

    .. math::

        \operatorname{pass@k} = 1 - \frac{\binom{n-c}{k}}{\binom{n}{k}}
        = 1 - \prod_{i=n-c+1}^{n} \left(1 - \frac{k}{i}\right)

    The product form is numerically stable for large ``n``; when ``n - c < k`` every
    draw of ``k`` samples contains a pass and the estimate is 1.

    Source: Chen et al., "Evaluating Large Language Models Trained on Code" (arXiv 2107.03374),
    section 2.1 and figure 3; the same computation as ``estimate_pass_at_k`` in
    openai/human-eval ``human_eval/evaluation.py``.

    Raises:
        ParameterError: when ``k`` is not in ``1..n`` or ``c`` not in ``0..n``.
    """
    if not 0 <= c <= n:
        raise ParameterError("c", f"passed count {c} must be between 0 and n={n}")
    if not 1 <= k <= n:
        raise ParameterError("k", f"k={k} needs 1 <= k <= n (n={n} samples)")
    if n - c < k:
        return 1.0
    import numpy as np  # imported here: the CLI starts without numpy

    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_by_task(counts: Mapping[str, tuple[int, int]], k: int) -> dict[str, float]:
    """pass@k of each task from ``{task_id: (n, c)}``."""
    return {task: pass_at_k(n, c, k) for task, (n, c) in counts.items()}


def possible_ks(counts: Mapping[str, tuple[int, int]], ks: Iterable[int] = DEFAULT_KS) -> list[int]:
    """The ks every task has enough samples for (as openai/human-eval reports them)."""
    if not counts:
        return []
    smallest = min(n for n, _ in counts.values())
    return sorted(k for k in set(ks) if 1 <= k <= smallest)


def pass_at_k_table(
    counts: Mapping[str, tuple[int, int]], ks: Sequence[int] = DEFAULT_KS
) -> dict[int, float]:
    """Mean pass@k over tasks, for each k all tasks allow (``{k: value}``, values in 0..1)."""
    import numpy as np

    return {
        k: float(np.mean(list(pass_at_k_by_task(counts, k).values())))
        for k in possible_ks(counts, ks)
    }
