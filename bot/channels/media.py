"""The words the transcript shows for a message that is not text, from ``media.yaml``, by kind.

A channel maps its platform's names (LINE's ``image``, Telegram's ``voice``) to these kinds in code;
the Japanese is data, read strictly at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from intents.yamlfile import load_yaml_file

MEDIA_FILE = Path(__file__).with_name("media.yaml")
MediaKind = Literal["photo", "video", "audio", "file", "location", "sticker", "contact", "other"]


class MediaWords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    photo: str
    video: str
    audio: str
    file: str
    location: str
    sticker: str
    contact: str
    other: str


WORDS = MediaWords.model_validate(load_yaml_file(MEDIA_FILE))


def media_name(kind: MediaKind | None) -> str:
    """The transcript's words for a message of ``kind`` (None: a kind the channel has no name for)."""
    return str(getattr(WORDS, kind or "other"))
