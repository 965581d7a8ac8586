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
