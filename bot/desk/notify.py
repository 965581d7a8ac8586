"""The words about how pages reach a coordinator, from ``notify.yaml``, checked for shape when first read.

Why a file: every text a coordinator reads is data (the register can be changed
without touching code), and a missing or misspelt key fails at load, not on a
page at 2 a.m.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from intents.yamlfile import load_yaml_file

NOTIFY_FILE = Path(__file__).with_name("notify.yaml")
CHANNELS = ("line", "telegram", "webpush", "web")
#: The blanks each text must keep (filled by ``bot.desk.linking`` and ``bot.web.notify``).
SLOTS = {"code_shown": ("code", "minutes"), "linked": ("channel",), "line_limit": ("since",)}


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
    test_button: str
    test_sent: str
    test_page: str
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

    @model_validator(mode="after")
    def _slots(self) -> NotifyWords:
        """Each text with blanks has them all: a missing one would show a page without the code or the date."""
        for name, slots in SLOTS.items():
            missing = [slot for slot in slots if "{" + slot + "}" not in getattr(self, name)]
            if missing:
                raise ValueError(f"{name} needs {', '.join('{' + slot + '}' for slot in missing)}")
        return self


@cache
def words(path: Path = NOTIFY_FILE) -> NotifyWords:
    return NotifyWords.model_validate(load_yaml_file(path))
