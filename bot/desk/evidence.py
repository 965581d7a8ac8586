"""The reasons behind an urgent case, in plain Japanese for the case page.

The classifier writes its reasons as identifiers (``rule carer_taken_ill: 倒れ+母``,
``rule violence_or_abuse: 虐待 (set aside: negated)``, ``model urgent 0.97``, and the
engine's ``確認中: ...``); ``explain`` turns each into a line a coordinator reads without
knowing the rules. The words are data (``evidence.yaml``), checked against the lexicon by
``tests/bot/desk/test_evidence.py`` (a rule missing there still reads 「ことばの 一致」, never
its id). A reason in another form (already Japanese, such as 「本人が担当者との会話を希望」)
is shown as it is.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.conversation.casewords import CASE_WORDS
from bot.conversation.worded import Filled, Worded
from intents.yamlfile import load_yaml_file

EVIDENCE_FILE = Path(__file__).with_name("evidence.yaml")

_RULE = re.compile(r"^rule (?P<rule>[a-z_]+): (?P<words>.*?)(?P<notes>(?: \([a-z_:., 0-9]+\))*)$")
_MODEL = re.compile(r"^model (?P<intent>[a-z_]+) (?P<score>\d+(?:\.\d+)?)$")
_DOUBT = re.compile(r"model urgent (?P<score>\d+(?:\.\d+)?)")
_CHECKING = CASE_WORDS.reasons.checking_mark  # the engine's mark on a reason still being asked about


class Lines(Worded):
    """How a reason's line is written."""

    FILLED: ClassVar[Filled] = {
        "checking": ("reason",),
        "model": ("label", "percent"),
        "cue": ("words",),
        "doubted": ("percent",),
        "set_aside": ("labels",),
        "flagged": ("labels",),
    }
    checking: str
    model: str
    words_matched: str
    cue: str
    doubted: str
    set_aside: str
    flagged: str


class EvidenceWords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, str]
    modifiers: dict[str, str]
    model: dict[str, str]
    lines: Lines


@cache
def words(path: Path = EVIDENCE_FILE) -> EvidenceWords:
    return EvidenceWords.model_validate(load_yaml_file(path))


def explain(reason: str) -> str:
    """One reason as a coordinator reads it (see the module docstring for the forms it knows)."""
    known = words()
    if reason.startswith(_CHECKING):
        return known.lines.checking.format(reason=explain(reason.removeprefix(_CHECKING)))
    if found := _MODEL.match(reason):
        label = known.model.get(found["intent"], found["intent"])
        return known.lines.model.format(label=label, percent=_percent(found["score"]))
    found = _RULE.match(reason)
    if found is None:
        return reason
    cue = "・".join(f"「{word}」" for word in found["words"].split("+") if word)
    line = known.rules.get(found["rule"], known.lines.words_matched) + (
        known.lines.cue.format(words=cue) if cue else ""
    )
    for note in re.findall(r" \(([^()]*)\)", found["notes"]):
        line += " " + _note(note, known)
    return line


def _note(note: str, known: EvidenceWords) -> str:
    if doubt := _DOUBT.fullmatch(note):
        return known.lines.doubted.format(percent=_percent(doubt["score"]))
    names = note.removeprefix("set aside: ").split(", ")
    labels = "・".join(known.modifiers.get(name, name) for name in names)
    if note.startswith("set aside: "):
        return known.lines.set_aside.format(labels=labels)
    return known.lines.flagged.format(labels=labels)


def _percent(score: str) -> str:
    return f"{round(float(score) * 100)}%"
