"""Code extraction from chat-style answers."""

from __future__ import annotations

import json

from codex_metrics.evaluation.extraction import extract_code, strip_main_block
from codex_metrics.evaluation.tasks import TaskSet
from tests.evaluation.conftest import WIZARD_RESULTS, requires_shared


def test_fenced_block_with_explanation_around() -> None:
    answer = "Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nIt adds."
    assert extract_code(answer, entry_point="add") == "def add(a, b):\n    return a + b\n"


def test_prefers_the_block_defining_the_entry_point() -> None:
    answer = (
        "```python\nimport math\n```\nThen:\n```py\ndef area(r):\n    return math.pi * r * r\n```\n"
        "Usage:\n```python\nprint(area(2))\n```"
    )
    assert extract_code(answer, entry_point="area") == "def area(r):\n    return math.pi * r * r\n"


def test_main_block_and_example_usage_are_cut() -> None:
    code = "def f():\n    return 1\n\nif __name__ == '__main__':\n    print(f())\n"
    assert strip_main_block(code) == "def f():\n    return 1\n"
    code = "def f():\n    return 1\n\n# Example usage\nprint(f())\n"
    assert strip_main_block(code) == "def f():\n    return 1\n"


def test_unfenced_code_bodies_unclosed_fences_and_prose() -> None:
    assert extract_code("def f(x):\n    return x\n") == "def f(x):\n    return x\n"
    assert extract_code("    return x + 1\n") == "    return x + 1\n"
    assert extract_code("```python\ndef f():\n    return 2\n") == "def f():\n    return 2\n"
    assert extract_code("I am sorry, I cannot help with that.") is None
    assert extract_code("") is None
    assert extract_code("```bash\nls -la\n```") is None
    prose = "Sure. def g(x): is what you want.\ndef g(x):\n    return x * 2\nThat doubles x."
    assert extract_code(prose, entry_point="g") == "def g(x):\n    return x * 2\n"


@requires_shared
def test_recovers_wizardcoder_completions_from_raw_answers(humaneval: TaskSet) -> None:
    same = 0
    for line in WIZARD_RESULTS.read_text().splitlines():
        record = json.loads(line)
        answer = record["all_code"].split("### Response:", 1)[1]
        code = extract_code(answer, entry_point=humaneval[record["task_id"]].entry_point)
        same += (code or "").strip() == record["completion"].strip()
    # WizardCoder's own process_humaneval.py produced "completion" from the same answers.
    assert same >= 160
