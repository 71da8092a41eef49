"""Ground truth of a simulated world: ``<lake>/_simulator/truth.json``.

Each partition of a run writes its part (parameters, persona members of its developers, and sums
of expected values over the events it generated); when every part of the run is there, they are
combined into ``truth.json``. Estimands are computed from the combined sums, so a partitioned run
has the same truth as a single one.

Estimands (each under ``estimands``):

* ``acceptance_rate_expected``: Σ P(accept) over shown suggestions / Σ shown, the pooled rate the
  data's acceptance rate by count estimates.
* ``acceptance_rate_by_persona``: the same per persona.
* ``ab_test.pooled_acceptance_difference``: over every randomised developer's experiment-period
  suggestions, both potential outcomes with common random numbers:
  Σ E[accepted | B] / Σ shown | B  −  Σ E[accepted | A] / Σ shown | A. This is what a
  ratio-of-sums comparison of the two arms estimates; it differs from the lift parameter because
  developers differ and latency feeds acceptance.
* ``latency_regression``: expected acceptance and mean completion latency before / after.
* ``tasks``: the AI speed-up at each experience level; ``rollout``: adopters' and non-adopters'
  mean experience.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codex_metrics.errors import DataNotFoundError

__all__ = ["combine_parts", "load_truth", "truth_path", "write_part"]

TRUTH_FILE = "truth.json"


def truth_path(simulator_dir: Path) -> Path:
    """Path of the combined truth file."""
    return simulator_dir / TRUTH_FILE


def _atomic_json(path: Path, doc: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def write_part(
    simulator_dir: Path, run_id: str, partition: tuple[int, int], part: Mapping[str, Any]
) -> Path | None:
    """Write one partition's truth part; combine when all parts are present.

    Parts of other runs are removed (a lake holds one simulated world).

    Returns:
        The combined truth path once complete, else ``None``.
    """
    simulator_dir.mkdir(parents=True, exist_ok=True)
    i, n = partition
    for old in simulator_dir.glob("truth.part-*.json"):
        if not old.name.startswith(f"truth.part-{run_id}-") or not old.name.endswith(f"of{n}.json"):
            old.unlink(missing_ok=True)
    _atomic_json(simulator_dir / f"truth.part-{run_id}-{i}of{n}.json", part)
    parts = [simulator_dir / f"truth.part-{run_id}-{k}of{n}.json" for k in range(n)]
    if not all(p.exists() for p in parts):
        truth_path(simulator_dir).unlink(missing_ok=True)
        return None
    combined = combine_parts([json.loads(p.read_text()) for p in parts])
    _atomic_json(truth_path(simulator_dir), combined)
    return truth_path(simulator_dir)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def combine_parts(parts: list[Mapping[str, Any]]) -> dict[str, Any]:
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
        "acceptance_rate_by_persona": {
            name: _ratio(
                sums.get(f"persona_expected_accepted_{k}", 0), sums.get(f"persona_shown_{k}", 0)
            )
            for k, name in enumerate(personas)
        },
        "tasks": first["tasks"],
    }
    if "ab_shown_a" in sums:
        rate_a = _ratio(sums["ab_expected_accepted_a"], sums["ab_shown_a"])
        rate_b = _ratio(sums["ab_expected_accepted_b"], sums["ab_shown_b"])
        estimands["ab_test"] = {
            "acceptance_rate_a": rate_a,
            "acceptance_rate_b": rate_b,
            "pooled_acceptance_difference": None
            if rate_a is None or rate_b is None
            else rate_b - rate_a,
            "latency_mean_ms_a": _ratio(sums["ab_latency_sum_a"], sums["ab_requests_a"]),
            "latency_mean_ms_b": _ratio(sums["ab_latency_sum_b"], sums["ab_requests_b"]),
        }
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


def load_truth(where: Any) -> dict[str, Any]:
    """Read the combined truth of the lake's simulated world.

    Args:
        where: a :class:`~codex_metrics.lake.Lake` or its ``_simulator`` directory.

    Raises:
        DataNotFoundError: no complete simulated run in this lake.
    """
    path = truth_path(Path(getattr(where, "simulator_dir", where)))
    if not path.exists():
        raise DataNotFoundError(
            f"{path}: no simulator truth here; run `codex-metrics simulate` (all partitions) first"
        )
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc
