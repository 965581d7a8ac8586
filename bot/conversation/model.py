"""The shapes the conversation engine works with: what comes in, what goes out, what it remembers.

All immutable. The engine never changes a state in place; it returns a new one,
which the caller stores (``storage``, in a later issue) before it acknowledges
the message: nothing is lost if the process dies between the two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Phase(StrEnum):
    IDLE = "idle"  # nothing pending: the next message is read afresh
    INTAKE = "intake"  # a question of the intake is waiting for its answer
    CONSENT = "consent"  # waiting for yes/no to keeping health details
    CONFIRM_FORGET = "confirm_forget"  # waiting for "really delete?"
    OFFER_INTAKE = "offer_intake"  # asked "may I ask a few questions?"
    OFFER_HUMAN = "offer_human"  # asked "shall I pass you to a person?"
    TELLING = "telling"  # asked 「なにが ありましたか？」 (menu: いま こまっている): the next message is the trouble
    CHECK = "check"  # asked the check question (いま、死にたい 気持ちが ありますか？): a yes or anything unclear pages


class Check(StrEnum):
    """What the check question asks about: the situation the risk cue came from."""

    CRISIS = "crisis"
    VIOLENCE = "violence"
    COLLECTOR = "collector"
    CARER = "carer"
    HOUSING = "housing"
    GENERAL = "general"


class Slot(StrEnum):
    """The intake questions, in the order a coordinator needs the answers."""

    TOWN = "town"
    ROLE = "role"
    WHAT = "what"
    OTHERS = "others"
    MEDICAL = "medical"
    CONTACT = "contact"
    PHONE = "phone"


#: Answers that are health or disability details (要配慮個人情報): kept only with consent.
HEALTH_SLOTS = frozenset({Slot.WHAT, Slot.MEDICAL})


class Kind(StrEnum):
    """What kind of thing arrived; the channels translate their events into one of these."""

    TEXT = "text"  # words (or a button press, with ``choice``)
    MEDIA = "media"  # a sticker, photo, voice, file or location: ``text`` names it, e.g. 「（スタンプ）」
    FOLLOW = "follow"  # added the bot as a friend, or /start: greet and say what we keep
    GROUP = "group"  # written in a group chat: consultations happen one to one


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a person, whatever the channel.

    ``choice`` is the value of a quick-reply button when the channel tells us
    which button was pressed (LINE postback, Telegram callback); a channel
    that only sends the label as text leaves it empty and the engine matches
    the label itself.
    """

    text: str
    at: dt.datetime
    choice: str | None = None
    kind: Kind = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Choice:
    """A quick-reply button: the label the person sees and the value we get back."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class Intake:
    """What the bot has learned so far, slot by slot. Empty means not asked or skipped."""

    answers: tuple[tuple[Slot, str], ...] = ()
    skipped: frozenset[Slot] = frozenset()

    def get(self, slot: Slot) -> str | None:
        return next((value for key, value in self.answers if key == slot), None)

    def with_answer(self, slot: Slot, value: str) -> Intake:
        kept = tuple((key, v) for key, v in self.answers if key != slot)
        return replace(self, answers=(*kept, (slot, value)))

    def with_skip(self, slot: Slot) -> Intake:
        return replace(self, skipped=self.skipped | {slot})

    def done(self, slot: Slot) -> bool:
        return slot in self.skipped or self.get(slot) is not None

    def without_health(self) -> Intake:
        return Intake(tuple((k, v) for k, v in self.answers if k not in HEALTH_SLOTS), self.skipped)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the classifier saw in the messages that opened or raised the case."""

    intents: tuple[str, ...] = ()
    urgent: bool = False
    reasons: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    opening: str | None = None  # the first message, kept when urgent or with consent


@dataclass(frozen=True, slots=True)
class PersonState:
    """Everything the engine remembers about one person between messages."""

    region: str
    phase: Phase = Phase.IDLE
    asking: Slot | None = None
    case_open: bool = False
    facts: CaseFacts = field(default_factory=CaseFacts)
    intake: Intake = field(default_factory=Intake)
    consent: bool | None = None  # None: not asked yet
    escalated: bool = False
    turns: int = 0
    checking: Check | None = None  # the check question waiting for its answer
    # A coordinator has the case (their name as the person sees it; "" when they chose to be named by role
    # only): the bot stays quiet. None: no one has joined.
    human: str | None = None
    professional: bool = False  # a supporter writes: the professional register
    reasked: bool = False  # the pending question was asked again after a story (a third time, it is skipped)
    nudges: int = 0  # short replies given to messages the bot could not place (each differs from the last)

    @classmethod
    def new(cls, region: str) -> PersonState:
        return cls(region=region)
