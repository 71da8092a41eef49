"""The fixed log-spaced latency grid of ``latency_histograms_daily``, with its error bound.

A latency x (milliseconds) falls in bucket ``i = ceil(log_γ x)``, i.e. (γ^(i−1), γ^i], with
γ = (1 + α)/(1 − α). Every value of bucket i is represented by r_i = 2·γ^i/(γ + 1), so

    |r_i − x| / x ≤ α   for every x in the bucket

(r_i/x lies in [2/(γ + 1), 2γ/(γ + 1)) = [1 − α, 1 + α)). This is the bucket mapping of
DDSketch (Masson, Rim & Lee, *DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees*, VLDB 2019). A quantile read from the counts of a histogram is the
representative of the bucket that holds the exact order statistic, so it is within α of the exact
one; for a type-7 quantile (linear interpolation between two order statistics, which is what
DuckDB ``quantile_cont`` and ``metrics show`` compute), the interpolation of two representatives
is within α of the interpolation of the two exact values as well.

With α = 1% there are about 115 buckets per decade. Values below ``min_ms`` (including 0 and
negative values) count in the bucket of ``min_ms``, values above ``max_ms`` in the bucket of
``max_ms``: the bound holds inside [min_ms, max_ms] (0.01 ms to about 28 hours).

The grid is part of the table's definition (what ``latency_bin`` means), so it lives with the
lake, below the simulator that writes the table and the metrics that read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LATENCY_GRID", "LatencyGrid"]


@dataclass(frozen=True)
class LatencyGrid:
    """A log-spaced grid with relative error ``relative_error`` on [min_ms, max_ms].

    Attributes:
        relative_error: α, the bound on |representative − value| / value.
        min_ms: smallest value resolved (smaller values are clamped to it).
        max_ms: largest value resolved (larger values are clamped to it).
    """

    relative_error: float = 0.01
    min_ms: float = 0.01
    max_ms: float = 1e8

    def __post_init__(self) -> None:
        if not 0 < self.relative_error < 1:
            raise ValueError(f"relative_error must be in (0, 1), got {self.relative_error}")
        if not 0 < self.min_ms < self.max_ms:
            raise ValueError("need 0 < min_ms < max_ms")

    @property
    def gamma(self) -> float:
        """γ = (1 + α)/(1 − α), the ratio of consecutive bucket edges."""
        return (1 + self.relative_error) / (1 - self.relative_error)

    @property
    def log_gamma(self) -> float:
        """The natural log of γ."""
        return math.log(self.gamma)

    @property
    def first_bin(self) -> int:
        """Index of the bucket holding ``min_ms``."""
        return math.ceil(math.log(self.min_ms) / self.log_gamma)

    @property
    def last_bin(self) -> int:
        """Index of the bucket holding ``max_ms``."""
        return math.ceil(math.log(self.max_ms) / self.log_gamma)

    def bins(self, values: Any) -> np.ndarray:
        """Bucket index of every value (numpy; clamped to [min_ms, max_ms])."""
        x = np.clip(np.asarray(values, dtype=float), self.min_ms, self.max_ms)
        return np.ceil(np.log(x) / self.log_gamma).astype(np.int32)

    def representative(self, bins: Any) -> np.ndarray:
        """The value r_i = 2γ^i/(γ + 1) standing for every value of bucket i."""
        i = np.asarray(bins, dtype=float)
        return 2 * np.exp(i * self.log_gamma) / (self.gamma + 1)

    def upper_edge(self, bins: Any) -> np.ndarray:
        """γ^i, the largest value of bucket i."""
        return np.exp(np.asarray(bins, dtype=float) * self.log_gamma)

    def sql_bin(self, column: str) -> str:
        """The same bucket index as SQL (DuckDB and Spark: ``ceil(ln(x) / ln γ)``)."""
        clamped = f"least(greatest({column}, {self.min_ms!r}), {self.max_ms!r})"
        return f"CAST(ceil(ln({clamped}) / {self.log_gamma!r}) AS INTEGER)"


#: The grid of ``latency_histograms_daily.latency_bin``: 1% relative error.
LATENCY_GRID = LatencyGrid()
