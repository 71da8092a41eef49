"""Roll one block-day of requests up into ``latency_histograms_daily`` (vectorised).

Counts per (developer, feature, model version, latency bucket) on the lake's fixed grid
(:data:`codex_metrics.lake.latency_grid.LATENCY_GRID`), over every request with a latency,
whatever its status: the same rows the catalogue's latency percentiles read from
``suggestions``, so a percentile of the counts is within the grid's 1% of the exact one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from codex_metrics.lake.latency_grid import LATENCY_GRID
from codex_metrics.lake.schema import FEATURES

__all__ = ["latency_histogram_rows"]


def _dictionary(codes: np.ndarray, values: pa.Array | list[str] | tuple[str, ...]) -> pa.Array:
    dictionary = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)


def latency_histogram_rows(
    *,
    developer: np.ndarray,
    developer_ids: pa.Array,
    developer_org: np.ndarray,
    orgs: list[str],
    feature: np.ndarray,
    model: np.ndarray,
    models: tuple[str, ...],
    latency_ms: np.ndarray,
) -> pa.Table:
    """Rows of ``latency_histograms_daily`` for one block of developers on one day.

    Args:
        developer: local developer index (into ``developer_ids``) of every request.
        developer_ids: the block's developer ids.
        developer_org: organisation code per local developer.
        orgs: organisation names by code.
        feature: feature code (index into ``FEATURES``) of every request.
        model: model code (index into ``models``) of every request.
        models: model version names by code.
        latency_ms: latency of every request, as stored in ``suggestions``.
    """
    bins = LATENCY_GRID.bins(latency_ms).astype(np.int64)
    offset = LATENCY_GRID.first_bin
    width = LATENCY_GRID.last_bin - offset + 1
    n_feat, n_models = len(FEATURES), max(len(models), 1)
    key = ((developer.astype(np.int64) * n_feat + feature) * n_models + model) * width + (
        bins - offset
    )
    unique, counts = np.unique(key, return_counts=True)
    rest, b = np.divmod(unique, width)
    rest, m = np.divmod(rest, n_models)
    dev, f = np.divmod(rest, n_feat)
    return pa.table(
        {
            "developer_id": _dictionary(dev, developer_ids),
            "org": _dictionary(developer_org[dev], orgs),
            "feature": _dictionary(f, FEATURES),
            "model_version": _dictionary(m, models),
            "latency_bin": pa.array((b + offset).astype(np.int32)),
            "requests": pa.array(counts.astype(np.int64)),
        }
    )
