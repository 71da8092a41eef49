"""Multiple-testing corrections: Holm for the confirmatory family, BH for exploratory slices.

* Holm (1979): sort the m p-values, p₍ᵢ₎ ↦ max_{j≤i} min(1, (m − j + 1)·p₍ⱼ₎). Controls the
  family-wise error rate; used over primary and guardrail metrics together.
* Benjamini–Hochberg (1995): p₍ᵢ₎ ↦ min_{j≥i} min(1, m·p₍ⱼ₎/j). Controls the false discovery
  rate; used over slices (language × editor × experience ...), where some false leads are fine.

NaN p-values (a metric that could not be computed) stay NaN and do not count towards m.
Both agree with ``statsmodels.stats.multitest.multipletests`` (``holm``, ``fdr_bh``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["benjamini_hochberg", "holm"]


def _prepare(p_values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    return p, out, valid


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as the input)."""
    p, out, valid = _prepare(p_values)
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg step-up adjusted p-values (same order as the input)."""
    p, out, valid = _prepare(p_values)
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = m * p[order] / np.arange(1, m + 1)
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return out
