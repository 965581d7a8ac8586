"""All settings, from the environment and an optional ``.env`` file (pydantic-settings).

Every setting has a local default, so ``make run`` needs nothing. Names follow
``../shared/docs/architecture.md``; the channel secrets are used by the channel
adapters (a later issue) and may stay empty until then. Build one ``Settings``
in the CLI or the app factory and pass it down; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    database_url: str = Field(default="sqlite:///madoguchi.db", alias="MADOGUCHI_DATABASE_URL")
    region: str = Field(default="nemuro", alias="MADOGUCHI_REGION")
    line_channel_secret: SecretStr | None = Field(default=None, alias="LINE_CHANNEL_SECRET")
    line_channel_access_token: SecretStr | None = Field(default=None, alias="LINE_CHANNEL_ACCESS_TOKEN")
    line_api_base_url: str = Field(default="https://api.line.me", alias="LINE_API_BASE_URL")
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_webhook_secret: SecretStr | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_base_url: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_BASE_URL")
