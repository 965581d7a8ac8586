"""The classifier's decisions and their guarantees, on the domain brief's own examples."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intents import Classifier, Intent, Urgency
from intents.classifier import NOW_FLOOR
from intents.dataset import DEV_FILE, load_examples
from intents.labels import URGENT
from intents.model import LinearModel

DECISIONS = [
    ("母が入院予定だが介護者がいなくて困っている", Intent.CAREGIVER_EMERGENCY, True),
    (
        "夜分にすみません。母が倒れて救急車で運ばれました。知的障がいの弟が家に一人です",
        Intent.CAREGIVER_EMERGENCY,
        True,
    ),
    ("もう死にたい", Intent.CRISIS, True),
    ("彼氏に殴られた。家に帰りたくない", Intent.DEBT_OR_ABUSE, True),
    ("自己破産ってどうやるの？", Intent.DEBT_OR_ABUSE, False),
    ("グループホームの体験入居をしてみたいです", Intent.TRIAL_STAY, False),
    ("障がいがあってアパートの入居を断られました。部屋を探しています", Intent.HOUSING_SEARCH, False),
    ("家を追い出されて今夜寝るところがありません", Intent.HOUSING_SEARCH, True),
    ("相談の受付は何時までですか？", Intent.FAQ, False),
    ("こんにちは", Intent.OTHER, False),
    ("大学の体験入学に行ってきました", Intent.OTHER, False),
    ("虐待のニュースを見て心配になりました", Intent.OTHER, False),
]


@pytest.mark.parametrize(("text", "intent", "urgent"), DECISIONS)
def test_it_decides(classifier: Classifier, text: str, intent: Intent, urgent: bool) -> None:
    result = classifier.classify(text)
    assert intent in result.intents, result.to_json()
    assert result.urgent is urgent, result.to_json()
    assert result.urgent is (result.urgency == Urgency.NOW)


# The kinds of message the understanding issue found mishandled, one example per kind.
RISK_KINDS = [
    # A wish to die with a time word elsewhere, in chat written with a space for 。: ongoing, not past.
    ("いじめは一年くらい前からです 死にたいってずっと思ってます", Urgency.NOW),
    ("死にたいって昔から思ってます", Urgency.NOW),
    # Ongoing violence told with frequency words.
    ("父に時々殴られます。ひどい時には物を投げられたりします", Urgency.NOW),
    # Threats to others.
    ("明日学校であいつを殺したい", Urgency.NOW),
    # Someone else's medical emergency.
    ("ばあちゃん息してない", Urgency.NOW),
]


@pytest.mark.parametrize(("text", "urgency"), RISK_KINDS)
def test_risk_is_read_whatever_the_wording(classifier: Classifier, text: str, urgency: Urgency) -> None:
    result = classifier.classify(text)
    assert result.urgency == urgency, result.to_json()


@pytest.mark.parametrize(
    "text",
    [
        "前は死にたいと思ってた時期もありました",  # past: a risk cue is lowered to a check, never to nothing
        "もし死にたくなったらどうすればいいですか",  # hypothetical
        "5年前に元夫から暴力を受けていました",  # violence long ago
        "闇金から借りてしまって毎日電話がきます",  # a check-level cue (lenders chasing)
    ],
)
def test_a_risk_cue_set_aside_by_time_or_mood_is_still_asked_about(classifier: Classifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.urgency != Urgency.NONE, result.to_json()
    assert result.check_because or result.urgent_because


@pytest.mark.parametrize(
    "text",
    [
        "死にたいとかじゃないです",  # negated in its own clause
        "課題が多すぎて死ぬほど眠い",  # hyperbole: another sense
        "虐待のニュースを見て心配になりました",  # the news
    ],
)
def test_only_a_plain_negation_or_another_sense_clears_a_risk_cue(classifier: Classifier, text: str) -> None:
    assert classifier.classify(text).urgency == Urgency.NONE


def test_the_model_alone_asks_rather_than_pages_unless_it_is_very_sure(classifier: Classifier) -> None:
    # A model whose only opinion is "urgent, 0.8": above any check threshold, below the floor for paging.
    labels = classifier.model.labels
    intercepts = tuple(1.386 if label == URGENT else -20.0 for label in labels)  # sigmoid(1.386) = 0.8
    unsure = LinearModel(labels, intercepts, {}, {**classifier.model.thresholds, "urgent_check": 0.5})
    result = Classifier(classifier.lexicon, unsure, classifier.tokenizer).classify("きょうは なんか へん")
    assert NOW_FLOOR > 0.8
    assert result.urgency == Urgency.CHECK, result.to_json()
    assert result.check_because == ("model urgent 0.80",)


def _sure_of_everything(classifier: Classifier) -> Classifier:
    """The classifier with a model that says "urgent, crisis, 1.00" to any text."""
    labels = classifier.model.labels
    sure = LinearModel(labels, tuple(20.0 for _ in labels), {}, classifier.model.thresholds)
    return Classifier(classifier.lexicon, sure, classifier.tokenizer)


@pytest.mark.parametrize(
    "text",
    [
        "前リスカしてた",  # a cue the context lowered (a message that opens with 前 and ends in the past)
        "まえ しにたい おもった",
        "つかれた もう限界かも",  # only words of how heavy things feel, no rule
        "かれしの介護もう疲れた 限界かも",
    ],
)
def test_a_sure_model_does_not_overrule_the_context_it_asks(classifier: Classifier, text: str) -> None:
    result = _sure_of_everything(classifier).classify(text)
    assert result.urgency == Urgency.CHECK, result.to_json()
    assert any(reason.startswith("model urgent") for reason in result.check_because)


@pytest.mark.parametrize("text", ["しにたい", "前からリスカしてる", "もう限界、消えたい", "駅の前でリスカした"])
def test_a_sure_model_still_pages_when_no_context_tempers_the_cue(classifier: Classifier, text: str) -> None:
    assert _sure_of_everything(classifier).classify(text).urgency == Urgency.NOW


def test_an_urgent_decision_says_why(classifier: Classifier) -> None:
    result = classifier.classify("しにたい")
    assert result.urgent
    assert any(reason.startswith("rule suicidal_words") for reason in result.urgent_because)
    assert any("suicidal_words" in item.describe() for item in result.evidence)


def test_a_set_aside_cue_is_shown_with_its_reason(classifier: Classifier) -> None:
    result = classifier.classify("虐待はされていません")
    assert "rule violence_or_abuse: 虐待 (set aside: negated)" in [e.describe() for e in result.evidence]


def test_the_model_cannot_take_away_what_a_rule_found(classifier: Classifier) -> None:
    # A model that has learnt nothing but "never crisis, never urgent": it may doubt the rule's cue
    # down to a check (the bot asks at once), never to nothing, and the intent stays.
    hostile = LinearModel(
        labels=classifier.model.labels,
        intercepts=tuple(-20.0 for _ in classifier.model.labels),
        weights={},
        thresholds=classifier.model.thresholds,
    )
    result = Classifier(classifier.lexicon, hostile, classifier.tokenizer).classify("しにたい")
    assert result.urgency == Urgency.CHECK and Intent.CRISIS in result.intents
    assert "rule suicidal_words: しにたい (model urgent 0.00)" in result.check_because


def test_a_rule_the_model_does_not_doubt_pages(classifier: Classifier) -> None:
    labels = classifier.model.labels
    agreeing = LinearModel(labels, tuple(0.0 for _ in labels), {}, classifier.model.thresholds)  # every p = 0.5
    result = Classifier(classifier.lexicon, agreeing, classifier.tokenizer).classify("しにたい")
    assert result.urgency == Urgency.NOW and "rule suicidal_words: しにたい" in result.urgent_because


def test_other_is_never_combined(classifier: Classifier) -> None:
    for text in ("こんにちは", "ありがとう", "体験入居したい。こんにちは"):
        intents = classifier.classify(text).intents
        assert Intent.OTHER not in intents or intents == (Intent.OTHER,)


def test_crisis_and_caregiver_emergency_are_always_raised(classifier: Classifier) -> None:
    for text, *_ in [*DECISIONS, *RISK_KINDS]:
        result = classifier.classify(text)
        if {Intent.CRISIS, Intent.CAREGIVER_EMERGENCY} & set(result.intents):
            assert result.urgency != Urgency.NONE


def test_the_json_form_is_plain_data(classifier: Classifier) -> None:
    data = json.loads(json.dumps(classifier.classify("母が倒れた").to_json(), ensure_ascii=False))
    assert set(data) == {"intents", "scores", "urgency", "urgent", "urgent_because", "check_because", "evidence"}
    assert data["urgency"] == "now" and data["urgent"] is True
    assert set(data["scores"]) >= {str(i) for i in Intent}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_a_decision(classifier: Classifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intents
    assert all(0.0 <= score <= 1.0 for score in result.scores.values())


def test_threads_classifying_at_once_read_exactly_what_one_thread_reads(classifier: Classifier) -> None:
    """The web app classifies in a thread pool; MeCab's tagger is not safe to share without the lock."""
    texts = [example.text for example in load_examples(DEV_FILE)][:300]
    alone = [(r.intents, r.urgency) for r in map(classifier.classify, texts)]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            together = [(r.intents, r.urgency) for r in pool.map(classifier.classify, texts)]
            assert together == alone
