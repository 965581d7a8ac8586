"""Scoring the classifier on a labelled file: the figures ``madoguchi eval`` prints.

Per intent: precision, recall and F1, counting each intent of a message as one
binary decision (messages can carry several). Macro-F1 is their plain mean over
the intents that were labelled or predicted (all seven, on any real split).

Urgency has three levels (``now``, ``check``, ``none``) and the labels one bit, so:
urgent recall is the share of urgent messages *caught* (``now`` or ``check``: a
check asks at once and pages on the answer); the paged share is how many of them
page at once; false pages and false checks are the shares of non-urgent messages
read ``now`` and ``check``. False pages are the number the domain brief says gets
a bot switched off. The confusion table counts, for each true
intent (row), the messages whose prediction included each intent (column), so
the diagonal is the hits and the rest shows what it was taken for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from intents.classifier import Classification
from intents.dataset import Example
from intents.labels import INTENTS, Urgency

TARGETS = {"urgent_recall": 0.98, "false_page_rate": 0.05, "macro_f1": 0.90}


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Miss:
    example: Example
    predicted: Classification

    @property
    def urgent_missed(self) -> bool:
        return self.example.urgent and self.predicted.urgency == Urgency.NONE

    @property
    def false_page(self) -> bool:
        return not self.example.urgent and self.predicted.urgency == Urgency.NOW


@dataclass(frozen=True)
class Report:
    size: int
    per_intent: tuple[IntentScore, ...]
    macro_f1: float
    urgent_recall: float  # now or check
    paged_share: float  # of the urgent ones, paged at once
    false_page_rate: float
    false_check_rate: float
    urgent_count: int
    non_urgent_count: int
    exact_match: float
    confusion: dict[str, dict[str, int]]
    misses: tuple[Miss, ...]

    def meets_targets(self) -> bool:
        return (
            self.urgent_recall >= TARGETS["urgent_recall"]
            and self.false_page_rate <= TARGETS["false_page_rate"]
            and self.macro_f1 >= TARGETS["macro_f1"]
        )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def score(examples: Sequence[Example], predictions: Sequence[Classification]) -> Report:
    if len(examples) != len(predictions):
        raise ValueError("one prediction per example")
    per_intent = []
    for intent in INTENTS:
        tp = fp = fn = 0
        for example, predicted in zip(examples, predictions, strict=True):
            gold, guess = intent in example.intents, intent in predicted.intents
            tp += gold and guess
            fp += guess and not gold
            fn += gold and not guess
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        per_intent.append(IntentScore(intent, precision, recall, f1, tp + fn))
    urgent = [p.urgency for e, p in zip(examples, predictions, strict=True) if e.urgent]
    calm = [p.urgency for e, p in zip(examples, predictions, strict=True) if not e.urgent]
    confusion: dict[str, dict[str, int]] = {str(row): dict.fromkeys(map(str, INTENTS), 0) for row in INTENTS}
    for example, predicted in zip(examples, predictions, strict=True):
        for true_intent in example.intents:
            for guessed_intent in predicted.intents:
                confusion[true_intent][guessed_intent] += 1
    misses = tuple(
        Miss(example, predicted)
        for example, predicted in zip(examples, predictions, strict=True)
        if set(example.intents) != set(predicted.intents)
        or (example.urgent and predicted.urgency == Urgency.NONE)
        or (not example.urgent and predicted.urgency != Urgency.NONE)
    )
    # An intent nobody labelled and nothing predicted has no F1 at all; it is left out of the mean.
    predicted_any = {intent for p in predictions for intent in p.intents}
    counted = [item for item in per_intent if item.support or item.intent in predicted_any]
    return Report(
        size=len(examples),
        per_intent=tuple(per_intent),
        macro_f1=sum(item.f1 for item in counted) / len(counted) if counted else 0.0,
        urgent_recall=_ratio(sum(level != Urgency.NONE for level in urgent), len(urgent)),
        paged_share=_ratio(urgent.count(Urgency.NOW), len(urgent)),
        false_page_rate=_ratio(calm.count(Urgency.NOW), len(calm)),
        false_check_rate=_ratio(calm.count(Urgency.CHECK), len(calm)),
        urgent_count=len(urgent),
        non_urgent_count=len(calm),
        exact_match=_ratio(len(examples) - len(misses), len(examples)),
        confusion=confusion,
        misses=misses,
    )


def _short(name: str) -> str:
    return {
        "caregiver_emergency": "carer",
        "debt_or_abuse": "debt/ab",
        "trial_stay": "trial",
        "housing_search": "housing",
    }.get(name, name)


def format_report(report: Report, name: str, show_misses: bool = True) -> str:
    lines = [f"{name}: {report.size} messages", "", f"{'intent':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'n':>6}"]
    lines += [
        f"{s.intent:<22}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}{s.support:>6}" for s in report.per_intent
    ]
    verdict = "meets" if report.meets_targets() else "DOES NOT meet"
    caught = round(report.urgent_recall * report.urgent_count)
    paged = round(report.paged_share * report.urgent_count)
    pages = round(report.false_page_rate * report.non_urgent_count)
    checks = round(report.false_check_rate * report.non_urgent_count)
    lines += [
        "",
        f"macro-F1            {report.macro_f1:.3f}   (target >= {TARGETS['macro_f1']})",
        f"urgent recall       {report.urgent_recall:.3f}   ({caught}/{report.urgent_count} caught: now or check; "
        f"target >= {TARGETS['urgent_recall']})",
        f"  paged at once     {report.paged_share:.3f}   ({paged}/{report.urgent_count} now)",
        f"false pages         {report.false_page_rate:.3f}   ({pages}/{report.non_urgent_count} non-urgent read now; "
        f"target <= {TARGETS['false_page_rate']})",
        f"false checks        {report.false_check_rate:.3f}   ({checks}/{report.non_urgent_count} non-urgent "
        "read check)",
        f"exact match         {report.exact_match:.3f}",
        f"-> {verdict} the targets",
        "",
        "confusion (row: true intent, column: predicted intents that included it)",
        " " * 10 + "".join(f"{_short(i):>9}" for i in INTENTS),
    ]
    lines += [f"{_short(g):<10}" + "".join(f"{report.confusion[g][p]:>9}" for p in INTENTS) for g in INTENTS]
    if show_misses:
        urgent_first = sorted(report.misses, key=lambda m: not m.urgent_missed)
        lines += ["", f"misses ({len(report.misses)}):"]
        for miss in urgent_first:
            gold = ",".join(miss.example.intents) + (" URGENT" if miss.example.urgent else "")
            level = miss.predicted.urgency
            got = ",".join(miss.predicted.intents) + ("" if level == Urgency.NONE else f" {level.upper()}")
            flag = "!! " if miss.urgent_missed else "^^ " if miss.false_page else "   "
            lines.append(f"{flag}{miss.example.id:<9} want {gold:<42} got {got}")
            lines.append(f"{'':12}{miss.example.text[:110]}")
            why = "; ".join(e.describe() for e in miss.predicted.evidence) or "no rule, no model evidence"
            lines.append(f"{'':12}[{why[:160]}]")
    return "\n".join(lines)


def format_everyday(predictions: Sequence[Classification], examples: Sequence[Example], show_misses: bool) -> str:
    """Ordinary talk, none of it urgent: how much of it would page, ask, or be read as a welfare topic."""
    size = max(1, len(predictions))
    now = [e for e, p in zip(examples, predictions, strict=True) if p.urgency == Urgency.NOW]
    asked = [e for e, p in zip(examples, predictions, strict=True) if p.urgency == Urgency.CHECK]
    welfare = sum(1 for p in predictions if set(p.intents) - {"other", "faq"})
    lines = [
        f"everyday corpus, held-out part: {len(predictions)} messages (none urgent)",
        f"paged now           {len(now) / size:.4f}   ({len(now)}; target <= 0.005)",
        f"checked             {len(asked) / size:.4f}   ({len(asked)}; target <= 0.02)",
        f"given a welfare intent {welfare / size:.4f}   ({welfare})",
    ]
    if show_misses:
        lines += ["", "paged or checked:"]
        lines += [f"   {e.id:<16}{'NOW' if e in now else 'check'}  {e.text[:100]}" for e in [*now, *asked]]
    return "\n".join(lines)
