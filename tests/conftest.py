"""Shared fixtures: the real classifier, knowledge base and conversation context, built once.

Nothing of ours is mocked: tests run the shipped lexicon, model and data.
"""

from __future__ import annotations

import pytest

from bot.conversation import Context, load_context
from intents import Classifier
from knowledge.loader import KnowledgeBase, load_knowledge


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier.load()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def ctx() -> Context:
    return load_context()
