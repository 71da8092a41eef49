"""Pseudonymisation of people: logins and emails become keyed hashes before they are stored.

The key comes from the config (``[privacy] pseudonym_key`` or ``CODEX_METRICS_PSEUDONYM_KEY``);
the same key gives the same pseudonym, so joins across sources and re-ingestion keep working,
and without the key a pseudonym cannot be tied back to a login by hashing guesses. Users who
need clear identities opt in with ``[privacy] store_identities = true``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from codex_metrics.config import Settings

__all__ = ["Pseudonymiser", "pseudonymise"]


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

    def __call__(self, identity: str) -> str:
        """The value to store for ``identity``."""
        return identity.strip() if self.store_identities else pseudonymise(identity, key=self.key)
