"""Options of the root command (``--quiet``, ``--verbose``, ``--config``) for every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATE", "CliState"]


@dataclass
class CliState:
    """What the root command's options asked for; reset at every invocation."""

    quiet: bool = False
    verbose: bool = False
    config: Path | None = None

    def reset(
        self, *, quiet: bool = False, verbose: bool = False, config: Path | None = None
    ) -> None:
        """Set every field (the root command calls this first)."""
        self.quiet, self.verbose, self.config = quiet, verbose, config


STATE = CliState()
