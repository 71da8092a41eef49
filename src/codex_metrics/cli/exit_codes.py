"""The exit codes every command uses (docs/cli.md prints this table).

| code | meaning |
| --- | --- |
| 0 | ok |
| 1 | a check found something (an alert fired, an eval regression gate failed) |
| 2 | usage or input error (bad option, bad file, unusable lake); one line on stderr |
| 3 | finished, but some results are missing (e.g. verdicts a harness could not produce) |
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """Process exit codes of ``codex-metrics``."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INCOMPLETE = 3
