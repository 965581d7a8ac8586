"""Errors raised by the intents package.

IntentsError
 ├── LexiconError      a lexicon file is missing, malformed or inconsistent
 ├── DatasetError      a labelled JSONL file has a bad line (file, line number, field)
 └── ModelError        the model file is missing, malformed or stale
"""

from __future__ import annotations


class IntentsError(Exception):
    """Base class of every error this package raises on purpose."""


class LexiconError(IntentsError):
    pass


class DatasetError(IntentsError):
    pass


class ModelError(IntentsError):
    pass
