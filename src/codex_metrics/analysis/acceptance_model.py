"""What makes a shown suggestion accepted: explanatory and predictive models.

Features: log2 latency, language, editor, model version, feature, log suggestion length,
developer experience, and recent history (the developer's acceptance rate over their earlier
suggestions in the sample, shrunk towards the overall rate with 20 pseudo-suggestions, so it
is known at prediction time).

* Explanation: an unpenalised logistic regression (statsmodels) with developer-clustered
  standard errors; odds ratios with 95% intervals.
* Prediction: a penalised logistic regression (L2, standardised features) and gradient-boosted
  trees (XGBoost, ``hist``), compared by cross-validation grouped by developer (no developer
  in both the training and the test fold) on AUC, log loss and calibration (expected
  calibration error over 10 probability bins, and the calibration slope).
* XGBoost's own feature contributions (``pred_contribs``, mean |SHAP| per feature group) and
  the partial dependence of acceptance on latency, each on at most 20,000 rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from codex_metrics.analysis.estimates import Estimate, normal_interval
from codex_metrics.analysis.status import AnalysisStatus

__all__ = ["AcceptanceModels", "acceptance_features", "fit_acceptance_models"]

HISTORY_PSEUDO = 20.0
EXPLAIN_ROWS = 20_000
CV_FOLDS = 5
MIN_DEVELOPERS = 10
CATEGORICAL = ("feature", "language", "editor", "model_version")


@dataclass(frozen=True)
class AcceptanceModels:
    """Estimates (odds ratios, CV scores) and chart data of the acceptance models."""

    estimates: list[Estimate]
    calibration: dict[str, list[dict[str, float]]]
    contributions: dict[str, float]
    partial_dependence: list[dict[str, float]]
    rows: int
    developers: int


def acceptance_features(sample: pd.DataFrame, experience: pd.Series) -> pd.DataFrame:
    """The model's features per shown suggestion (rows in developer, time order)."""
    y = sample["accepted"].to_numpy(float)
    prior = y.mean() if y.size else 0.0
    grouped = sample.groupby("developer_id", sort=False)["accepted"]
    before_acc = grouped.cumsum().to_numpy(float) - y
    before_n = grouped.cumcount().to_numpy(float)
    features = pd.DataFrame(
        {
            "log2_latency": np.log2(sample["latency_ms"].to_numpy(float)),
            "log_chars": np.log1p(sample["chars_suggested"].to_numpy(float)),
            "experience_years": sample["developer_id"]
            .map(experience)
            .fillna(experience.median())
            .to_numpy(float),
            "history_rate": (before_acc + HISTORY_PSEUDO * prior) / (before_n + HISTORY_PSEUDO),
            "history_log_n": np.log1p(before_n),
        }
    )
    rate = features["history_rate"].clip(1e-3, 1 - 1e-3)
    features["history_logit"] = np.log(rate / (1 - rate))
    cats = pd.get_dummies(sample[list(CATEGORICAL)].astype(str), drop_first=True, dtype=float)
    return pd.concat([features, cats.set_index(features.index)], axis=1)


def _calibration(y: np.ndarray, p: np.ndarray) -> tuple[float, list[dict[str, float]]]:
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, 9)
    rows, ece = [], 0.0
    for k in range(10):
        m = idx == k
        if not m.any():
            continue
        rows.append(
            {"predicted": float(p[m].mean()), "observed": float(y[m].mean()), "n": int(m.sum())}
        )
        ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(ece), rows


def _xgb(seed: int = 0) -> Any:
    import xgboost as xgb

    return xgb.XGBClassifier(
        n_estimators=60,
        max_depth=4,
        learning_rate=0.25,
        subsample=0.8,
        max_bin=64,
        tree_method="hist",
        n_jobs=2,
        random_state=seed,
        eval_metric="logloss",
    )


def _penalised() -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))


def fit_acceptance_models(
    sample: pd.DataFrame,
    experience: pd.Series,
    *,
    folds: int = CV_FOLDS,
    oracle: dict[str, float] | None = None,
) -> AcceptanceModels:
    """Fit and compare the acceptance models (see the module docstring)."""
    base: dict[str, Any] = {"analysis": "acceptance_model", "unit": ""}
    devs = sample["developer_id"].nunique() if not sample.empty else 0
    if devs < max(MIN_DEVELOPERS, folds):
        status = AnalysisStatus.NO_DATA if sample.empty else AnalysisStatus.TOO_FEW_DEVELOPERS
        failed = [
            Estimate.failed(**base, estimand=e, method=m, status=status)
            for e in ("cv_auc", "cv_log_loss")
            for m in ("logistic_penalised", "xgboost")
        ]
        return AcceptanceModels(failed, {}, {}, [], len(sample), devs)
    x = acceptance_features(sample, experience)
    y = sample["accepted"].to_numpy(int)
    groups = sample["developer_id"].to_numpy()
    estimates = _odds_ratios(x, y, groups, base)
    scores: dict[str, dict[str, list[float]]] = {}
    predictions: dict[str, np.ndarray] = {}
    overlap = 0
    last_model: Any = None
    for name, make in (("logistic_penalised", _penalised), ("xgboost", _xgb)):
        pred = np.empty(len(y))
        aucs, losses = [], []
        for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
            overlap += len(set(groups[train]) & set(groups[test]))
            model = make().fit(x.iloc[train].to_numpy(), y[train])
            last_model = model
            pred[test] = model.predict_proba(x.iloc[test].to_numpy())[:, 1]
            aucs.append(roc_auc_score(y[test], pred[test]))
            losses.append(log_loss(y[test], np.clip(pred[test], 1e-9, 1 - 1e-9)))
        scores[name] = {"auc": aucs, "log_loss": losses}
        predictions[name] = pred
    calibration: dict[str, list[dict[str, float]]] = {}
    for name, s in scores.items():
        for metric, values in s.items():
            mean = float(np.mean(values))
            se = float(np.std(values, ddof=1) / math.sqrt(len(values)))
            truth = (oracle or {}).get(metric)
            estimates.append(
                Estimate(
                    **base,
                    estimand=f"cv_{metric}",
                    method=name,
                    estimate=mean,
                    n_units=devs,
                    truth=truth,
                    details={
                        "folds": values,
                        "grouped_by": "developer",
                        "developers_in_both_folds": overlap,
                    },
                    **(normal_interval(mean, se) | {"p_value": None}),
                )
            )
        ece, rows = _calibration(y.astype(float), predictions[name])
        calibration[name] = rows
        estimates.append(
            Estimate(
                **base,
                estimand="cv_expected_calibration_error",
                method=name,
                estimate=ece,
                n_units=devs,
            )
        )
    # The last fold's XGBoost model explains (trained on (k-1)/k of the developers).
    contributions, pdp = _explain(last_model, x, y)
    return AcceptanceModels(estimates, calibration, contributions, pdp, len(y), devs)


def _odds_ratios(
    x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, base: dict[str, Any]
) -> list[Estimate]:
    try:
        res = sm.Logit(y, sm.add_constant(x.to_numpy(), has_constant="add")).fit(
            disp=0, maxiter=100, cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]}
        )
    except (np.linalg.LinAlgError, ValueError) as exc:
        return [
            Estimate.failed(
                **base,
                estimand="odds_ratio",
                method="logit_clustered",
                status=AnalysisStatus.FIT_FAILED,
                reason=str(exc),
            )
        ]
    out = []
    for k, name in enumerate(x.columns, start=1):
        coef, se = float(res.params[k]), float(res.bse[k])
        interval = normal_interval(coef, se)
        out.append(
            Estimate(
                **base | {"unit": "odds ratio"},
                estimand="odds_ratio",
                method="logit_clustered",
                subgroup=f"term={name}",
                estimate=math.exp(coef),
                std_error=se,
                ci_low=math.exp(interval["ci_low"]) if interval["ci_low"] is not None else None,
                ci_high=math.exp(interval["ci_high"]) if interval["ci_high"] is not None else None,
                p_value=interval["p_value"],
                n_units=int(pd.unique(groups).shape[0]),
                details={
                    "log_odds": coef,
                    "scale": "per unit of the feature (log2 latency: per doubling)",
                },
            )
        )
    return out


def _explain(
    model: Any, x: pd.DataFrame, y: np.ndarray
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """XGBoost contributions (mean |SHAP| per feature group) and latency partial dependence."""
    import xgboost as xgb

    rng = np.random.default_rng(0)
    take = rng.choice(len(y), size=min(EXPLAIN_ROWS, len(y)), replace=False)
    booster = model.get_booster()
    sub = x.iloc[take]
    contribs = booster.predict(xgb.DMatrix(sub.to_numpy()), pred_contribs=True)[:, :-1]
    per: dict[str, float] = {}
    for k, name in enumerate(x.columns):
        group = name.split("_")[0] if name.startswith(CATEGORICAL) else name
        for cat in CATEGORICAL:
            if name.startswith(cat + "_"):
                group = cat
        per[group] = per.get(group, 0.0) + float(np.abs(contribs[:, k]).mean())
    grid = np.quantile(sub["log2_latency"], np.linspace(0.02, 0.98, 15))
    pdp = []
    values = sub.to_numpy().copy()
    col = list(x.columns).index("log2_latency")
    for g in grid:
        values[:, col] = g
        pdp.append(
            {
                "latency_ms": float(2**g),
                "acceptance": float(model.predict_proba(values)[:, 1].mean()),
            }
        )
    return dict(sorted(per.items(), key=lambda kv: -kv[1])), pdp
