"""The reasons for urgency read as Japanese: every rule, modifier and intent has words, and no id shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.desk.evidence import explain, words
from intents.labels import Intent
from intents.yamlfile import load_yaml_file

RULES = Path(__file__).resolve().parents[3] / "intents" / "lexicon" / "rules.yaml"
MODIFIERS = ("negated", "past", "resolved", "reported", "hypothetical", "future", "mention", "not_now", "other_sense")


def test_every_rule_modifier_and_intent_has_words() -> None:
    rules = {rule["id"] for rule in load_yaml_file(RULES)["rules"]}
    known = words()
    assert rules - set(known.rules) == set(), "rules without words in bot/desk/evidence.yaml"
    assert set(known.rules) - rules == set(), "words for rules that no longer exist"
    assert set(MODIFIERS) <= set(known.modifiers)
    assert {str(intent) for intent in Intent} | {"urgent"} <= set(known.model)


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("rule carer_taken_ill: 倒れ+母", "介護者の 急病・入院（ことば: 「倒れ」・「母」）"),
        ("model urgent 1.00", "文全体の 読み取り: 緊急（確からしさ 100%）"),
        ("model crisis 0.83", "文全体の 読み取り: いのちの 危険（確からしさ 83%）"),
        (
            "rule violence_or_abuse: 虐待 (set aside: negated)",
            "暴力・虐待（ことば: 「虐待」） — 考えに 入れていません（打ち消されている）",
        ),
        (
            "確認中: rule suicidal_words: 死にたい (past)",
            "確認中（本人に 質問しています）: 死にたい・消えたい などの ことば（ことば: 「死にたい」）"
            " — 過去の こと として 書かれているため、確認",
        ),
        (
            "rule suicidal_words: 死にたい (model urgent 0.05)",
            "死にたい・消えたい などの ことば（ことば: 「死にたい」）"
            " — 文全体の 読み取りでは 緊急の 可能性が 低い（5%）ため、確認",
        ),
        ("rule debt: 借金(笑) (past)", "借金（ことば: 「借金(笑)」） — 過去の こと として 書かれているため、確認"),
        ("rule a_rule_added_later: 何か", "ことばの 一致（ことば: 「何か」）"),
        ("本人が担当者との会話を希望", "本人が担当者との会話を希望"),
    ],
)
def test_a_reason_reads_as_japanese(reason: str, shown: str) -> None:
    assert explain(reason) == shown
