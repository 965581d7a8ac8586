"""The coordinator's Japanese is data (``bot/desk/labels.yaml``): every key the code uses is there, and the
code uses every key.

Keys reached as attributes (``WORDS.page.title``) are checked by mypy against the schema; this test
checks the rest by reading the code: the codes that name a label (intents, directions, the kinds of
case events, the flash and problem codes, the page reasons), and that every field of the schema is
read somewhere in ``bot/``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from bot.channels import line, telegram
from bot.channels.media import MediaKind, MediaWords, media_name
from bot.conversation.casewords import CASEWORDS_FILE, CaseWords, casewords
from bot.conversation.model import Slot
from bot.desk import labels as labels_module
from bot.desk.evidence import EvidenceWords
from bot.desk.labels import LABELS_FILE, WORDS, Labels, duration, labels
from intents.labels import Intent
from storage.models import Direction

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "storage").glob("*.py")])


def _trees() -> Iterator[ast.AST]:
    for path in SOURCES:
        yield ast.parse(path.read_text("utf-8"), str(path))


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _constants(node: ast.expr | None) -> Iterator[str]:
    """The strings an argument can be: a constant, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _constants(node.body)
        yield from _constants(node.orelse)


def _calls() -> Iterator[ast.Call]:
    for tree in _trees():
        yield from (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def test_every_intent_and_direction_has_a_name_and_no_other() -> None:
    assert set(WORDS.intents) == {str(intent) for intent in Intent}
    assert set(WORDS.who) == {str(direction) for direction in Direction}


def test_every_kind_of_case_event_the_code_writes_has_a_label_and_no_other() -> None:
    written: set[str] = set()
    for call in _calls():
        if _name(call) == "add_event" and (kind := _keyword(call, "kind")) is not None:
            found = set(_constants(kind))
            assert found, f"add_event with a kind the test cannot read: line {call.lineno}"
            written |= found
    assert written - set(WORDS.events) == set(), "event kinds without words in bot/desk/labels.yaml"
    assert set(WORDS.events) - written == set(), "words for event kinds nothing writes"


def test_every_flash_code_the_pages_use_has_words_and_no_other() -> None:
    used: set[str] = set()
    for call in _calls():
        if _name(call) in {"_back", "_act"} and len(call.args) >= 2:
            used |= set(_constants(call.args[1]))
        used |= set(_constants(_keyword(call, "flash")))
    for tree in _trees():
        for node in ast.walk(tree):
            # 「通知の 設定」 has its own words for its notices (bot/desk/notify.yaml, tested with that page).
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "/notify" not in node.value:
                used |= set(re.findall(r"[?&]m=([a-z_]+)", node.value))
    assert used - set(WORDS.flash) == set(), "flash codes without words"
    assert set(WORDS.flash) - used == set(), "flash words nothing shows"
    assert set(labels_module.BAD_FLASH) <= set(WORDS.flash)


def test_every_casework_problem_has_words_and_no_other() -> None:
    raised = {
        code for call in _calls() if _name(call) in {"CaseworkError", "NotFound"} for code in _constants(call.args[0])
    }
    assert raised - set(WORDS.problems) == set(), "problem codes without words"
    assert set(WORDS.problems) - raised == set(), "problem words nothing raises"


def test_every_page_reason_has_words_and_no_other() -> None:
    given: set[str] = set()
    for call in _calls():
        if _name(call) in {"page_claimer", "add_event"}:
            given |= set(_constants(_keyword(call, "reason")))
        if _name(call) == "_page_payload" and len(call.args) >= 4:
            given |= set(_constants(call.args[3]))
    assert given == set(WORDS.page.reasons)


def _fields(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, field name) of every field, nested models included."""
    for name, info in model.model_fields.items():
        yield f"{path}{name}", name
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            yield from _fields(kind, f"{path}{name}.")


@pytest.mark.parametrize("model", [Labels, EvidenceWords, CaseWords])
def test_every_key_of_the_schema_is_read_by_the_code(model: type[BaseModel]) -> None:
    read = {node.attr for tree in _trees() for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    unread = [path for path, name in _fields(model) if name not in read]
    assert unread == [], f"keys of {model.__name__} that no code reads"


def test_a_missing_key_or_a_template_without_its_field_fails_the_load(tmp_path: Path) -> None:
    text = LABELS_FILE.read_text("utf-8")
    without = tmp_path / "without.yaml"
    without.write_text(text.replace("demo_name: デモ相談員\n", ""), "utf-8")
    with pytest.raises(ValueError, match="demo_name"):
        labels(without)
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace('title: "{head}まどぐち ケース #{case}（{why}）"', "title: まどぐち"), "utf-8")
    with pytest.raises(ValueError, match="lacks"):
        labels(broken)
    extra = tmp_path / "extra.yaml"
    extra.write_text(text + "unknown_section: x\n", "utf-8")
    with pytest.raises(ValueError, match="unknown_section"):
        labels(extra)


@pytest.mark.parametrize(
    ("minutes", "shown"), [(0.4, "1分 未満"), (1, "1分"), (119.4, "119分"), (120, "2時間"), (125, "2時間5分")]
)
def test_durations_read_as_before(minutes: float, shown: str) -> None:
    assert duration(minutes) == shown


def test_every_intake_question_has_a_name_for_the_coordinator(tmp_path: Path) -> None:
    assert casewords().slots.keys() == set(Slot)
    without = tmp_path / "casewords.yaml"
    without.write_text(CASEWORDS_FILE.read_text("utf-8").replace("  phone: 電話番号\n", ""), "utf-8")
    with pytest.raises(ValueError, match="phone"):
        casewords(without)


def test_every_kind_of_media_has_words_and_a_channel_that_names_it() -> None:
    kinds = set(get_args(MediaKind))
    assert set(MediaWords.model_fields) == kinds
    named = set(line.MEDIA_KINDS.values()) | {kind for _, kind in telegram.MEDIA_KINDS} | {"other"}
    assert named == kinds, "media words no channel uses"
    assert media_name(None) == media_name("other") == "（メッセージ）"
