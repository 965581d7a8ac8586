"""Scoring the classifier on a labelled file: the figures ``madoguchi eval`` prints.

Per intent: precision, recall and F1, counting each intent of a message as one
binary decision (messages can carry several). Macro-F1 is their plain mean over
the intents that were labelled or predicted (all seven, on any real split).
Urgent recall is the share of urgent messages flagged urgent; the false-urgent
rate is the share of non-urgent messages flagged urgent: the two numbers the
domain brief says are measured. The confusion table counts, for each true
intent (row), the messages whose prediction included each intent (column), so
the diagonal is the hits and the rest shows what it was taken for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from intents.classifier import Classification
from intents.dataset import Example
from intents.labels import INTENTS

TARGETS = {"urgent_recall": 0.98, "false_urgent_rate": 0.05, "macro_f1": 0.90}


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
        return self.example.urgent and not self.predicted.urgent


@dataclass(frozen=True)
class Report:
    size: int
    per_intent: tuple[IntentScore, ...]
    macro_f1: float
    urgent_recall: float
    false_urgent_rate: float
    urgent_count: int
    non_urgent_count: int
    exact_match: float
    confusion: dict[str, dict[str, int]]
    misses: tuple[Miss, ...]

    def meets_targets(self) -> bool:
        return (
            self.urgent_recall >= TARGETS["urgent_recall"]
            and self.false_urgent_rate <= TARGETS["false_urgent_rate"]
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
    urgent = [p.urgent for e, p in zip(examples, predictions, strict=True) if e.urgent]
    calm = [p.urgent for e, p in zip(examples, predictions, strict=True) if not e.urgent]
    confusion: dict[str, dict[str, int]] = {str(row): dict.fromkeys(map(str, INTENTS), 0) for row in INTENTS}
    for example, predicted in zip(examples, predictions, strict=True):
        for true_intent in example.intents:
            for guessed_intent in predicted.intents:
                confusion[true_intent][guessed_intent] += 1
    misses = tuple(
        Miss(example, predicted)
        for example, predicted in zip(examples, predictions, strict=True)
        if set(example.intents) != set(predicted.intents) or example.urgent != predicted.urgent
    )
    # An intent nobody labelled and nothing predicted has no F1 at all; it is left out of the mean.
    predicted_any = {intent for p in predictions for intent in p.intents}
    counted = [item for item in per_intent if item.support or item.intent in predicted_any]
    return Report(
        size=len(examples),
        per_intent=tuple(per_intent),
        macro_f1=sum(item.f1 for item in counted) / len(counted) if counted else 0.0,
        urgent_recall=_ratio(sum(urgent), len(urgent)),
        false_urgent_rate=_ratio(sum(calm), len(calm)),
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
    urgent_hits = round(report.urgent_recall * report.urgent_count)
    false_alarms = round(report.false_urgent_rate * report.non_urgent_count)
    lines += [
        "",
        f"macro-F1            {report.macro_f1:.3f}   (target >= {TARGETS['macro_f1']})",
        f"urgent recall       {report.urgent_recall:.3f}   ({urgent_hits}/{report.urgent_count}; target >= "
        f"{TARGETS['urgent_recall']})",
        f"false-urgent rate   {report.false_urgent_rate:.3f}   ({false_alarms}/{report.non_urgent_count} non-urgent; "
        f"target <= {TARGETS['false_urgent_rate']})",
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
            got = ",".join(miss.predicted.intents) + (" URGENT" if miss.predicted.urgent else "")
            flag = "!! " if miss.urgent_missed else "   "
            lines.append(f"{flag}{miss.example.id:<9} want {gold:<42} got {got}")
            lines.append(f"{'':12}{miss.example.text[:110]}")
            why = "; ".join(e.describe() for e in miss.predicted.evidence) or "no rule, no model evidence"
            lines.append(f"{'':12}[{why[:160]}]")
    return "\n".join(lines)
