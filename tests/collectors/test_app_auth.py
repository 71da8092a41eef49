"""GitHub App credentials: RS256 JWTs in plain Python, installation tokens, nothing leaked."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from codex_metrics.collectors import GitHubAppToken, RsaPrivateKey, app_jwt, github_credentials
from codex_metrics.collectors._auth import _SHA256_PREFIX
from codex_metrics.config import load_settings
from codex_metrics.errors import ConfigError

from . import recordings
from .conftest import NOW, FakeClock, SessionFactory


def _probable_prime(bits: int, rng: random.Random) -> int:
    while True:
        n = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if all(pow(a, n - 1, n) == 1 for a in (2, 3, 5, 7, 11, 13, 17, 19, 23)):
            return n


def _der_int(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return b"\x02" + _der_len(len(body)) + body


def _der_len(n: int) -> bytes:
    return bytes([n]) if n < 128 else bytes([0x80 | 2]) + n.to_bytes(2, "big")


def _seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    return b"\x30" + _der_len(len(body)) + body


class MadeUpKey:
    """A 1024-bit RSA key made for the test (p, q prime by Fermat tests on 9 bases)."""

    def __init__(self, seed: int = 11) -> None:
        rng = random.Random(seed)
        self.e = 65537
        while True:
            p, q = _probable_prime(512, rng), _probable_prime(512, rng)
            phi = (p - 1) * (q - 1)
            if p != q and phi % self.e:
                break
        self.n, self.d = p * q, pow(self.e, -1, phi)
        self.pkcs1 = _seq(*(_der_int(v) for v in (0, self.n, self.e, self.d, p, q, self.d % (p - 1),
                                                  self.d % (q - 1), pow(q, -1, p))))  # fmt: skip

    def pem(self, *, pkcs8: bool = False) -> str:
        der = self.pkcs1
        label = "RSA PRIVATE KEY"
        if pkcs8:
            algorithm = _seq(b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", b"\x05\x00")
            der = _seq(_der_int(0), algorithm, b"\x04" + _der_len(len(der)) + der)
            label = "PRIVATE KEY"
        text = base64.encodebytes(der).decode()
        return f"-----BEGIN {label}-----\n{text}-----END {label}-----\n"

    def verify(self, jwt: str) -> dict[str, object]:
        head, claims, sig = jwt.split(".")
        signed = pow(int.from_bytes(_unb64(sig), "big"), self.e, self.n)
        k = (self.n.bit_length() + 7) // 8
        expected = _SHA256_PREFIX + hashlib.sha256(f"{head}.{claims}".encode()).digest()
        em = signed.to_bytes(k, "big")
        assert em.startswith(b"\x00\x01\xff") and em.endswith(b"\x00" + expected)
        assert json.loads(_unb64(head)) == {"alg": "RS256", "typ": "JWT"}
        return json.loads(_unb64(claims))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


KEY = MadeUpKey()


@pytest.mark.parametrize("pkcs8", [False, True])
def test_the_jwt_is_an_rs256_signature_github_can_verify(pkcs8: bool) -> None:
    key = RsaPrivateKey.from_pem(KEY.pem(pkcs8=pkcs8))
    claims = KEY.verify(app_jwt("12345", key, now=NOW))
    stamp = int(NOW.timestamp())
    assert claims == {"iat": stamp - 60, "exp": stamp + 540, "iss": "12345"}


def test_a_broken_key_says_where_it_came_from() -> None:
    with pytest.raises(ConfigError, match="GITHUB_APP_PRIVATE_KEY is not a PEM private key"):
        RsaPrivateKey.from_pem("ghp_not_a_key", where="GITHUB_APP_PRIVATE_KEY")
    broken = KEY.pem().replace("\n", "").replace("-----END", "AAAA\n-----END")
    with pytest.raises(ConfigError, match="damaged"):
        RsaPrivateKey.from_pem(broken[:200] + "\n-----END RSA PRIVATE KEY-----")


def test_installation_tokens_are_minted_used_and_renewed(
    make_session: SessionFactory, clock: FakeClock
) -> None:
    repo = recordings.github("repo_get.json")[0]
    minted: list[str] = []
    used: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if request.url.path == "/app/installations":
            KEY.verify(auth.removeprefix("Bearer "))
            return httpx.Response(
                200, json=[{"id": 77, "account": {"login": "acme"}}], request=request
            )
        if request.url.path == "/app/installations/77/access_tokens":
            assert request.method == "POST"
            KEY.verify(auth.removeprefix("Bearer "))
            token = f"ghs_installation_{len(minted)}"
            minted.append(token)
            expires = (clock.now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            return httpx.Response(
                201, json={"token": token, "expires_at": expires}, request=request
            )
        used.append(request.headers.get("authorization"))
        return repo.response(request)

    session = make_session(handler, token=None)
    session.token = GitHubAppToken("12345", RsaPrivateKey.from_pem(KEY.pem()), owner="acme")
    session.get("repos/PyGithub/PyGithub")
    session.get("repos/PyGithub/PyGithub")
    clock.advance(minutes=56)  # within five minutes of expiry: a new token
    session.get("repos/PyGithub/PyGithub")
    assert used == ["Bearer ghs_installation_0"] * 2 + ["Bearer ghs_installation_1"]
    assert "ghs_installation" not in repr(session.token)


def test_several_installations_need_the_id(make_session: SessionFactory) -> None:
    listed = [{"id": 1, "account": {"login": "a"}}, {"id": 2, "account": {"login": "b"}}]
    session = make_session(lambda r: httpx.Response(200, json=listed, request=r), token=None)
    session.token = GitHubAppToken("9", RsaPrivateKey.from_pem(KEY.pem()))
    with pytest.raises(
        ConfigError,
        match="2 matching installations: a \\(id 1\\), b \\(id 2\\).*app_installation_id",
    ):
        session.get("repos/a/b")


def test_settings_choose_the_app_over_a_token_and_hide_both(tmp_path: Path) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(KEY.pem())
    env = {"GITHUB_TOKEN": "ghp_secret", "GITHUB_APP_ID": "12345",
           "GITHUB_APP_PRIVATE_KEY_PATH": str(key_file)}  # fmt: skip
    settings = load_settings(env=env, cwd=tmp_path)
    creds = github_credentials(settings, owner="acme")
    assert isinstance(creds, GitHubAppToken) and creds.owner == "acme"
    assert "ghp_secret" not in repr(settings) and "PRIVATE KEY" not in repr(settings)
    only_token = load_settings(env={"GITHUB_TOKEN": "ghp_secret"}, cwd=tmp_path)
    assert repr(github_credentials(only_token)) == "StaticToken(<hidden>)"
    with pytest.raises(ConfigError, match="missing its private key"):
        github_credentials(load_settings(env={"GITHUB_APP_ID": "1"}, cwd=tmp_path))


def test_a_token_in_the_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "codex-metrics.toml"
    config.write_text('[github]\ntoken = "ghp_x"\n')
    with pytest.raises(ConfigError, match="set GITHUB_TOKEN in the environment instead"):
        load_settings(env={}, cwd=tmp_path)
