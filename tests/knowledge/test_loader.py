"""The knowledge base: every shipped file is valid, and a broken one is reported precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.errors import InvalidKnowledge, UnknownRegion
from knowledge.loader import DATA_DIR, KnowledgeBase, check, load_knowledge
from knowledge.schema import FaqEntry, Hub


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_the_shipped_knowledge_base_has_no_problems() -> None:
    kb, problems = check()
    assert problems == [] and kb is not None
    assert set(kb.regions) == {"nemuro", "higashi_iburi", "shiroi"}


def test_the_default_region_answers_at_least_forty_questions(kb: KnowledgeBase) -> None:
    answers = kb.answers("nemuro")
    assert len(answers) >= 40
    assert all(len(answer.entry.questions) >= 3 for answer in answers)
    assert all("{" not in answer.text and "}" not in answer.text for answer in answers)


def test_the_nemuro_hub_facts_match_the_fact_sheet(kb: KnowledgeBase) -> None:
    hub = kb.region("nemuro").hub
    assert (hub.phone, hub.fax) == ("0153-73-3178", "0153-73-3179")
    assert "中標津町東4条南4丁目9番地1" in (hub.address or "")
    assert any(ref.ref == "seed-002" for ref in hub.sources)


def test_every_fact_names_a_source_and_a_date(kb: KnowledgeBase) -> None:
    facts = [kb.region(r).hub for r in kb.regions] + [res for r in kb.regions.values() for res in r.resources]
    facts += list(kb.lines.values()) + [e for entries in kb.faq.values() for e in entries]
    for fact in facts:
        assert fact.sources and all(ref.ref in kb.sources and ref.checked for ref in fact.sources)


def test_an_unconfirmed_phone_is_never_shown(kb: KnowledgeBase) -> None:
    assert kb.region("shiroi").hub.phone is None
    missing = dict(kb.unavailable("shiroi"))
    assert "phone-number" in missing
    assert all(answer.id != "phone-number" for answer in kb.answers("shiroi"))


def test_an_unknown_region_is_named(kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownRegion, match="known: higashi_iburi, nemuro, shiroi"):
        kb.region("tokyo")


@pytest.mark.parametrize(
    ("file", "old", "new", "where"),
    [
        ("regions/nemuro.yaml", "phone: 0153-73-3178", "phone: 0153733178", "regions/nemuro.yaml: [hub -> phone]"),
        ("faq/common.yaml", "- id: office-hours", "- id: Office Hours", "faq/common.yaml: [entries -> 0 -> id]"),
        (
            "faq/common.yaml",
            "    topics: [contact, hours]",
            "    topic: [contact]",
            "faq/common.yaml: [entries -> 0 -> topic]",
        ),
        ("faq/common.yaml", "{hub.office_hours}", "{hub.opening}", "faq/common.yaml: [entries -> 0 -> answer]"),
        ("regions/nemuro.yaml", "ref: seed-002", "ref: seed-999", "regions/nemuro.yaml: [hub -> sources -> 0 -> ref]"),
        # Quick replies: a {name} without its anonymous twin, a placeholder nobody fills, an unknown fact.
        (
            "regions/nemuro.yaml",
            "    anonymous: 相談員です。メッセージを 読みました。いま お電話しても よいですか？\n",
            "",
            "regions/nemuro.yaml: [quick_replies -> 1]",
        ),
        (
            "regions/nemuro.yaml",
            "電話番号を 教えてください。",
            "{phone} を 教えてください。",
            "regions/nemuro.yaml: [quick_replies -> 2]",
        ),
        (
            "regions/nemuro.yaml",
            "電話は {hub.phone} です",
            "電話は {hub.mobile} です",
            "regions/nemuro.yaml: [quick_replies -> 7]",
        ),
        ("regions/shiroi.yaml", "label: 少し 待って", "label: 119に", "regions/shiroi.yaml: [quick_replies]"),
    ],
)
def test_a_broken_file_is_reported_with_file_entry_and_field(
    tmp_path: Path, file: str, old: str, new: str, where: str
) -> None:
    data = copy_data(tmp_path)
    edit(data / file, old, new)
    kb, problems = check(data)
    assert kb is None
    assert any(str(problem).startswith(where) for problem in problems), [str(p) for p in problems]
    with pytest.raises(InvalidKnowledge):
        load_knowledge(data)


def test_a_duplicate_faq_id_is_refused(tmp_path: Path) -> None:
    data = copy_data(tmp_path)
    edit(data / "faq/nemuro.yaml", "- id: nemuro-fax-email", "- id: office-hours")
    _, problems = check(data)
    assert "faq: [office-hours] FAQ id used more than once" in [str(p) for p in problems]


def test_schema_rejects_guesses() -> None:
    with pytest.raises(ValueError, match="phone number"):
        Hub.model_validate(
            {"name": "x", "kind": "x", "phone": "0000", "phone_hours": "x", "night_contact": "x", "sources": []}
        )
    with pytest.raises(ValueError, match="at least 3"):
        FaqEntry.model_validate({"id": "a", "questions": ["q"], "answer": "long enough answer", "sources": []})
