"""Developer segments: k-means on per-developer behaviour, k chosen by the silhouette.

Features per developer (adopters with at least 50 suggestions): log suggestions per active
day, acceptance rate of shown suggestions, share of chat/agent/CLI requests, share of agent
edits, weekday active days, log2 completion-latency P50 and the number of languages used;
standardised. The number of clusters is the k in 2..8 with the highest mean silhouette
(computed on at most 5,000 developers); k-means runs with 10 initialisations. Each segment is
described by its size and the features that set it apart (z-score of its mean).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from codex_metrics.analysis.estimates import Estimate
from codex_metrics.analysis.frames import Frames
from codex_metrics.analysis.status import AnalysisStatus

__all__ = ["FEATURES", "Segments", "developer_behaviour", "segment_developers"]

FEATURES = (
    "log_events_per_active_day",
    "acceptance",
    "chat_share",
    "agent_share",
    "active_weekdays",
    "languages",
)
LABELS = {
    "log_events_per_active_day": "activity",
    "acceptance": "acceptance",
    "chat_share": "chat share",
    "agent_share": "agent share",
    "active_weekdays": "active weekdays",
    "languages": "languages used",
}
MIN_DEVELOPERS = 20
SILHOUETTE_ROWS = 5000

_SQL = """
SELECT developer_id::VARCHAR AS developer_id,
       ln(count(*) / count(DISTINCT CAST(timestamp AS DATE))) AS log_events_per_active_day,
       avg(accepted::INT) FILTER (WHERE status = 'ok') AS acceptance,
       avg((feature <> 'code_completion')::INT) AS chat_share,
       avg((feature = 'agent_edit')::INT) AS agent_share,
       count(DISTINCT CAST(timestamp AS DATE)) FILTER (WHERE isodow(timestamp) <= 5)
           AS active_weekdays,
       count(DISTINCT language) AS languages
FROM suggestions GROUP BY 1 HAVING count(*) >= 50
"""


@dataclass(frozen=True)
class Segments:
    """Cluster labels per developer and the segment descriptions."""

    labels: pd.Series
    k: int
    silhouette_by_k: dict[int, float]
    descriptions: list[dict[str, Any]] = field(default_factory=list)
    estimates: list[Estimate] = field(default_factory=list)


def developer_behaviour(frames: Frames) -> pd.DataFrame:
    """Per-developer behaviour features (one row per developer with >= 50 suggestions)."""
    return frames.query("behaviour", _SQL).dropna().set_index("developer_id").sort_index()


def segment_developers(behaviour: pd.DataFrame, *, k: int | None = None, seed: int = 0) -> Segments:
    """Cluster developers (k by silhouette unless given) and describe each segment."""
    base: dict[str, Any] = {"analysis": "segments", "method": "kmeans_silhouette", "unit": "share"}
    if len(behaviour) < MIN_DEVELOPERS:
        fail = Estimate.failed(
            **base,
            estimand="segment_share",
            status=AnalysisStatus.TOO_FEW_DEVELOPERS,
            reason=f"{len(behaviour)} developers with 50+ suggestions; at least {MIN_DEVELOPERS}",
        )
        return Segments(pd.Series(dtype=int), 0, {}, [], [fail])
    x = StandardScaler().fit_transform(behaviour[list(FEATURES)].to_numpy(float))
    rng = np.random.default_rng(seed)
    sub = rng.choice(len(x), size=min(SILHOUETTE_ROWS, len(x)), replace=False)
    scores: dict[int, float] = {}
    fits: dict[int, np.ndarray] = {}
    for kk in [k] if k else range(2, 9):
        labels = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(x)
        fits[kk] = labels
        scores[kk] = float(silhouette_score(x[sub], labels[sub]))
    best = k or max(scores, key=lambda kk: scores[kk])
    labels = fits[best]
    # Stable names: segments ordered by size, largest first.
    order = np.argsort(-np.bincount(labels, minlength=best), kind="stable")
    rename = {int(old): new for new, old in enumerate(order)}
    labels = np.array([rename[int(v)] for v in labels])
    descriptions, estimates = [], []
    means = behaviour[list(FEATURES)].mean()
    sds = behaviour[list(FEATURES)].std(ddof=0).replace(0, 1)
    for seg in range(best):
        members = behaviour[labels == seg]
        z = (members[list(FEATURES)].mean() - means) / sds
        top = z.abs().sort_values(ascending=False).index[:2]
        words = ", ".join(f"{'high' if z[f] > 0 else 'low'} {LABELS[f]}" for f in top)
        share = len(members) / len(behaviour)
        descriptions.append(
            {
                "segment": seg,
                "developers": len(members),
                "share": share,
                "description": f"segment {seg}: {words}",
                "means": {f: float(members[f].mean()) for f in FEATURES},
            }
        )
        estimates.append(
            Estimate(
                **base,
                estimand="segment_share",
                subgroup=f"segment={seg}",
                estimate=share,
                n_units=len(members),
                details=descriptions[-1] | {"silhouette": scores[best]},
            )
        )
    return Segments(
        pd.Series(labels, index=behaviour.index, name="segment"),
        best,
        scores,
        descriptions,
        estimates,
    )
