"""The figures `madoguchi eval` prints, checked on predictions small enough to count by hand."""

from __future__ import annotations

import pytest

from intents.classifier import Classification
from intents.dataset import Example
from intents.evaluate import format_report, score
from intents.labels import Intent, Urgency


def example(intents: list[str], urgent: bool, text: str = "x") -> Example:
    return Example.model_validate({"text": text, "intents": intents, "urgent": urgent, "id": text})


def predicted(intents: list[Intent], urgent: bool, urgency: Urgency | None = None) -> Classification:
    level = urgency or (Urgency.NOW if urgent else Urgency.NONE)
    return Classification(tuple(intents), {}, level, ("rule",) if level == Urgency.NOW else ())


def test_it_counts() -> None:
    gold = [
        example(["crisis"], True, "a"),
        example(["crisis"], True, "b"),
        example(["faq"], False, "c"),
        example(["other"], False, "d"),
    ]
    guess = [
        predicted([Intent.CRISIS], True),
        predicted([Intent.OTHER], False),  # a missed emergency
        predicted([Intent.FAQ, Intent.CRISIS], True),  # a false alarm
        predicted([Intent.OTHER], False),
    ]
    report = score(gold, guess)
    crisis = next(s for s in report.per_intent if s.intent == "crisis")
    assert (crisis.precision, crisis.recall, crisis.f1) == pytest.approx((0.5, 0.5, 0.5))
    assert report.urgent_recall == pytest.approx(0.5)
    assert report.false_page_rate == pytest.approx(0.5)
    assert report.confusion["crisis"]["other"] == 1
    assert [m.example.id for m in report.misses] == ["b", "c"]
    assert report.misses[0].urgent_missed
    text = format_report(report, "t")
    assert "urgent recall       0.500   (1/2" in text and "!! b" in text


def test_targets() -> None:
    gold = [example(["crisis"], True, "a"), example(["faq"], False, "b")]
    assert score(gold, [predicted([Intent.CRISIS], True), predicted([Intent.FAQ], False)]).meets_targets()
    assert not score(gold, [predicted([Intent.OTHER], False), predicted([Intent.FAQ], False)]).meets_targets()


def test_a_check_catches_an_urgent_message_and_is_a_false_check_on_a_calm_one() -> None:
    gold = [example(["crisis"], True, "a"), example(["crisis"], True, "b"), example(["other"], False, "c")]
    guess = [
        predicted([Intent.CRISIS], False, Urgency.CHECK),  # caught: the bot asks at once
        predicted([Intent.CRISIS], True),  # paged
        predicted([Intent.OTHER], False, Urgency.CHECK),  # asked for nothing
    ]
    report = score(gold, guess)
    assert report.urgent_recall == pytest.approx(1.0)
    assert report.paged_share == pytest.approx(0.5)
    assert (report.false_page_rate, report.false_check_rate) == pytest.approx((0.0, 1.0))
    assert [m.example.id for m in report.misses] == ["c"]
    assert not report.misses[0].urgent_missed and not report.misses[0].false_page
