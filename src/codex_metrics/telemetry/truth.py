"""Ground truth of a simulated world: ``<lake>/_simulator/truth-<run_id>.json``.

Each partition of a run writes its part (parameters, persona members of its developers, sums
of expected values over the events it generated, and the table versions its commits made); when
every part of the run is there, they are combined into the truth, the world is recorded (the
lake's commit point, with the newest version of every table), and ``truth.json`` gets a copy.
Estimands are computed from the combined sums, so a partitioned run has the same truth as a
single one.

Estimands (each under ``estimands``):

* ``acceptance_rate_expected``: Σ P(accept) over shown suggestions / Σ shown, the pooled rate the
  data's acceptance rate by count estimates.
* ``completion_acceptance_rate_expected``: the same over code completions only (feature
  ``code_completion``), what ``completion_acceptance_rate_by_count`` estimates.
* ``acceptance_rate_by_persona``: the same per persona.
* ``ab_test.pooled_acceptance_difference`` (``_c`` for arm C of ab_three_arms, against A; the
  scenario's estimands are under ``ab_test`` too): over every randomised developer's experiment-period
  suggestions, both potential outcomes with common random numbers:
  Σ E[accepted | B] / Σ shown | B  −  Σ E[accepted | A] / Σ shown | A. This is what a
  ratio-of-sums comparison of the two arms estimates; it differs from the lift parameter because
  developers differ and latency feeds acceptance.
* ``ab_test.completion_latency_p90_ms_a`` (and ``_b``, P50 and P99): the quantile of each arm's
  code-completion latency, the mixture over every randomised developer weighted by their
  expected completion requests in the experiment period (both potential outcomes), what a
  clustered quantile comparison of the arms estimates.
* ``latency_regression``: expected acceptance and mean completion latency before / after.
* ``tasks``: the AI speed-up at each experience level, and the effect on the log duration of a
  coding task at 1, 5 and 15 years (``log_effect_by_experience_years``: log(1 - speed-up));
  ``rollout``: adopters' and non-adopters' mean experience.
* ``task_effect``: from both potential outcomes of every simulated task (its duration with and
  without the assistant, common random numbers): the ATE over all tasks and the ATT over the
  tasks done with AI (``with_ai``), on log duration and in minutes.
* ``adoption_effect`` (scenarios with a rollout): the intention-to-treat effect of adoption on a
  developer-week's mean log task duration, averaged over the developer-weeks of developers who
  adopted after the window's first 7-day week, from their adoption week on (``att_log``) and by
  weeks since adoption (``by_event_week``). Weeks are 7-day blocks from the first day.
* ``latency_slopes``: the simulator's acceptance log-odds and expected satisfaction (1-5) per
  doubling of latency.
* ``acceptance_oracle``: AUC and log loss of the true acceptance probabilities on the simulated
  outcomes of shown suggestions (the AUC from 1,000-bin histograms, so to about 1e-4).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from codex_metrics.errors import DataNotFoundError
from codex_metrics.lake import Lake
from codex_metrics.telemetry._latency_truth import arm_quantile, combine_cdf_sums

__all__ = [
    "TRUTH_FILE",
    "combine_parts",
    "complete_truth",
    "load_truth",
    "truth_path",
    "write_part",
]

TRUTH_FILE = "truth.json"
PARTS_DIR = "parts"
#: How many past worlds keep their truth file (the current one always does).
KEEP_TRUTHS = 5


def truth_path(simulator_dir: Path, run_id: str | None = None) -> Path:
    """Path of the truth of ``run_id`` (default: the convenience copy of the latest)."""
    return simulator_dir / (TRUTH_FILE if run_id is None else f"truth-{run_id}.json")


def _atomic_json(path: Path, doc: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def write_part(
    simulator_dir: Path,
    run_id: str,
    partition: tuple[int, int],
    part: Mapping[str, Any],
    versions: Mapping[str, int],
) -> list[dict[str, Any]] | None:
    """Write one partition's truth part with the table versions its commits made.

    Returns:
        Every part of the run once all of them are there, else ``None``.
    """
    i, n = partition
    folder = simulator_dir / PARTS_DIR / run_id
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_json(folder / f"part-{i}of{n}.json", {**part, "table_versions": dict(versions)})
    paths = [folder / f"part-{k}of{n}.json" for k in range(n)]
    if not all(p.exists() for p in paths):
        return None
    return [json.loads(p.read_text()) for p in paths]


def complete_truth(lake: Lake, parts: list[dict[str, Any]]) -> Path:
    """Combine the parts, store the truth, then record the world (its commit point).

    The truth is written to ``truth-<run_id>.json`` before the world is recorded, and copied
    to ``truth.json`` after, so whatever a crash interrupts, readers find the truth of the
    world they read.
    """
    truth = combine_parts(parts)
    versions: dict[str, int] = {}
    for part in parts:
        for table, version in part.get("table_versions", {}).items():
            versions[table] = max(versions.get(table, -1), int(version))
    truth["table_versions"] = versions
    folder = lake.simulator_dir
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_json(truth_path(folder, truth["run_id"]), truth)
    lake.publish_world(truth["run_id"], versions)
    _atomic_json(truth_path(folder), truth)
    _prune(lake)
    return truth_path(folder)


def _prune(lake: Lake) -> None:
    """Drop truths of worlds no longer kept, and the parts of published worlds."""
    worlds = lake.worlds()
    keep = {w.run_id for w in worlds[-KEEP_TRUTHS:]}
    published = {w.run_id for w in worlds}
    for path in lake.simulator_dir.glob("truth-*.json"):
        if path.stem.removeprefix("truth-") not in keep:
            path.unlink(missing_ok=True)
    parts = lake.simulator_dir / PARTS_DIR
    if parts.is_dir():
        for folder in parts.iterdir():
            if folder.name in published:
                for f in folder.iterdir():
                    f.unlink(missing_ok=True)
                folder.rmdir()


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _auc_from_histograms(accepted: Sequence[float], rejected: Sequence[float]) -> float | None:
    """AUC of scores binned in ascending order (ties within a bin count one half)."""
    pos = [float(x) for x in accepted]
    neg = [float(x) for x in rejected]
    total = sum(pos) * sum(neg)
    if not total:
        return None
    below = 0.0
    wins = 0.0
    for p, n in zip(pos, neg, strict=True):
        wins += p * (below + 0.5 * n)
        below += n
    return wins / total


def _added(parts: Sequence[Mapping[str, Any]], field: str) -> dict[str, Any]:
    """Elementwise sums of a per-part mapping of numbers or lists of numbers."""
    out: dict[str, Any] = {}
    for part in parts:
        for k, v in (part.get(field) or {}).items():
            if isinstance(v, list):
                prev = out.get(k) or [0.0] * len(v)
                out[k] = [a + b for a, b in zip(prev, v, strict=True)]
            else:
                out[k] = out.get(k, 0.0) + v
    return out


def _productivity_estimands(
    parts: Sequence[Mapping[str, Any]], sums: Mapping[str, float]
) -> dict[str, Any]:
    """The estimands of the productivity analysis (see the module docstring)."""
    out: dict[str, Any] = {}
    if sums.get("tasks_n"):
        out["task_effect"] = {
            "ate_log": _ratio(sums["tasks_log_effect_sum"], sums["tasks_n"]),
            "ate_minutes": _ratio(sums["tasks_minutes_effect_sum"], sums["tasks_n"]),
            "att_log": _ratio(sums["tasks_treated_log_effect_sum"], sums["tasks_treated_n"]),
            "att_minutes": _ratio(
                sums["tasks_treated_minutes_effect_sum"], sums["tasks_treated_n"]
            ),
            "tasks": int(sums["tasks_n"]),
            "tasks_with_ai": int(sums["tasks_treated_n"]),
        }
    adoption = _added(parts, "adoption_sums")
    if adoption:
        events = sorted(int(k.removeprefix("n_e")) for k in adoption if k.startswith("n_e"))
        total_n = sum(adoption[f"n_e{e}"] for e in events)
        out["adoption_effect"] = {
            "att_log": _ratio(sum(adoption[f"sum_e{e}"] for e in events), total_n),
            "by_event_week": {
                str(e): _ratio(adoption[f"sum_e{e}"], adoption[f"n_e{e}"]) for e in events
            },
            "developer_weeks_by_event_week": {str(e): int(adoption[f"n_e{e}"]) for e in events},
        }
    if "latency_slopes" in parts[0]:
        out["latency_slopes"] = dict(parts[0]["latency_slopes"])
    arrays = _added(parts, "arrays")
    if "oracle_accepted" in arrays:
        shown = sum(arrays["oracle_accepted"]) + sum(arrays["oracle_rejected"])
        out["acceptance_oracle"] = {
            "auc": _auc_from_histograms(arrays["oracle_accepted"], arrays["oracle_rejected"]),
            "log_loss": _ratio(sums.get("oracle_log_loss_sum", 0.0), shown),
            "shown": int(shown),
        }
    return out


def _regression_change(part: Mapping[str, Any]) -> dict[str, Any]:
    """What the scenario's deploy broke: metric, slice, size and start day (from its parameters)."""
    params = part["parameters"]
    where = str(params.get("regression.slice") or "")
    if not where and params.get("regression.model"):
        where = f"model_version={params['regression.model']}"
    metric = str(params.get("regression.metric") or "latency")
    start = date.fromisoformat(str(part["start"])) + timedelta(days=int(params["regression.day"]))
    return {
        "metric": metric,
        "slice": where,
        "size": (
            -float(params.get("regression.acceptance_drop", 0.0))
            if metric == "acceptance"
            else float(params["regression.factor"])
        ),
        "size_unit": "acceptance probability" if metric == "acceptance" else "latency factor",
        "start_day": start.isoformat(),
    }


def combine_parts(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine partition parts into the truth document, computing the estimands."""
    first = parts[0]
    sums: dict[str, float] = {}
    members: dict[str, list[str]] = {}
    experience: dict[str, float] = {}
    for part in parts:
        for k, v in part["sums"].items():
            sums[k] = sums.get(k, 0.0) + v
        for persona, ids in part["persona_members"].items():
            members.setdefault(persona, []).extend(ids)
        for k, v in part.get("experience_sums", {}).items():
            experience[k] = experience.get(k, 0.0) + v
    for ids in members.values():
        ids.sort()
    personas = first["personas"]
    estimands: dict[str, Any] = {
        "acceptance_rate_expected": _ratio(sums.get("expected_accepted", 0), sums.get("shown", 0)),
        "completion_acceptance_rate_expected": _ratio(
            sums.get("completion_expected_accepted", 0), sums.get("completion_shown", 0)
        ),
        "acceptance_rate_by_persona": {
            name: _ratio(
                sums.get(f"persona_expected_accepted_{k}", 0), sums.get(f"persona_shown_{k}", 0)
            )
            for k, name in enumerate(personas)
        },
        "tasks": first["tasks"],
        **_productivity_estimands(parts, sums),
    }
    if "ab_shown_a" in sums:
        rate_a = _ratio(sums["ab_expected_accepted_a"], sums["ab_shown_a"])
        ab: dict[str, Any] = {}
        for arm in "abc":
            if f"ab_shown_{arm}" not in sums:
                continue
            rate = _ratio(sums[f"ab_expected_accepted_{arm}"], sums[f"ab_shown_{arm}"])
            ab[f"acceptance_rate_{arm}"] = rate
            ab[f"latency_mean_ms_{arm}"] = _ratio(
                sums[f"ab_latency_sum_{arm}"], sums[f"ab_requests_{arm}"]
            )
            if arm != "a":
                suffix = "" if arm == "b" else f"_{arm}"
                ab[f"pooled_acceptance_difference{suffix}"] = (
                    None if rate_a is None or rate is None else rate - rate_a
                )
        estimands["ab_test"] = ab
        latency = combine_cdf_sums([p.get("completion_latency") or {} for p in parts])
        if latency is not None:
            for arm, cdf in latency["cdf"].items():
                for q in (0.5, 0.9, 0.99):
                    key = f"completion_latency_p{round(q * 100)}_ms_{arm}"
                    estimands["ab_test"][key] = arm_quantile(cdf, latency["weight"], q)
    if "regression_shown_after" in sums:
        estimands["latency_regression"] = {
            period: {
                "acceptance_rate": _ratio(
                    sums.get(f"regression_expected_accepted_{period}", 0),
                    sums.get(f"regression_shown_{period}", 0),
                ),
                "completion_latency_mean_ms": _ratio(
                    sums.get(f"regression_latency_sum_{period}", 0),
                    sums.get(f"regression_completions_{period}", 0),
                ),
            }
            for period in ("before", "after")
        }
        estimands["latency_regression"]["change"] = _regression_change(first)
    if experience:
        estimands["rollout"] = {
            "adopters_mean_experience_years": _ratio(
                experience["adopters_sum"], experience["adopters_n"]
            ),
            "non_adopters_mean_experience_years": _ratio(
                experience["non_adopters_sum"], experience["non_adopters_n"]
            ),
            "adopters": int(experience["adopters_n"]),
            "non_adopters": int(experience["non_adopters_n"]),
        }
    return {
        "run_id": first["run_id"],
        "scenario": first["scenario"],
        "developers": first["developers"],
        "days": first["days"],
        "seed": first["seed"],
        "start": first["start"],
        "partitions": len(parts),
        "parameters": first["parameters"],
        "personas": {
            p: {"members": members.get(p, [])} | first["persona_definitions"][p] for p in personas
        },
        "estimands": estimands,
        "sums": sums,
    }


def load_truth(where: Lake | Path) -> dict[str, Any]:
    """Read the truth of the simulated world the lake's readers see.

    Args:
        where: a :class:`~codex_metrics.lake.Lake` (the truth of its current world) or a
            ``_simulator`` directory (its ``truth.json``).

    Raises:
        DataNotFoundError: no complete simulated run in this lake.
    """
    if isinstance(where, Lake):
        world = where.world()
        path = truth_path(where.simulator_dir, world.run_id if world else None)
    else:
        path = truth_path(Path(where))
    if not path.exists():
        raise DataNotFoundError(
            f"{path}: no simulator truth here; run `codex-metrics simulate` (all partitions) first"
        )
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc
