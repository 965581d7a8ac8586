"""All settings, from the environment and an optional ``.env`` file (pydantic-settings).

Every setting has a local default, so ``make run`` needs nothing. Names follow
``../shared/docs/architecture.md``; a channel whose secrets are empty is simply
not served (``bot.channels.registry``). Build one ``Settings``
in the CLI or the app factory and pass it down; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator
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
    #: Web Push: the VAPID private key (base64url, 32 raw bytes); unset, one is made on first start and kept in
    #: the database. The subject is a ``mailto:`` or ``https:`` address push services may write to.
    vapid_private_key: SecretStr | None = Field(default=None, alias="MADOGUCHI_VAPID_PRIVATE_KEY")
    vapid_subject: str | None = Field(default=None, alias="MADOGUCHI_VAPID_SUBJECT")

    page_deadline_minutes: float = Field(default=5.0, gt=0, alias="MADOGUCHI_PAGE_DEADLINE_MINUTES")
    retention_days: int = Field(default=365, ge=1, alias="MADOGUCHI_RETENTION_DAYS")
    check_silence_minutes: float = Field(default=3.0, gt=0, alias="MADOGUCHI_CHECK_SILENCE_MINUTES")
    cookie_secure: bool = Field(default=True, alias="MADOGUCHI_COOKIE_SECURE")
    public_url: str | None = Field(default=None, alias="MADOGUCHI_PUBLIC_URL")  # for links in pages
    session_hours: float = Field(default=12.0, gt=0, alias="MADOGUCHI_SESSION_HOURS")
    #: ``/metrics`` wants ``Authorization: Bearer <this>``; without it, only clients on this machine get it.
    metrics_token: SecretStr | None = Field(default=None, alias="MADOGUCHI_METRICS_TOKEN")
    #: Wrong passwords allowed per login name and per client address in ``login_window_minutes``;
    #: after that every try waits, the right password too.
    login_tries_per_account: int = Field(default=5, ge=1, alias="MADOGUCHI_LOGIN_TRIES_PER_ACCOUNT")
    login_tries_per_address: int = Field(default=20, ge=1, alias="MADOGUCHI_LOGIN_TRIES_PER_ADDRESS")
    login_window_minutes: float = Field(default=15.0, gt=0, alias="MADOGUCHI_LOGIN_WINDOW_MINUTES")
    #: Web chat, per hour: new conversations per client address, and urgent pages per address and in all.
    #: Over a limit the person still gets every reply (the numbers to call); the case still enters the
    #: queue, and the on-call coordinator gets one grouped page per hour instead of one per case.
    chat_new_per_address: int = Field(default=10, ge=1, alias="MADOGUCHI_CHAT_NEW_PER_ADDRESS")
    chat_pages_per_address: int = Field(default=2, ge=1, alias="MADOGUCHI_CHAT_PAGES_PER_ADDRESS")
    chat_pages_per_hour: int = Field(default=6, ge=1, alias="MADOGUCHI_CHAT_PAGES_PER_HOUR")
    chat_cookie_days: int = Field(default=14, ge=1, alias="MADOGUCHI_CHAT_COOKIE_DAYS")
    #: The outbox's retry schedule (``storage.outbox.Schedule``): the first wait's ceiling, the longest single
    #: wait, how long a send is tried before its case shows it undelivered, and the lease a send holds (renewed
    #: while it runs).
    outbox_first_wait_seconds: float = Field(default=2.0, gt=0, alias="MADOGUCHI_OUTBOX_FIRST_WAIT_SECONDS")
    outbox_max_wait_seconds: float = Field(default=600.0, gt=0, alias="MADOGUCHI_OUTBOX_MAX_WAIT_SECONDS")
    outbox_give_up_hours: float = Field(default=36.0, gt=0, alias="MADOGUCHI_OUTBOX_GIVE_UP_HOURS")
    outbox_lease_seconds: float = Field(default=20.0, ge=1, alias="MADOGUCHI_OUTBOX_LEASE_SECONDS")
    #: A page that keeps failing on one of a coordinator's channels goes out on the next one after this long
    #: (at once on a permanent error): a page must not wait out the outbox's hours.
    page_fallback_seconds: float = Field(default=60.0, gt=0, alias="MADOGUCHI_PAGE_FALLBACK_SECONDS")
    #: Where ``madoguchi serve`` runs the work behind the 200 (``bot.runtime.work``): ``apart`` in a process of
    #: its own, ``inline`` inside the web process, ``elsewhere`` not at all (``madoguchi work`` on other machines);
    #: ``auto``: apart, except for an in-memory SQLite, which no second process can open. On SQLite apart works
    #: because the webhooks store into a file of their own (``storage.db.journal_url``): the work's write lock
    #: never holds up the 200.
    work: Literal["auto", "apart", "inline", "elsewhere"] = Field(default="auto", alias="MADOGUCHI_WORK")
    #: How many ``madoguchi work`` processes ``madoguchi serve`` starts when the work runs apart.
    work_processes: int = Field(default=1, ge=1, le=16, alias="MADOGUCHI_WORK_PROCESSES")
    #: How much a ``madoguchi work`` process yields the CPU (``nice``, 0-19): on a small machine a backlog of
    #: turns must never slow the 200s, the web chat or the coordinator's pages, which answer people now.
    work_nice: int = Field(default=10, ge=0, le=19, alias="MADOGUCHI_WORK_NICE")

    @property
    def work_where(self) -> Literal["apart", "inline", "elsewhere"]:
        """``work`` with ``auto`` decided by the database."""
        if self.work != "auto":
            return self.work
        in_memory = self.database_url.startswith("sqlite:") and (
            ":memory:" in self.database_url or self.database_url.rstrip("/") in ("sqlite:", "sqlite:/")
        )
        return "inline" if in_memory else "apart"

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret.get_secret_value()):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return secret

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError("MADOGUCHI_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        return url
