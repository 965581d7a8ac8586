"""Understanding a message: which intents it carries, whether it is urgent, and why.

The public surface is small: build a ``Classifier`` once with ``Classifier.load()``
and call ``classify(text)``. Everything is pure computation (no network, no
database). Start reading at ``classifier.py``; the words live in ``lexicon/``,
the labelled examples in ``data/``, the trained weights in ``model/``.
"""

from intents.classifier import Classification, Classifier, Evidence
from intents.labels import ALWAYS_URGENT, INTENTS, Intent, Urgency
from intents.tokens import Token, Tokenizer

__all__ = [
    "ALWAYS_URGENT",
    "INTENTS",
    "Classification",
    "Classifier",
    "Evidence",
    "Intent",
    "Token",
    "Tokenizer",
    "Urgency",
]
