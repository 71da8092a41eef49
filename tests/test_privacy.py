from __future__ import annotations

from codex_metrics.config import Settings
from codex_metrics.privacy import Pseudonymiser, pseudonymise


def test_pseudonyms_are_stable_keyed_and_hide_the_login() -> None:
    a = pseudonymise("Octocat", key="k1")
    assert a == pseudonymise(" octocat ", key="k1")
    assert a != pseudonymise("octocat", key="k2")
    assert a != pseudonymise("octocat2", key="k1")
    assert "octocat" not in a and a.startswith("u-") and len(a) == 22


def test_policy_follows_settings() -> None:
    assert Pseudonymiser.from_settings(Settings(pseudonym_key="k"))("mona") == pseudonymise(
        "mona", key="k"
    )
    assert Pseudonymiser.from_settings(Settings(store_identities=True))(" mona ") == "mona"
