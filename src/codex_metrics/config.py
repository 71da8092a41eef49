"""Typed settings, read once at the edge from ``codex-metrics.toml`` and the environment.

Precedence, highest first: an explicit command-line option (applied by the caller with
:meth:`Settings.with_overrides`), the environment, the config file, the defaults below.

The config file is ``codex-metrics.toml`` in the working directory, else
``$XDG_CONFIG_HOME/codex-metrics/codex-metrics.toml`` (``~/.config/...``)::

    [lake]
    path = "./codex-metrics-lake"
    engine = "duckdb"            # or "spark"

    [privacy]
    pseudonym_key = "change-me"  # keyed hash for logins and emails
    store_identities = false     # true stores logins in clear (opt-in)

    [openai]
    base_url = "http://localhost:8000/v1"
    model = "gpt-4o-mini"

Environment variables: ``CODEX_METRICS_LAKE``, ``CODEX_METRICS_ENGINE``,
``CODEX_METRICS_PSEUDONYM_KEY``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``GITHUB_TOKEN``.
No other module reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from codex_metrics.errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "DEFAULT_LAKE",
    "EngineName",
    "Settings",
    "find_config_file",
    "load_settings",
]

CONFIG_FILENAME = "codex-metrics.toml"
DEFAULT_LAKE = Path("codex-metrics-lake")
EngineName = Literal["duckdb", "spark"]
_ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, as one immutable value.

    Example:
        >>> Settings().lake_path
        PosixPath('codex-metrics-lake')
        >>> Settings().with_overrides(engine="spark").engine
        'spark'
    """

    lake_path: Path = DEFAULT_LAKE
    engine: EngineName = "duckdb"
    pseudonym_key: str = "codex-metrics-default-key"
    store_identities: bool = False
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_model: str | None = None
    github_token: str | None = field(default=None, repr=False)
    config_file: Path | None = None

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the non-``None`` overrides applied (command-line options)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if "engine" in given:
            given["engine"] = _check_engine(given["engine"], "--engine")
        if "lake_path" in given:
            given["lake_path"] = Path(given["lake_path"])
        return replace(self, **given)


def _check_engine(value: object, where: str) -> EngineName:
    if value not in _ENGINES:
        raise ConfigError(f"{where}: engine must be one of {', '.join(_ENGINES)}, not {value!r}")
    return cast(EngineName, value)


def find_config_file(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """Return the config file that applies, or ``None`` when there is none."""
    env = os.environ if env is None else env
    local = (cwd or Path.cwd()) / CONFIG_FILENAME
    if local.is_file():
        return local
    xdg = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    user = Path(xdg) / "codex-metrics" / CONFIG_FILENAME
    return user if user.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file or remove it") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc


def _section(doc: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table, not {type(value).__name__}")
    return value


def load_settings(
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Read the config file and the environment once and return typed settings.

    Args:
        cwd: directory searched for ``codex-metrics.toml`` (default: the working directory).
        env: environment mapping (default: ``os.environ``); tests pass their own.
        config_file: an explicit config file, instead of searching.
    """
    env = os.environ if env is None else env
    path = config_file or find_config_file(cwd, env)
    values: dict[str, Any] = {}
    if path is not None:
        doc = _read_toml(path)
        lake = _section(doc, "lake", path)
        privacy = _section(doc, "privacy", path)
        openai = _section(doc, "openai", path)
        if "path" in lake:
            values["lake_path"] = Path(str(lake["path"]))
        if "engine" in lake:
            values["engine"] = _check_engine(lake["engine"], f"{path}: [lake] engine")
        if "pseudonym_key" in privacy:
            values["pseudonym_key"] = str(privacy["pseudonym_key"])
        if "store_identities" in privacy:
            values["store_identities"] = bool(privacy["store_identities"])
        for key in ("base_url", "model"):
            if key in openai:
                values[f"openai_{key}"] = str(openai[key])
        values["config_file"] = path
    if env.get("CODEX_METRICS_LAKE"):
        values["lake_path"] = Path(env["CODEX_METRICS_LAKE"])
    if env.get("CODEX_METRICS_ENGINE"):
        values["engine"] = _check_engine(env["CODEX_METRICS_ENGINE"], "CODEX_METRICS_ENGINE")
    if env.get("CODEX_METRICS_PSEUDONYM_KEY"):
        values["pseudonym_key"] = env["CODEX_METRICS_PSEUDONYM_KEY"]
    if env.get("OPENAI_BASE_URL"):
        values["openai_base_url"] = env["OPENAI_BASE_URL"]
    if env.get("OPENAI_API_KEY"):
        values["openai_api_key"] = env["OPENAI_API_KEY"]
    if env.get("GITHUB_TOKEN"):
        values["github_token"] = env["GITHUB_TOKEN"]
    return Settings(**values)
