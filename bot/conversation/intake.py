"""The intake: which question comes next, and how an answer is read.

A coordinator at 2 a.m. needs: where, who else is there, who is writing, any
medical care, how to reach them. Urgent cases ask in that order and skip
"what happened" (the first message already said it); a person at risk is first
asked whether anyone is with them; other cases start with who is writing and
ask what it is about. Every question can be skipped, none
asks for a name, and health questions wait for consent (``HEALTH_SLOTS``).
"""

from __future__ import annotations

import re

from bot.conversation.answers import UNKNOWN, AnswerReader, Town
from bot.conversation.model import HEALTH_SLOTS, Choice, Inbound, PersonState, Slot
from bot.conversation.texts import Say, Texts, fold

URGENT_ORDER = (Slot.TOWN, Slot.OTHERS, Slot.ROLE, Slot.MEDICAL, Slot.CONTACT, Slot.PHONE)
#: Someone at risk is asked first whether anyone is with them, and never who is writing.
CRISIS_ORDER = (Slot.OTHERS, Slot.TOWN, Slot.CONTACT, Slot.PHONE)
NORMAL_ORDER = (Slot.ROLE, Slot.TOWN, Slot.WHAT, Slot.CONTACT, Slot.PHONE)
QUESTIONS = {
    Slot.TOWN: Say.ASK_TOWN,
    Slot.ROLE: Say.ASK_ROLE,
    Slot.WHAT: Say.ASK_WHAT,
    Slot.OTHERS: Say.ASK_OTHERS,
    Slot.MEDICAL: Say.ASK_MEDICAL,
    Slot.CONTACT: Say.ASK_CONTACT,
    Slot.PHONE: Say.ASK_PHONE,
}
CHOICE_SETS = {Slot.ROLE: "role", Slot.OTHERS: "others", Slot.MEDICAL: "medical", Slot.CONTACT: "contact"}
PHONE_CONTACT = "電話"
#: Characters: an answer this short is read loosely (「母がいる」); a longer message only for a plain statement,
#: so a story (「前に娘が入院したときも 私が付き添いで…」) is not taken for who is with them now.
SHORT_ANSWER = 15
_DIGITS = re.compile(r"\d")


def _order(state: PersonState) -> tuple[Slot, ...]:
    if "crisis" in state.facts.intents:
        return CRISIS_ORDER
    return URGENT_ORDER if state.facts.urgent else NORMAL_ORDER


def pending(state: PersonState, towns: tuple[str, ...]) -> Slot | None:
    """The next question to ask, or None when the intake is complete."""
    order = _order(state)
    for slot in order:
        if state.intake.done(slot):
            continue
        if slot in HEALTH_SLOTS and state.consent is False:
            continue
        if slot == Slot.TOWN and len(towns) == 1:
            continue  # a one-town region: nothing to ask
        if slot == Slot.PHONE and state.intake.get(Slot.CONTACT) != PHONE_CONTACT:
            continue
        return slot
    return None


def choices_for(slot: Slot, texts: Texts, towns: tuple[str, ...]) -> tuple[Choice, ...]:
    if slot == Slot.TOWN:
        options = (*(Choice(town, f"town:{town}") for town in towns), texts.other_town)
    elif slot in CHOICE_SETS:
        options = texts.choices(CHOICE_SETS[slot])
    else:
        options = ()
    return (*options, texts.skip)


def picked(inbound: Inbound, options: tuple[Choice, ...]) -> Choice | None:
    """The button pressed: by its value when the channel sends one, else by its label typed or sent as text."""
    if inbound.choice:
        return next((option for option in options if option.value == inbound.choice), None)
    typed = fold(inbound.text)
    return next((option for option in options if fold(option.label) == typed), None)


def read_choice(chosen: Choice) -> str | None:
    """The answer a button gives, in plain words; None for スキップ."""
    if chosen.value == "skip":
        return None
    if chosen.value == "town:other":
        return "ほかの町"
    return chosen.value.partition(":")[2] or chosen.label


def read_free(slot: Slot, text: str, reader: AnswerReader, towns: tuple[Town, ...]) -> str | None:
    """The answer to ``slot`` written in free words, or None when the message does not answer it.

    None is how a story is told from an answer: 「いま妹は泣いています」 answers no question about a town.
    """
    text = text.strip()
    folded = fold(text)
    if not text:
        return None
    if slot == Slot.PHONE:
        digits = "".join(_DIGITS.findall(folded))
        return digits if 10 <= len(digits) <= 11 else None
    if slot in {Slot.WHAT, Slot.MEDICAL}:
        return UNKNOWN if reader.is_unknown(text) else text  # details in the person's own words
    if reader.is_unknown(text):
        return UNKNOWN
    found = {Slot.TOWN: lambda: reader.town(text, towns), Slot.ROLE: lambda: reader.role(text),
             Slot.OTHERS: lambda: reader.others(text, answering=len(folded) <= SHORT_ANSWER)}.get(slot)  # fmt: skip
    if found is not None:
        answer = found()
        if answer is not None:
            return answer
        if reader.says_unknown(text):
            return UNKNOWN
        return text if reader.looks_like_a_name(text) else None
    # Slot.CONTACT
    if _DIGITS.search(folded):
        return PHONE_CONTACT
    return reader.choice_in(text, reader.words.contact)
