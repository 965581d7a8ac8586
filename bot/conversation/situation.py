"""Which situation a message describes, where the first reply must differ (pure).

The intent says what a message is about; the situation says what to say first. The writer's own
crisis needs よりそいホットライン and "your life matters"; someone else's medical emergency needs
119 and what to do next, not a suicide template; threats from lenders need the police and 法テラス,
not the DV and child-abuse lines; a carer at breaking point needs respite, a check, not a crisis
template; a professional asking for a bed needs short-stay facts in a professional register.
The situation is read from the rules that fired and the lexicon terms found (``Classification``),
so it is data-driven and explainable like the rest of the reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.model import Check
from bot.conversation.texts import Say
from intents import Classification, Intent

#: Crisis rules that speak of the writer's own wish to die or self-harm (the others describe danger).
OWN_RISK = frozenset(
    {"suicidal_words", "self_harm_or_overdose", "method_prepared", "bare_death_word", "farewell",
     "despair_and_going_away", "at_the_edge"}
)  # fmt: skip
#: Crisis rules that describe a body in danger: someone else's when another person is named.
BODY_IN_DANGER = frozenset({"life_in_danger", "long_seizure", "overdose"})
LENDERS = frozenset({"collector_threats", "collector_and_threat", "loan_shark", "chased_by_collectors"})
MONEY_AT_HOME = frozenset({"money_taken", "money_demanded"})
HARM = frozenset({"violence_or_abuse", *MONEY_AT_HOME})
#: Terms that say the person in danger is someone else (a family member, a resident, a user).
SOMEONE_ELSE = frozenset({"other_person", "dependent"})
#: Terms of a body in trouble now (collapsed, a seizure, a life in danger).
BODY_TERMS = frozenset({"carer_down", "life_danger", "seizure"})
CARER_AT_LIMIT = frozenset({"carer_at_limit", "carer_worn_out"})
CARER_DOWN = frozenset({"carer_taken_ill", "carer_missing", "nobody_to_care_after_illness", "self_carer_taken_ill"})


def first_reply(reading: Classification, pending: Check | None = None, *, professional: bool = False) -> Say:
    """The first words for a message read ``now``: the number to call, for this situation.

    ``pending``: the check question this message answers or interrupts. Its situation carries
    over (「家に来て 殺すぞって 言われた」 after a question about lenders is about the lenders).
    ``professional``: the writer is known to be a supporter (said so in this or an earlier message).
    """
    rules, intents, terms = reading.rules, set(reading.intents), reading.terms
    someone_else = bool(terms & SOMEONE_ELSE)
    if pending == Check.COLLECTOR and Intent.DEBT_OR_ABUSE in intents and not rules & MONEY_AT_HOME:
        return Say.COLLECTOR
    if rules & BODY_IN_DANGER and not rules & OWN_RISK and someone_else:
        return Say.MEDICAL_OTHER
    if Intent.CRISIS in intents:
        if rules & OWN_RISK:
            return Say.CRISIS
        # 「母が台所で倒れて動かない」: a body in danger that is not the writer's (not 「彼の介護に疲れた」).
        if someone_else and terms & BODY_TERMS:
            return Say.MEDICAL_OTHER
        return Say.CRISIS if not rules else Say.URGENT
    if ("professional" in terms or professional) and Intent.CAREGIVER_EMERGENCY in intents:
        return Say.SUPPORTER_BED
    if Intent.CAREGIVER_EMERGENCY in intents:
        return Say.CARER_LIMIT if rules & CARER_AT_LIMIT and not rules & CARER_DOWN else Say.CAREGIVER_EMERGENCY
    chased_for_money = "chased" in terms and bool(terms & {"money", "debt", "collector"})
    if (rules & LENDERS or chased_for_money) and not rules & MONEY_AT_HOME:
        return Say.COLLECTOR  # threats from lenders or collectors, even shouted at the door
    if "nowhere_to_sleep" in rules and not rules & HARM:
        return Say.HOUSING_TONIGHT  # put out after a quarrel: a bed tonight first
    if Intent.DEBT_OR_ABUSE in intents:
        return Say.ABUSE
    if Intent.HOUSING_SEARCH in intents:
        return Say.HOUSING_TONIGHT
    return Say.URGENT


def check_for(reading: Classification) -> Check:
    """What to ask about when a message is read ``check``: the risk its cue came from."""
    rules, seen = reading.rules, reading.cues | set(reading.intents)
    if rules & LENDERS:
        return Check.COLLECTOR
    if rules & CARER_AT_LIMIT or ("carer_limit" in reading.terms and Intent.CRISIS not in reading.cues):
        return Check.CARER
    if Intent.CRISIS in seen:
        return Check.CRISIS
    if Intent.DEBT_OR_ABUSE in seen:
        return Check.VIOLENCE
    if Intent.HOUSING_SEARCH in seen:
        return Check.HOUSING
    if Intent.CAREGIVER_EMERGENCY in seen:
        return Check.CARER
    return Check.GENERAL


@dataclass(frozen=True, slots=True)
class CheckWords:
    """One check, as the engine uses it: the question, the first reply once the answer confirms the
    risk, and the intent it stands for when the message itself did not carry it (so the intake asks a
    person at risk first whether anyone is with them, and the case shows what it is about)."""

    question: Say
    confirmed: Say
    intent: Intent | None


CHECKS: dict[Check, CheckWords] = {
    Check.CRISIS: CheckWords(Say.CHECK_CRISIS, Say.CRISIS, Intent.CRISIS),
    Check.VIOLENCE: CheckWords(Say.CHECK_VIOLENCE, Say.ABUSE, Intent.DEBT_OR_ABUSE),
    Check.COLLECTOR: CheckWords(Say.CHECK_COLLECTOR, Say.COLLECTOR, Intent.DEBT_OR_ABUSE),
    Check.CARER: CheckWords(Say.CHECK_CARER, Say.CARER_LIMIT, Intent.CAREGIVER_EMERGENCY),
    Check.HOUSING: CheckWords(Say.CHECK_HOUSING, Say.HOUSING_TONIGHT, Intent.HOUSING_SEARCH),
    Check.GENERAL: CheckWords(Say.CHECK_GENERAL, Say.URGENT, None),
}
