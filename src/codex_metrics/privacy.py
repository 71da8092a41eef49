"""Pseudonymisation of people: logins and emails become keyed hashes before they are stored.

The key comes from the config (``[privacy] pseudonym_key`` or ``CODEX_METRICS_PSEUDONYM_KEY``);
the same key gives the same pseudonym, so joins across sources and re-ingestion keep working,
and without the key a pseudonym cannot be tied back to a login by hashing guesses. Users who
need clear identities opt in with ``[privacy] store_identities = true``.

The key shipped in the code is public, so anyone could hash a login with it: data written to a
lake is never pseudonymised with it. When no key is configured, :func:`lake_key` uses the lake's
own key, ``<lake>/.codex-metrics/key`` (32 random bytes, mode 0600), created on first use.
docs/privacy.md explains keys, rotation, forgetting a person and time travel.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codex_metrics.config import DEFAULT_PSEUDONYM_KEY, Settings
from codex_metrics.errors import ConfigError

__all__ = ["KEY_FILE", "KeyChoice", "Pseudonymiser", "lake_key", "pseudonymise"]

#: Name of a lake's own key file in its hidden folder.
KEY_FILE = "key"


def pseudonymise(identity: str, *, key: str) -> str:
    """A stable pseudonym for ``identity`` (case-insensitive, surrounding spaces ignored).

    HMAC-SHA256 keyed with ``key``, shortened to 80 bits: collisions are negligible for any
    realistic number of developers (birthday bound near 10^12).
    """
    digest = hmac.new(key.encode(), identity.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"u-{digest[:20]}"


@dataclass(frozen=True)
class Pseudonymiser:
    """Applies the configured policy: pseudonyms by default, clear identities on opt-in."""

    key: str
    store_identities: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonymiser:
        """The policy of ``settings``."""
        return cls(settings.pseudonym_key, settings.store_identities)

    @classmethod
    def for_lake(
        cls, settings: Settings, hidden_dir: Path, *, save: bool = True
    ) -> tuple[Pseudonymiser, KeyChoice]:
        """The policy of ``settings`` with the key :func:`lake_key` chooses for a lake."""
        choice = lake_key(settings, hidden_dir, save=save)
        return cls(choice.key, settings.store_identities), choice

    def __call__(self, identity: str) -> str:
        """The value to store for ``identity``."""
        return identity.strip() if self.store_identities else pseudonymise(identity, key=self.key)


@dataclass(frozen=True)
class KeyChoice:
    """The key people are pseudonymised with, and where it came from.

    Attributes:
        key: the key.
        origin: ``config`` (``pseudonym_key`` or the environment), ``lake`` (the lake's key
            file) or ``generated`` (the key file was just created).
        path: the key file, for ``lake`` and ``generated``.
    """

    key: str
    origin: Literal["config", "lake", "generated"]
    path: Path | None = None

    def save(self) -> None:
        """Write a generated key to its file (mode 0600); nothing for other origins.

        Raises:
            ConfigError: another process created a different key meanwhile, or the file
                cannot be written.
        """
        if self.origin != "generated" or self.path is None:
            return
        if self.path.is_file() and self.path.read_text().strip() == self.key:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigError(
                f"{self.path}: another process created the lake's pseudonym key meanwhile; "
                "run the command again"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot write the pseudonym key ({exc})") from None
        with os.fdopen(fd, "w") as fh:
            fh.write(self.key + "\n")

    def note(self) -> str | None:
        """What to tell the user (only when a key was generated)."""
        if self.origin != "generated":
            return None
        return (
            f"generated a pseudonym key in {self.path} (32 random bytes, mode 0600): people are "
            "stored as keyed hashes; back the key up with the lake, or set [privacy] "
            "pseudonym_key to share one key across lakes (docs/privacy.md)"
        )


def lake_key(settings: Settings, hidden_dir: Path, *, save: bool = True) -> KeyChoice:
    """The key for writing people into the lake whose hidden folder is ``hidden_dir``.

    A configured key wins; the shipped default never counts as one. Else the lake's key file
    is read, or a key of 32 random bytes is generated for it: written at once (mode 0600), or,
    with ``save=False``, when the caller calls :meth:`KeyChoice.save` (an ingest saves it just
    before its first commit, so a rejected file leaves nothing behind).

    Raises:
        ConfigError: the key file exists but cannot be read, or cannot be created.
    """
    if settings.pseudonym_key and settings.pseudonym_key != DEFAULT_PSEUDONYM_KEY:
        return KeyChoice(settings.pseudonym_key, "config")
    path = hidden_dir / KEY_FILE
    try:
        if path.is_file():
            key = path.read_text().strip()
            if len(key) < 32:
                raise ConfigError(f"{path}: the lake's pseudonym key is too short; restore it")
            return KeyChoice(key, "lake", path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the pseudonym key ({exc})") from None
    choice = KeyChoice(secrets.token_hex(32), "generated", path)
    if save:
        try:
            choice.save()
        except ConfigError:  # another process created it meanwhile: use theirs
            return lake_key(settings, hidden_dir)
    return choice
