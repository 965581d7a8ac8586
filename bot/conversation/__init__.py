"""The conversation engine: a pure function of (state, message) -> (state, replies, effects).

Start at ``engine.respond``. ``load_context`` builds what it reads once (the
classifier, the knowledge base, the texts); everything else is plain data.
"""

from __future__ import annotations

from pathlib import Path

from bot.conversation.effects import (
    AskConsent,
    AwaitAnswer,
    Effect,
    Escalate,
    ForgetMe,
    NoteReceived,
    OpenCase,
    RecordConsent,
    UpdateCase,
)
from bot.conversation.engine import Context, Outcome, respond
from bot.conversation.model import Choice, Inbound, Kind, PersonState, Phase, Reply, Slot
from bot.conversation.summary import CaseSummary
from bot.conversation.texts import TEXTS_FILE, Texts
from intents import Classifier
from knowledge.loader import DATA_DIR, load_knowledge


def load_context(knowledge_dir: Path = DATA_DIR, texts_file: Path = TEXTS_FILE) -> Context:
    kb = load_knowledge(knowledge_dir)
    return Context(Classifier.load(), kb, Texts.load(kb, texts_file))


__all__ = [
    "AskConsent",
    "AwaitAnswer",
    "CaseSummary",
    "Choice",
    "Context",
    "Effect",
    "Escalate",
    "ForgetMe",
    "Inbound",
    "Kind",
    "NoteReceived",
    "OpenCase",
    "Outcome",
    "PersonState",
    "Phase",
    "RecordConsent",
    "Reply",
    "Slot",
    "UpdateCase",
    "load_context",
    "respond",
]
