"""The engine's words for the coordinator (``casewords.yaml``): answer names, reasons, the summary's lines.

Pure data read once at import, strictly (a missing or unknown key, or a template without the ``{field}``
the code fills, fails the load); the person's words are in ``texts.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import ClassVar

from bot.conversation.model import Slot
from bot.conversation.worded import Filled, Worded
from intents.yamlfile import load_yaml_file

CASEWORDS_FILE = Path(__file__).with_name("casewords.yaml")


class Reasons(Worded):
    FILLED: ClassVar[Filled] = {"checking": ("reason",)}
    asked_for_person: str
    could_not_answer: str
    stopped: str
    check_yes: str
    check_unclear: str
    check_no: str
    check_stopped: str
    checking: str

    @property
    def checking_mark(self) -> str:
        """What a reason still being asked about starts with (``確認中: ``)."""
        return self.checking.partition("{reason}")[0]


class SummaryLines(Worded):
    FILLED: ClassVar[Filled] = {
        "opening": ("text",),
        "skipped": ("slots",),
        "consent": ("answer",),
        "reasons": ("reasons",),
    }
    urgent: str
    normal: str
    opening: str
    skipped: str
    consent: str
    consent_yes: str
    consent_no: str
    consent_unasked: str
    reasons: str


class CaseWords(Worded):
    slots: dict[Slot, str]
    reasons: Reasons
    summary: SummaryLines

    def slot(self, slot: Slot) -> str:
        return self.slots[slot]


@cache
def casewords(path: Path = CASEWORDS_FILE) -> CaseWords:
    words = CaseWords.model_validate(load_yaml_file(path))
    missing = sorted(str(slot) for slot in set(Slot) - set(words.slots))
    if missing:
        raise ValueError(f"{path.name}: slots without a name: {missing}")
    return words


CASE_WORDS = casewords()
