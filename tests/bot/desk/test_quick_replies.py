"""The quick replies of the case page: each region's canned texts, with the name the person knows."""

from __future__ import annotations

import re

import pytest

from bot.desk.quick_replies import for_case
from knowledge.loader import KnowledgeBase
from knowledge.schema import QuickReply

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@pytest.mark.parametrize("region", ["nemuro", "higashi_iburi", "shiroi"])
@pytest.mark.parametrize("name", ["佐藤", None])
def test_every_region_offers_six_to_eight_filled_replies(kb: KnowledgeBase, region: str, name: str | None) -> None:
    replies = for_case(kb, region, name)
    assert 6 <= len(replies) <= 8
    for reply in replies:
        assert not PLACEHOLDER.search(reply.text), reply  # nothing left unfilled
        assert reply.text.strip() == reply.text and reply.label


def test_the_name_the_person_was_told_is_filled_in(kb: KnowledgeBase) -> None:
    named = {reply.label: reply.text for reply in for_case(kb, "nemuro", "佐藤")}
    assert named["電話して よいか"].startswith("相談員の 佐藤です。")
    role_only = {reply.label: reply.text for reply in for_case(kb, "nemuro", None)}
    assert role_only["電話して よいか"].startswith("相談員です。")
    assert "佐藤" not in "".join(role_only.values())


def test_a_reply_whose_fact_is_unknown_in_the_region_is_left_out(kb: KnowledgeBase) -> None:
    assert kb.region("nemuro").hub.phone == "0153-73-3178"
    nemuro = {reply.label: reply.text for reply in for_case(kb, "nemuro", "佐藤")}
    assert "0153-73-3178" in nemuro["センターの 番号"]
    assert kb.region("shiroi").hub.phone is None  # never guessed, so never offered
    assert "センターの 番号" not in {reply.label for reply in for_case(kb, "shiroi", "佐藤")}


def test_a_name_is_never_read_as_a_placeholder(kb: KnowledgeBase) -> None:
    replies = for_case(kb, "nemuro", "{hub.phone}")
    assert any("相談員の {hub.phone}です" in reply.text for reply in replies)


def test_an_unknown_region_has_no_quick_replies(kb: KnowledgeBase) -> None:
    assert for_case(kb, "atlantis", "佐藤") == []


def test_the_schema_asks_for_an_anonymous_twin_of_a_named_text() -> None:
    with pytest.raises(ValueError, match="needs `anonymous`"):
        QuickReply(label="名のる", text="相談員の {name}です。")
    with pytest.raises(ValueError, match="no \\{name\\}"):
        QuickReply(label="名のる", text="相談員の {name}です。", anonymous="{name}です。")
    with pytest.raises(ValueError, match="unknown placeholders"):
        QuickReply(label="名のる", text="{coordinator}です。")
    assert QuickReply(label="待って", text="少し 待っていてください。").anonymous is None
