"""The case summary: what a coordinator on call reads at a glance.

Built from the person's state; health and disability details appear only when
the person consented or when the case is urgent (protecting a life comes first,
as the law allows: 個人情報保護法 第20条第2項第2号), and the summary says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.casewords import CASE_WORDS
from bot.conversation.model import HEALTH_SLOTS, PersonState, Slot

SLOT_LABELS: dict[Slot, str] = CASE_WORDS.slots


@dataclass(frozen=True, slots=True)
class CaseSummary:
    region: str
    intents: tuple[str, ...]
    urgent: bool
    reasons: tuple[str, ...]
    evidence: tuple[str, ...]
    opening: str | None
    answers: tuple[tuple[str, str], ...]  # (label, answer) in intake order
    skipped: tuple[str, ...]
    consent: bool | None

    def lines(self) -> list[str]:
        """The summary as short lines, most important first."""
        words = CASE_WORDS.summary
        head = words.urgent if self.urgent else words.normal
        out = [f"{head} {' / '.join(self.intents)}"]
        if self.opening:
            out.append(words.opening.format(text=self.opening))
        out += [f"{label}: {value}" for label, value in self.answers]
        if self.skipped:
            out.append(words.skipped.format(slots="、".join(self.skipped)))
        consent = {True: words.consent_yes, False: words.consent_no, None: words.consent_unasked}
        out.append(words.consent.format(answer=consent[self.consent]))
        if self.reasons:
            out.append(words.reasons.format(reasons="; ".join(self.reasons)))
        return out


def summarize(state: PersonState) -> CaseSummary:
    may_keep_health = state.consent is True or state.facts.urgent
    answers = tuple(
        (SLOT_LABELS[slot], value)
        for slot in Slot
        if (value := state.intake.get(slot)) is not None and (may_keep_health or slot not in HEALTH_SLOTS)
    )
    return CaseSummary(
        region=state.region,
        intents=state.facts.intents,
        urgent=state.facts.urgent,
        reasons=state.facts.reasons,
        evidence=state.facts.evidence,
        opening=state.facts.opening if may_keep_health else None,
        answers=answers,
        skipped=tuple(SLOT_LABELS[slot] for slot in Slot if slot in state.intake.skipped),
        consent=state.consent,
    )
