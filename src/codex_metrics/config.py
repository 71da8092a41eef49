"""Typed settings, read once at the edge from ``codex-metrics.toml`` and the environment.

Precedence, highest first: an explicit command-line option (applied by the caller with
:meth:`Settings.with_overrides`), the environment, the config file, the defaults below.

The config file is ``codex-metrics.toml`` in the working directory, else
``$XDG_CONFIG_HOME/codex-metrics/codex-metrics.toml`` (``~/.config/...``)::

    [lake]
    path = "./codex-metrics-lake"
    engine = "duckdb"            # or "spark"

    [privacy]
    pseudonym_key = "change-me"  # keyed hash for logins and emails (default: the lake's own key)
    store_identities = false     # true stores logins in clear (opt-in)
    min_group_size = 5           # real-data slices of fewer developers are withheld
    per_user_opt_in = ["alice"]  # logins who agreed to a per-user view in the dashboard

    [dashboard]
    per_user_viewers = ["lead@example.com"]   # signed-in viewers who may see per-user views
                                              # ("localhost": the operator of a loopback server)
    collect_viewers = ["localhost"]           # viewers who may add a repository to collect

    [seats]
    prices = { business = 19, enterprise = 39 }   # USD per seat and month, by plan

    [openai]
    base_url = "http://localhost:8000/v1"
    model = "gpt-4o-mini"

    [github]                     # collectors (docs/collectors.md); tokens never go in this file
    api_url = "https://api.github.com"   # GitHub Enterprise Server: https://HOST/api/v3
    app_id = "123456"            # a GitHub App instead of GITHUB_TOKEN ...
    app_private_key_path = "/run/secrets/app.pem"
    app_installation_id = 7890   # optional when the App has one installation

    [stackexchange]
    key = "app-key"              # raises the daily quota from 300 to 10,000 (not a secret)
    site = "stackoverflow"

    [collect]                    # the targets of `codex-metrics collect all`
    repos = ["openai/codex"]
    stackoverflow_tags = ["github-copilot", "openai-codex"]
    copilot_orgs = ["acme"]
    copilot_enterprises = []
    ecosystem = true
    request_budget = 5000        # requests per run, every source together
    max_wait_seconds = 900       # wait this long for a rate limit to reset, else stop

    [[collect.ecosystem_queries]]          # replaces the built-in queries
    name = "repos_agents_md_readme"
    kind = "repositories"                  # repositories, commits or code
    q = "AGENTS.md in:readme"

Environment variables: ``CODEX_METRICS_LAKE``, ``CODEX_METRICS_ENGINE``,
``CODEX_METRICS_PSEUDONYM_KEY``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``GITHUB_TOKEN``,
``GITHUB_API_URL``, ``GITHUB_APP_ID``, ``GITHUB_APP_PRIVATE_KEY`` (the PEM text) or
``GITHUB_APP_PRIVATE_KEY_PATH``, ``GITHUB_APP_INSTALLATION_ID``, ``STACKEXCHANGE_KEY``.
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
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_LAKE",
    "DEFAULT_MIN_GROUP_SIZE",
    "DEFAULT_PSEUDONYM_KEY",
    "DEFAULT_SEAT_PRICES",
    "CollectSettings",
    "EcosystemQuery",
    "EngineName",
    "Settings",
    "find_config_file",
    "load_settings",
]

CONFIG_FILENAME = "codex-metrics.toml"
DEFAULT_LAKE = Path("codex-metrics-lake")
#: The key shipped in the code: never used to store people (ingest uses the lake's own key).
DEFAULT_PSEUDONYM_KEY = "codex-metrics-default-key"
#: GitHub's minimum for team metrics: slices of real data with fewer developers are withheld.
DEFAULT_MIN_GROUP_SIZE = 5
#: GitHub Copilot list prices, USD per seat and month (override with ``[seats] prices``).
DEFAULT_SEAT_PRICES = {"business": 19.0, "enterprise": 39.0}
EngineName = Literal["duckdb", "spark"]
_ENGINES: tuple[EngineName, ...] = ("duckdb", "spark")


DEFAULT_GITHUB_API_URL = "https://api.github.com"
SearchKind = Literal["repositories", "commits", "code"]
_SEARCH_KINDS: tuple[SearchKind, ...] = ("repositories", "commits", "code")


@dataclass(frozen=True)
class EcosystemQuery:
    """One GitHub search whose total is snapshotted daily by ``collect ecosystem``."""

    name: str
    kind: SearchKind
    q: str


@dataclass(frozen=True)
class CollectSettings:
    """Credentials, targets and limits of the collectors: ``[github]``, ``[stackexchange]``, ``[collect]``.

    Tokens and private keys are read from the environment (or a key file) and never written
    anywhere; ``repr`` hides them.
    """

    github_api_url: str = DEFAULT_GITHUB_API_URL
    github_app_id: str | None = None
    github_app_private_key: str | None = field(default=None, repr=False)
    github_app_private_key_path: Path | None = None
    github_app_installation_id: int | None = None
    stackexchange_key: str | None = field(default=None, repr=False)
    stackexchange_site: str = "stackoverflow"
    repos: tuple[str, ...] = ()
    stackoverflow_tags: tuple[str, ...] = ()
    copilot_orgs: tuple[str, ...] = ()
    copilot_enterprises: tuple[str, ...] = ()
    ecosystem: bool = False
    ecosystem_queries: tuple[EcosystemQuery, ...] = ()
    request_budget: int = 5000
    max_wait_seconds: float = 900.0


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
    pseudonym_key: str = DEFAULT_PSEUDONYM_KEY
    store_identities: bool = False
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    seat_prices: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SEAT_PRICES))
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_model: str | None = None
    github_token: str | None = field(default=None, repr=False)
    collect: CollectSettings = field(default_factory=CollectSettings)
    per_user_opt_in: tuple[str, ...] = ()
    per_user_viewers: tuple[str, ...] = ()
    collect_viewers: tuple[str, ...] = ()
    alerts: Mapping[str, Any] = field(default_factory=dict)  # raw [alerts]; alerts/targets.py
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


def _count(value: object, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{path}: [privacy] min_group_size must be a whole number >= 0")
    return value


def _prices(value: object, path: Path) -> dict[str, float]:
    if not isinstance(value, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value.values()
    ):
        raise ConfigError(
            f"{path}: [seats] prices must map plans to prices, e.g. {{ business = 19 }}"
        )
    return {**DEFAULT_SEAT_PRICES, **{str(k).lower(): float(v) for k, v in value.items()}}


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
    collect: dict[str, Any] = {}
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
        if "min_group_size" in privacy:
            values["min_group_size"] = _count(privacy["min_group_size"], path)
        if "per_user_opt_in" in privacy:
            where = f"{path}: [privacy] per_user_opt_in"
            values["per_user_opt_in"] = _strings(privacy["per_user_opt_in"], where)
        dashboard = _section(doc, "dashboard", path)
        for key in ("per_user_viewers", "collect_viewers"):
            if key in dashboard:
                values[key] = _strings(dashboard[key], f"{path}: [dashboard] {key}")
        prices = _section(doc, "seats", path).get("prices")
        if prices is not None:
            values["seat_prices"] = _prices(prices, path)
        for key in ("base_url", "model"):
            if key in openai:
                values[f"openai_{key}"] = str(openai[key])
        collect.update(_collect_from_file(doc, path))
        values["alerts"] = _section(doc, "alerts", path)
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
    collect.update(_collect_from_env(env))
    values["collect"] = CollectSettings(**collect)
    return Settings(**values)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings, not {value!r}")
    return tuple(v.strip() for v in value)


def _number(value: object, where: str, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where} must be a number >= 0, not {value!r}")
    return kind(value)


def _queries(value: object, where: str) -> tuple[EcosystemQuery, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be an array of tables ([[collect.ecosystem_queries]])")
    out = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, dict) or not {"name", "kind", "q"} <= set(item):
            raise ConfigError(f'{at} needs name, kind and q (e.g. kind = "repositories")')
        if item["kind"] not in _SEARCH_KINDS:
            raise ConfigError(f"{at}: kind must be one of {', '.join(_SEARCH_KINDS)}")
        out.append(EcosystemQuery(str(item["name"]), item["kind"], str(item["q"])))
    names = [q.name for q in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: query names must be unique ({', '.join(names)})")
    return tuple(out)


def _collect_from_file(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """The collector settings of the config file's [github], [stackexchange] and [collect]."""
    github = _section(doc, "github", path)
    stack = _section(doc, "stackexchange", path)
    collect = _section(doc, "collect", path)
    if "token" in github:
        raise ConfigError(
            f"{path}: [github] token is not read from the config file (it would end up in "
            "backups and repositories); set GITHUB_TOKEN in the environment instead"
        )
    out: dict[str, Any] = {}
    if "api_url" in github:
        out["github_api_url"] = str(github["api_url"]).rstrip("/")
    if "app_id" in github:
        out["github_app_id"] = str(github["app_id"])
    if "app_private_key_path" in github:
        out["github_app_private_key_path"] = Path(str(github["app_private_key_path"]))
    if "app_installation_id" in github:
        out["github_app_installation_id"] = _number(
            github["app_installation_id"], f"{path}: [github] app_installation_id", int
        )
    if "key" in stack:
        out["stackexchange_key"] = str(stack["key"])
    if "site" in stack:
        out["stackexchange_site"] = str(stack["site"])
    for key in ("repos", "stackoverflow_tags", "copilot_orgs", "copilot_enterprises"):
        if key in collect:
            out[key] = _strings(collect[key], f"{path}: [collect] {key}")
    if "ecosystem" in collect:
        out["ecosystem"] = bool(collect["ecosystem"])
    if "ecosystem_queries" in collect:
        out["ecosystem_queries"] = _queries(
            collect["ecosystem_queries"], f"{path}: collect.ecosystem_queries"
        )
    if "request_budget" in collect:
        out["request_budget"] = _number(
            collect["request_budget"], f"{path}: [collect] request_budget", int
        )
    if "max_wait_seconds" in collect:
        out["max_wait_seconds"] = _number(
            collect["max_wait_seconds"], f"{path}: [collect] max_wait_seconds", float
        )
    return out


def _collect_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The collector credentials of the environment (they win over the file)."""
    out: dict[str, Any] = {}
    if env.get("GITHUB_API_URL"):
        out["github_api_url"] = env["GITHUB_API_URL"].rstrip("/")
    if env.get("GITHUB_APP_ID"):
        out["github_app_id"] = env["GITHUB_APP_ID"]
    if env.get("GITHUB_APP_PRIVATE_KEY"):
        out["github_app_private_key"] = env["GITHUB_APP_PRIVATE_KEY"]
    if env.get("GITHUB_APP_PRIVATE_KEY_PATH"):
        out["github_app_private_key_path"] = Path(env["GITHUB_APP_PRIVATE_KEY_PATH"])
    if env.get("GITHUB_APP_INSTALLATION_ID"):
        try:
            out["github_app_installation_id"] = int(env["GITHUB_APP_INSTALLATION_ID"])
        except ValueError:
            raise ConfigError("GITHUB_APP_INSTALLATION_ID must be a number") from None
    if env.get("STACKEXCHANGE_KEY"):
        out["stackexchange_key"] = env["STACKEXCHANGE_KEY"]
    return out
