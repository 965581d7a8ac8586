"""The everyday corpus: ordinary talk that is neither urgent nor about welfare, as data nobody on the team wrote.

``../shared/corpora/everyday_ja/everyday_ja.jsonl`` (46,657 utterances from JMultiWOZ-TC, CC BY 4.0, and
the DUO dataset, Apache-2.0; attribution in the README) lives outside the project and its text is
never committed. It is used three ways, split by a hash of each text so the split never changes and
no line is in two parts:

* ``train`` (70%): a sample becomes ``other``, not-urgent training examples, so the model learns what
  ordinary life sounds like (food, weather, travel, shopping) instead of reading it as a crisis;
* ``calibration`` (10%): the urgency thresholds are chosen so that ordinary talk is rarely paged or
  checked (``intents.train``);
* ``test`` (20%): never trained or tuned on; ``madoguchi eval --everyday`` reports how much of it is
  paged and checked.

The corpus's labels are not checked one by one: its README warns that a handful of lines mention
illness, money or lodging, which is what a hotel booking or a cold sounds like, not an emergency.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from intents.dataset import Example
from intents.errors import DatasetError
from intents.labels import Intent

Split = Literal["train", "calibration", "test"]
#: Where the corpus is looked for unless ``MADOGUCHI_CORPUS`` names another file: ``shared/`` beside the clone.
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "everyday_ja" / "everyday_ja.jsonl"
CORPUS_ENV = "MADOGUCHI_CORPUS"
_BUCKETS: dict[Split, range] = {"test": range(0, 2), "calibration": range(2, 3), "train": range(3, 10)}


def corpus_path() -> Path:
    return Path(os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(text: str) -> Split:
    """The part a text belongs to, from its hash alone (stable across machines and corpus versions)."""
    bucket = int(_digest(text)[:8], 16) % 10
    return next(name for name, buckets in _BUCKETS.items() if bucket in buckets)


def load_everyday(split: Split, limit: int | None = None, path: Path | None = None) -> list[Example]:
    """Distinct texts of one part as ``other`` examples, in hash order (a stable sample when ``limit`` is set)."""
    source = path or corpus_path()
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise DatasetError(f"{source}: the everyday corpus is not there (set {CORPUS_ENV})") from exc
    texts: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        try:
            text = str(json.loads(line)["text"]).strip()
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DatasetError(f"{source.name}:{number}: not a JSON object with a text") from exc
        if text and split_of(text) == split:
            texts.setdefault(_digest(text), text)
    chosen = sorted(texts.items())[:limit]
    return [
        Example(text=text, intents=(Intent.OTHER,), urgent=False, id=f"ev-{digest[:12]}", voice="everyday")
        for digest, text in chosen
    ]


def corpus_digest(path: Path | None = None) -> str:
    """The corpus file's SHA-256: recorded in the model's metadata, so a changed corpus shows."""
    return hashlib.sha256((path or corpus_path()).read_bytes()).hexdigest()
