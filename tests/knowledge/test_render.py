"""Placeholders: one fact in one place, never a guess."""

from __future__ import annotations

import pytest

from knowledge.errors import MissingFact
from knowledge.loader import KnowledgeBase
from knowledge.render import check_placeholder, placeholders


def test_it_fills_region_hub_line_and_resources(kb: KnowledgeBase) -> None:
    text = kb.render("{region.name}: {hub.phone} / {line.yorisoi}\n{resources.group_home}", "nemuro")
    assert text.startswith("根室圏域: 0153-73-3178 / よりそいホットライン 0120-279-338")
    assert "中標津町" in text


def test_a_missing_fact_is_an_error_not_a_blank(kb: KnowledgeBase) -> None:
    with pytest.raises(MissingFact, match=r"shiroi has no \{hub\.phone\}"):
        kb.render("電話は {hub.phone}", "shiroi")


@pytest.mark.parametrize(
    ("group", "name", "ok"),
    [
        ("hub", "phone", True),
        ("hub", "sources", False),
        ("line", "yorisoi", True),
        ("line", "nope", False),
        ("resources", "group_home", True),
        ("region", "towns", True),
        ("who", "x", False),
    ],
)
def test_placeholder_names_are_checked(group: str, name: str, ok: bool, kb: KnowledgeBase) -> None:
    assert (check_placeholder(group, name, kb.lines, {"group_home"}) is None) is ok


def test_it_finds_placeholders() -> None:
    assert placeholders("{hub.phone} と {line.dv-navi}") == [("hub", "phone"), ("line", "dv-navi")]
