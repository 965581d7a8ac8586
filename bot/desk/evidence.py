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

from pydantic import BaseModel, ConfigDict

from intents.yamlfile import load_yaml_file

EVIDENCE_FILE = Path(__file__).with_name("evidence.yaml")

_RULE = re.compile(r"^rule (?P<rule>[a-z_]+): (?P<words>.*?)(?P<notes>(?: \([a-z_:., 0-9]+\))*)$")
_MODEL = re.compile(r"^model (?P<intent>[a-z_]+) (?P<score>\d+(?:\.\d+)?)$")
_DOUBT = re.compile(r"model urgent (?P<score>\d+(?:\.\d+)?)")
_CHECKING = "確認中: "


class EvidenceWords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, str]
    modifiers: dict[str, str]
    model: dict[str, str]


@cache
def words(path: Path = EVIDENCE_FILE) -> EvidenceWords:
    return EvidenceWords.model_validate(load_yaml_file(path))


def explain(reason: str) -> str:
    """One reason as a coordinator reads it (see the module docstring for the forms it knows)."""
    if reason.startswith(_CHECKING):
        return f"確認中（本人に 質問しています）: {explain(reason.removeprefix(_CHECKING))}"
    known = words()
    if found := _MODEL.match(reason):
        label = known.model.get(found["intent"], found["intent"])
        return f"文全体の 読み取り: {label}（確からしさ {_percent(found['score'])}）"
    found = _RULE.match(reason)
    if found is None:
        return reason
    cue = "・".join(f"「{word}」" for word in found["words"].split("+") if word)
    line = known.rules.get(found["rule"], "ことばの 一致") + (f"（ことば: {cue}）" if cue else "")
    for note in re.findall(r" \(([^()]*)\)", found["notes"]):
        line += _note(note, known)
    return line


def _note(note: str, known: EvidenceWords) -> str:
    if doubt := _DOUBT.fullmatch(note):
        return f" — 文全体の 読み取りでは 緊急の 可能性が 低い（{_percent(doubt['score'])}）ため、確認"
    names = note.removeprefix("set aside: ").split(", ")
    labels = "・".join(known.modifiers.get(name, name) for name in names)
    if note.startswith("set aside: "):
        return f" — 考えに 入れていません（{labels}）"
    return f" — {labels} として 書かれているため、確認"


def _percent(score: str) -> str:
    return f"{round(float(score) * 100)}%"
