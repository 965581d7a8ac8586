"""Settings come from the environment names the architecture sketch lists, with local defaults."""

from __future__ import annotations

import pytest

from bot.settings import Settings


def test_defaults_need_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MADOGUCHI_DATABASE_URL", "MADOGUCHI_REGION", "LINE_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.region == "nemuro" and settings.database_url.startswith("sqlite:///")
    assert settings.line_api_base_url == "https://api.line.me"


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MADOGUCHI_REGION", "shiroi")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s3cret")
    settings = Settings(_env_file=None)
    assert settings.region == "shiroi" and settings.telegram_api_base_url == "http://127.0.0.1:9999"
    assert settings.line_channel_secret is not None and settings.line_channel_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)  # secrets never print


@pytest.mark.parametrize(
    ("work", "url", "where"),
    [
        ("auto", "sqlite:///x.db", "apart"),
        ("auto", "sqlite://", "inline"),
        ("auto", "sqlite:///:memory:", "inline"),
        ("auto", "postgresql://u@h/db", "apart"),
        ("inline", "sqlite:///x.db", "inline"),
        ("apart", "sqlite:///x.db", "apart"),
        ("elsewhere", "postgresql://u@h/db", "elsewhere"),
    ],
)
def test_auto_runs_the_work_apart_unless_the_database_is_in_memory(
    monkeypatch: pytest.MonkeyPatch, work: str, url: str, where: str
) -> None:
    monkeypatch.setenv("MADOGUCHI_WORK", work)
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL", url)
    assert Settings(_env_file=None).work_where == where
