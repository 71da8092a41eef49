"""Settings: file, then environment, then command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_metrics.config import Settings, load_settings
from codex_metrics.errors import ConfigError


def test_defaults_without_file_or_environment(tmp_path: Path) -> None:
    s = load_settings(cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert s == Settings()


def test_file_then_environment_then_options(tmp_path: Path) -> None:
    (tmp_path / "codex-metrics.toml").write_text(
        '[lake]\npath = "from-file"\nengine = "spark"\n[openai]\nmodel = "m"\n'
    )
    s = load_settings(cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert (s.lake_path, s.engine, s.openai_model) == (Path("from-file"), "spark", "m")
    s = load_settings(cwd=tmp_path, env={"HOME": str(tmp_path), "CODEX_METRICS_LAKE": "from-env"})
    assert s.lake_path == Path("from-env")
    assert s.with_overrides(lake_path="from-cli", engine=None).lake_path == Path("from-cli")


def test_user_config_directory(tmp_path: Path) -> None:
    conf = tmp_path / "xdg" / "codex-metrics"
    conf.mkdir(parents=True)
    (conf / "codex-metrics.toml").write_text('[privacy]\npseudonym_key = "k"\n')
    s = load_settings(cwd=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert s.pseudonym_key == "k"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[lake\n", "not valid TOML"),
        ("lake = 3\n", r"\[lake\] must be a table"),
        ('[lake]\nengine = "pandas"\n', "engine must be one of"),
    ],
)
def test_bad_config_files_name_the_file_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "codex-metrics.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(cwd=tmp_path, env={})


def test_secrets_do_not_show_in_repr() -> None:
    s = Settings(openai_api_key="sk-secret", github_token="ghp-secret")
    assert "secret" not in repr(s)
