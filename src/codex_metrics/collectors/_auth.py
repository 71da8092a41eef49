"""Where credentials come from: a token, or a GitHub App that mints installation tokens.

A GitHub App proves who it is with a JWT signed by its private key (RS256: RSASSA-PKCS1-v1_5
with SHA-256, RFC 8017 section 8.2), then exchanges it for an installation token. Signing is
one modular exponentiation, so it is done here in plain Python (no crypto dependency), from the
modulus and private exponent of the PEM GitHub hands out (PKCS#1 ``RSA PRIVATE KEY``) or its
PKCS#8 form (``PRIVATE KEY``). Only signing is implemented; nothing here verifies or encrypts.

Credentials live in memory only. They are read from the settings (the environment, or the App's
key file), turned into an ``Authorization`` header by the session for requests to the API host
and nowhere else, and never logged, stored in the lake, the cache or ``source_runs``, or shown
in a message (``repr`` hides them).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codex_metrics.config import CollectSettings, Settings
from codex_metrics.errors import AuthError, ConfigError

if TYPE_CHECKING:
    from codex_metrics.collectors._http import ApiSession

__all__ = [
    "GitHubAppToken",
    "RsaPrivateKey",
    "StaticToken",
    "TokenSource",
    "app_jwt",
    "github_credentials",
]

#: DER prefix of DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
_PEM = re.compile(
    r"-----BEGIN (RSA )?PRIVATE KEY-----(.+?)-----END (RSA )?PRIVATE KEY-----", re.DOTALL
)


def _read(der: bytes, pos: int) -> tuple[int, int, int]:
    """One DER element at ``pos``: (tag, start of content, end of content)."""
    if pos + 2 > len(der):
        raise ValueError("truncated")
    tag, length = der[pos], der[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    if pos + length > len(der):
        raise ValueError("truncated")
    return tag, pos, pos + length


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, s, e = _read(der, pos)
        out.append((tag, s, e))
        pos = e
    return out


@dataclass(frozen=True)
class RsaPrivateKey:
    """The parts of an RSA private key signing needs."""

    modulus: int
    private_exponent: int

    @classmethod
    def from_pem(cls, pem: str, *, where: str = "the GitHub App private key") -> RsaPrivateKey:
        """Read a PKCS#1 or PKCS#8 PEM RSA private key.

        Raises:
            ConfigError: not an RSA private key in PEM form (says where it came from).
        """
        found = _PEM.search(pem)
        if found is None:
            raise ConfigError(
                f"{where} is not a PEM private key (-----BEGIN RSA PRIVATE KEY-----); download "
                "a new key from the App's settings page"
            )
        try:
            der = base64.b64decode("".join(found.group(2).split()), validate=True)
            tag, start, end = _read(der, 0)
            items = _children(der, start, end)
            if found.group(1) is None:  # PKCS#8: version, algorithm, OCTET STRING(PKCS#1)
                _, s, e = items[2]
                der = der[s:e]
                tag, start, end = _read(der, 0)
                items = _children(der, start, end)
            numbers = [int.from_bytes(der[s:e], "big") for t, s, e in items if t == 0x02]
            return cls(modulus=numbers[1], private_exponent=numbers[3])
        except (ValueError, IndexError):
            raise ConfigError(f"{where} is damaged (its DER structure does not parse)") from None

    @property
    def size_bytes(self) -> int:
        """Length of the modulus (and of a signature) in bytes."""
        return (self.modulus.bit_length() + 7) // 8

    def sign_sha256(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 signature of ``message`` with SHA-256."""
        digest_info = _SHA256_PREFIX + hashlib.sha256(message).digest()
        k = self.size_bytes
        if k < len(digest_info) + 11:
            raise ConfigError("the GitHub App private key is too short to sign with")
        encoded = b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info
        signature = pow(int.from_bytes(encoded, "big"), self.private_exponent, self.modulus)
        return signature.to_bytes(k, "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(app_id: str, key: RsaPrivateKey, *, now: datetime) -> str:
    """The JWT a GitHub App sends to ask for an installation token (valid 9 minutes).

    ``iat`` is back-dated 60 s against clock drift, as GitHub's docs advise; ``exp`` stays
    under GitHub's 10-minute maximum.
    """
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iat": int((now - timedelta(seconds=60)).timestamp()),
        "exp": int((now + timedelta(minutes=9)).timestamp()),
        "iss": str(app_id),
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    return f"{signing_input}.{_b64url(key.sign_sha256(signing_input.encode()))}"


#: Mint a new installation token when the current one expires within this.
_REFRESH_MARGIN = timedelta(minutes=5)


class TokenSource:
    """Something that yields the ``Authorization`` header value for the API host."""

    kind = "none"

    def authorization(self, session: ApiSession) -> str | None:  # pragma: no cover - interface
        """The header value (``None``: send none)."""
        raise NotImplementedError


@dataclass(repr=False)
class StaticToken(TokenSource):
    """A personal access token, an OAuth token, or an Actions ``GITHUB_TOKEN``."""

    token: str
    kind = "token"

    def authorization(self, session: ApiSession) -> str | None:
        """``Bearer <token>``."""
        return f"Bearer {self.token}"

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"


@dataclass(repr=False)
class GitHubAppToken(TokenSource):
    """A GitHub App: signs a JWT with its private key and exchanges it for installation tokens.

    Args:
        app_id: the App's id.
        key: its private key.
        installation_id: the installation to act as (``None``: the App's only installation,
            or the one on ``owner``).
        owner: the account whose installation to pick when there are several.
    """

    app_id: str
    key: RsaPrivateKey
    installation_id: int | None = None
    owner: str | None = None
    _token: str | None = field(default=None, init=False)
    _expires: datetime | None = field(default=None, init=False)
    kind = "github-app"

    def __repr__(self) -> str:
        return f"GitHubAppToken(app_id={self.app_id!r}, installation_id={self.installation_id})"

    def authorization(self, session: ApiSession) -> str | None:
        """``Bearer <installation token>``, minted again shortly before it expires."""
        now = session.clock()
        if self._token is None or self._expires is None or self._expires - now < _REFRESH_MARGIN:
            self._mint(session, now)
        return f"Bearer {self._token}"

    def _installation(self, session: ApiSession, jwt: str) -> int:
        if self.installation_id is not None:
            return self.installation_id
        listed = session.get("app/installations", headers={"Authorization": f"Bearer {jwt}"})
        found: list[dict[str, Any]] = [i for i in listed.body or [] if isinstance(i, dict)]
        if self.owner is not None:
            mine = [
                i
                for i in found
                if str((i.get("account") or {}).get("login", "")).lower() == self.owner.lower()
            ]
            found = mine or found
        if len(found) != 1:
            accounts = ", ".join(
                f"{(i.get('account') or {}).get('login')} (id {i.get('id')})" for i in found
            )
            raise ConfigError(
                f"the GitHub App {self.app_id} has {len(found)} matching installations"
                f"{': ' + accounts if accounts else ''}; set [github] app_installation_id or "
                "GITHUB_APP_INSTALLATION_ID to the one to use"
            )
        self.installation_id = int(found[0]["id"])
        return self.installation_id

    def _mint(self, session: ApiSession, now: datetime) -> None:
        jwt = app_jwt(self.app_id, self.key, now=now)
        installation = self._installation(session, jwt)
        answer = session.request(
            "POST",
            f"app/installations/{installation}/access_tokens",
            headers={"Authorization": f"Bearer {jwt}"},
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        if not body.get("token"):
            raise AuthError(
                "GitHub did not return an installation token; check the App's id and key"
            )
        self._token = str(body["token"])
        expires = str(body.get("expires_at") or "")
        try:
            self._expires = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            self._expires = now + timedelta(minutes=55)


def _app_key(collect: CollectSettings) -> RsaPrivateKey | None:
    if collect.github_app_private_key:
        return RsaPrivateKey.from_pem(
            collect.github_app_private_key, where="GITHUB_APP_PRIVATE_KEY"
        )
    path = collect.github_app_private_key_path
    if path is None:
        return None
    try:
        text = Path(path).expanduser().read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the GitHub App private key {path} ({exc.strerror}); fix "
            "[github] app_private_key_path or GITHUB_APP_PRIVATE_KEY_PATH"
        ) from None
    return RsaPrivateKey.from_pem(text, where=str(path))


def github_credentials(settings: Settings, *, owner: str | None = None) -> TokenSource | None:
    """The credentials the settings give for GitHub: a GitHub App wins over ``GITHUB_TOKEN``.

    Raises:
        ConfigError: an App is half configured (an id without a key, or the reverse).
    """
    collect = settings.collect
    key = _app_key(collect)
    if key is not None or collect.github_app_id:
        if key is None or not collect.github_app_id:
            missing = "private key" if key is None else "app id ([github] app_id or GITHUB_APP_ID)"
            raise ConfigError(f"the GitHub App is missing its {missing}")
        return GitHubAppToken(
            collect.github_app_id, key, collect.github_app_installation_id, owner=owner
        )
    if settings.github_token:
        return StaticToken(settings.github_token)
    return None
