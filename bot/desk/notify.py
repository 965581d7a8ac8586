"""The words about how pages reach a coordinator, from ``notify.yaml``, checked for shape when first read.

Why a file: every text a coordinator reads is data (the register can be changed
without touching code), and a missing or misspelt key fails at load, not on a
page at 2 a.m.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from intents.yamlfile import load_yaml_file

NOTIFY_FILE = Path(__file__).with_name("notify.yaml")
CHANNELS = ("line", "telegram", "webpush", "web")


class NotifyWords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    page_title: str
    order: str
    linked_heading: str
    none_linked: str
    unlink: str
    code_heading: str
    code_steps: str
    code_button: str
    code_shown: str
    push_heading: str
    push_steps: str
    push_button: str
    push_done: str
    push_unsupported: str
    push_denied: str
    unlinked: str
    channels: dict[str, str]
    linked: str
    code_unusable: str
    line_limit: str
    app_name: str
    app_short_name: str

    @field_validator("channels")
    @classmethod
    def _every_channel(cls, names: dict[str, str]) -> dict[str, str]:
        missing = [channel for channel in CHANNELS if not names.get(channel)]
        if missing:
            raise ValueError(f"channels: no name for {', '.join(missing)}")
        return names

    @field_validator("code_shown")
    @classmethod
    def _code_slots(cls, text: str) -> str:
        if "{code}" not in text or "{minutes}" not in text:
            raise ValueError("code_shown needs {code} and {minutes}")
        return text

    @field_validator("linked")
    @classmethod
    def _channel_slot(cls, text: str) -> str:
        if "{channel}" not in text:
            raise ValueError("linked needs {channel}")
        return text

    @field_validator("line_limit")
    @classmethod
    def _since_slot(cls, text: str) -> str:
        if "{since}" not in text:
            raise ValueError("line_limit needs {since}")
        return text


@cache
def words(path: Path = NOTIFY_FILE) -> NotifyWords:
    return NotifyWords.model_validate(load_yaml_file(path))
