"""Labelled examples: JSONL files with ``text``, ``intents`` and ``urgent`` (docs/labelling.md)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intents.errors import DatasetError
from intents.labels import ALWAYS_URGENT, Intent

DATA_DIR = Path(__file__).parent / "data"
TRAIN_FILE = DATA_DIR / "train.jsonl"
DEV_FILE = DATA_DIR / "dev.jsonl"
#: Written by a writer of its own, never trained on: the urgency thresholds are chosen on it (``intents.train``).
CALIBRATION_FILE = DATA_DIR / "calibration.jsonl"
#: Written apart from everything else, last, and run once for the figure nobody tuned on (see README).
CLOSING_FILE = DATA_DIR / "closing.jsonl"


class Example(BaseModel):
    """One labelled message. Extra fields (id, voice, tags) are kept but not required."""

    model_config = ConfigDict(extra="allow", frozen=True)

    text: str = Field(min_length=1)
    intents: tuple[Intent, ...] = Field(min_length=1)
    urgent: bool

    @model_validator(mode="after")
    def _consistent(self) -> Example:
        if Intent.OTHER in self.intents and len(self.intents) > 1:
            raise ValueError("'other' cannot be combined with another intent")
        if set(self.intents) & ALWAYS_URGENT and not self.urgent:
            raise ValueError("crisis and caregiver_emergency are always urgent")
        return self

    @property
    def id(self) -> str:
        value = (self.model_extra or {}).get("id")
        return str(value) if value is not None else ""


def load_examples(path: Path) -> list[Example]:
    """Read a JSONL file; a bad line raises DatasetError naming the file, line and field."""
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise DatasetError(f"{path}: file not found") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            examples.append(Example.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path.name}:{number}: not JSON: {exc.msg}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise DatasetError(f"{path.name}:{number}: [{where}] {first['msg']}") from exc
    if not examples:
        raise DatasetError(f"{path}: no examples")
    return examples
