"""The intent names and what they imply about urgency (see docs/labelling.md)."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    """What a message is about. A message may carry several."""

    CAREGIVER_EMERGENCY = "caregiver_emergency"
    DEBT_OR_ABUSE = "debt_or_abuse"
    TRIAL_STAY = "trial_stay"
    HOUSING_SEARCH = "housing_search"
    CRISIS = "crisis"
    FAQ = "faq"
    OTHER = "other"


INTENTS: tuple[Intent, ...] = tuple(Intent)

#: Intents that are urgent whenever they are present, whatever else is said.
ALWAYS_URGENT: frozenset[Intent] = frozenset({Intent.CRISIS, Intent.CAREGIVER_EMERGENCY})

#: The label the model learns besides the intents: the ``urgent`` flag itself.
URGENT = "urgent"


class Urgency(StrEnum):
    """How soon a human must hear about a message (the domain brief's three levels).

    ``now``: the coordinator on call is paged at once. ``check``: the bot asks at once, kindly and
    directly, and a human is paged on a yes, on anything unclear, or on silence after a risk cue.
    ``none``: nothing to raise. Ordered: ``max`` of two levels is the more urgent one.
    """

    NONE = "none"
    CHECK = "check"
    NOW = "now"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Urgency.NONE: 0, Urgency.CHECK: 1, Urgency.NOW: 2}


def most_urgent(*levels: Urgency) -> Urgency:
    return max(levels, key=lambda level: level.rank, default=Urgency.NONE)
