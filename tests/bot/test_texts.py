"""The reply texts: every message the engine sends exists, and an unknown fact never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import Context
from bot.conversation.texts import TEXTS_FILE, Say, Texts, TextsError
from knowledge.loader import KnowledgeBase


def test_every_message_renders_in_every_region(ctx: Context) -> None:
    for region in ctx.kb.regions:
        for key in Say:
            for professional in (False, True):
                text = ctx.texts.say(key, region, professional=professional, minutes="5", town="別海町", name="佐藤")
                assert text and "{" not in text, (region, key, professional)


def test_a_missing_message_is_refused(tmp_path: Path, kb: KnowledgeBase) -> None:
    broken = tmp_path / "texts.yaml"
    broken.write_text(TEXTS_FILE.read_text("utf-8").replace("  thanks: |", "  thank_you: |", 1), "utf-8")
    with pytest.raises(TextsError, match=r"missing \['thanks'\], not used \['thank_you'\]"):
        Texts.load(kb, broken)


def test_an_indented_line_goes_with_the_line_above(ctx: Context) -> None:
    dropped = dict(ctx.texts.dropped_lines("shiroi"))
    assert dropped["caregiver_emergency"] == "{hub.name}に 電話してください。 / {hub.phone}（{hub.phone_hours}）"
    assert not ctx.texts.dropped_lines("nemuro")


def test_lines_are_short_enough_for_a_phone(ctx: Context) -> None:
    for key in Say:
        for line in ctx.texts.say(key, "nemuro").splitlines():
            assert len(line) <= 32, (key, line)
