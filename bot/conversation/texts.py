"""What the bot says, loaded from ``texts.yaml`` and checked against the keys the engine uses.

The Japanese lives in the YAML so a Japanese writer can improve it without
reading Python. ``Say`` lists every message the engine can send; loading fails
if the file lacks one or has one nobody sends. Rendering fills knowledge-base
placeholders per region and leaves out a line whose fact is unknown there
(a region without a confirmed hub phone still gets 119 and the national lines).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.conversation.model import Choice
from intents.yamlfile import load_yaml_file
from knowledge.errors import MissingFact
from knowledge.loader import KnowledgeBase

TEXTS_FILE = Path(__file__).with_name("texts.yaml")


class Say(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    CRISIS = "crisis"
    CAREGIVER_EMERGENCY = "caregiver_emergency"
    ABUSE = "abuse"
    HOUSING_TONIGHT = "housing_tonight"
    URGENT = "urgent"
    TRIAL_STAY = "trial_stay"
    HOUSING_SEARCH = "housing_search"
    DEBT = "debt"
    INTAKE_INTRO = "intake_intro"
    INTAKE_INTRO_URGENT = "intake_intro_urgent"
    ASK_TOWN = "ask_town"
    ASK_ROLE = "ask_role"
    ASK_WHAT = "ask_what"
    ASK_OTHERS = "ask_others"
    ASK_MEDICAL = "ask_medical"
    ASK_CONTACT = "ask_contact"
    ASK_PHONE = "ask_phone"
    PHONE_UNCLEAR = "phone_unclear"
    CONSENT = "consent"
    CONSENT_YES = "consent_yes"
    CONSENT_NO = "consent_no"
    INTAKE_DONE = "intake_done"
    INTAKE_DONE_URGENT = "intake_done_urgent"
    OFFER_INTAKE = "offer_intake"
    OFFER_DECLINED = "offer_declined"
    NOT_SURE = "not_sure"
    TOPIC_UNANSWERED = "topic_unanswered"
    HUMAN = "human"
    FORGET_CONFIRM = "forget_confirm"
    FORGET_DONE = "forget_done"
    FORGET_CANCEL = "forget_cancel"
    STOP_INTAKE = "stop_intake"
    STOP_INTAKE_AT_RISK = "stop_intake_at_risk"
    NOTED = "noted"
    MENU_URGENT = "menu_urgent"
    MENU_FAQ = "menu_faq"
    WAIT_PAGED = "wait_paged"
    WAIT_STILL = "wait_still"
    WAIT_NOBODY = "wait_nobody"
    # Everyone was paged, and every later round (the ladder never ends while a case is unclaimed).
    WAIT_EVERYONE = "wait_everyone"
    WAIT_AGAIN_CALLING = "wait_again_calling"
    WAIT_AGAIN_NOT_FORGOTTEN = "wait_again_not_forgotten"
    WAIT_AGAIN_WRITE = "wait_again_write"
    WAIT_AGAIN_SOMEONE = "wait_again_someone"
    WAIT_QUEUED = "wait_queued"
    CLAIMED = "claimed"
    WELCOME = "welcome"
    MEDIA = "media"
    GROUP_NOTE = "group_note"
    # The check: asked at once when a message may carry a risk (urgency ``check``), one per situation.
    CHECK_CRISIS = "check_crisis"
    CHECK_VIOLENCE = "check_violence"
    CHECK_COLLECTOR = "check_collector"
    CHECK_CARER = "check_carer"
    CHECK_HOUSING = "check_housing"
    CHECK_GENERAL = "check_general"
    CHECK_NO = "check_no"
    # The first reply where the situation needs other words than the intent's.
    MEDICAL_OTHER = "medical_other"
    COLLECTOR = "collector"
    CARER_LIMIT = "carer_limit"
    SUPPORTER_BED = "supporter_bed"
    # Listening: a mirror before the next question, a story heard mid-intake, short messages answered.
    ACK_TOWN = "ack_town"
    ACK_UNKNOWN = "ack_unknown"
    ACK_SELF = "ack_self"
    ACK_FAMILY = "ack_family"
    ACK_SUPPORTER = "ack_supporter"
    ACK_ALONE = "ack_alone"
    ACK_WITH_FAMILY = "ack_with_family"
    ACK_WITH_SUPPORTER = "ack_with_supporter"
    ACK_SKIP = "ack_skip"
    ACK_THANKS = "ack_thanks"
    STORY_NOTED = "story_noted"
    STILL_HERE = "still_here"
    NUDGE_FIRST = "nudge_first"
    NUDGE_AGAIN = "nudge_again"
    NUDGE_MENU = "nudge_menu"
    # The hand-over: a coordinator has the case, and the closing message a coordinator may send.
    CLAIMED_BY = "claimed_by"
    CLOSING = "closing"
    CLOSING_ANONYMOUS = "closing_anonymous"
    # The web chat's own words (bot/web/chat.py), not the engine's: the welcome on open, the sign that a
    # coordinator has joined, the tab title when a reply came while the tab was hidden.
    CHAT_WELCOME = "chat_welcome"
    CHAT_JOINED = "chat_joined"
    CHAT_NEW_REPLY = "chat_new_reply"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChoiceSpec(_Strict):
    label: str
    value: str


class ChoicesSpec(_Strict):
    menu: list[ChoiceSpec]
    role: list[ChoiceSpec]
    others: list[ChoiceSpec]
    medical: list[ChoiceSpec]
    contact: list[ChoiceSpec]
    yes_no: list[ChoiceSpec]
    offer: list[ChoiceSpec]
    human: list[ChoiceSpec]
    forget: list[ChoiceSpec]
    check: list[ChoiceSpec]
    skip: ChoiceSpec
    other_town: ChoiceSpec


class WordsSpec(_Strict):
    forget: list[str]
    human: list[str]
    stop: list[str]
    skip: list[str]
    after_answer: list[str]
    hello: list[str]
    thanks: list[str]
    yes: list[str]
    no: list[str]


class TextsFile(_Strict):
    messages: dict[str, str]
    choices: ChoicesSpec
    words: WordsSpec
    topic_answers: dict[str, str]
    professional: dict[str, str]  # the same messages in the professional register, for supporters


class TextsError(Exception):
    pass


def fold(text: str) -> str:
    """The form words are compared in: NFKC, lower case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


class Texts:
    """The bot's words for every region of one knowledge base."""

    def __init__(self, spec: TextsFile, kb: KnowledgeBase) -> None:
        missing = sorted(str(key) for key in set(Say) - set(spec.messages))
        unused = sorted((set(spec.messages) | set(spec.professional)) - set(Say))
        if missing or unused:
            raise TextsError(f"texts.yaml: messages missing {missing}, not used {unused}")
        self.spec = spec
        self.kb = kb
        self._words = {name: tuple(fold(w) for w in words) for name, words in spec.words.model_dump().items()}
        self._rendered: dict[tuple[Say, str, bool], str] = {}

    @classmethod
    def load(cls, kb: KnowledgeBase, path: Path = TEXTS_FILE) -> Texts:
        try:
            raw = load_yaml_file(path)
            return cls(TextsFile.model_validate(raw), kb)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = " -> ".join(str(part) for part in first["loc"])
            raise TextsError(f"{path.name}: [{where}] {first['msg']}") from exc
        except yaml.YAMLError as exc:
            raise TextsError(f"{path.name}: not valid YAML: {exc}") from exc

    def say(self, key: Say, region: str, *, professional: bool = False, **values: str) -> str:
        """The message for ``region``; a line whose fact is unknown there is left out, never shown empty.

        An indented line belongs to the line above it ("…に 電話してください。" and the
        number under it): if either cannot be filled, both are left out. ``values``
        fill plain ``{name}`` slots that are not facts (``{minutes}``). ``professional``: the
        supporters' register, where the message has one.
        """
        professional = professional and key in self.spec.professional
        cached = self._rendered.get((key, region, professional))
        if cached is None:
            template = (self.spec.professional if professional else self.spec.messages)[key]
            lines: list[str] = []
            for group in _groups(template):
                try:
                    lines += [self.kb.render(line, region) for line in group]
                except MissingFact:
                    continue
            cached = self._rendered[(key, region, professional)] = "\n".join(line for line in lines if line)
        for name, value in values.items():
            cached = cached.replace("{" + name + "}", value)
        return cached

    def dropped_lines(self, region: str) -> list[tuple[str, str]]:
        """(message, lines) left out in ``region`` because a fact is unknown there."""
        dropped = []
        templates = [(str(key), text) for key, text in self.spec.messages.items()]
        templates += [(f"{key} (professional)", text) for key, text in self.spec.professional.items()]
        for key, template in templates:
            for group in _groups(template):
                try:
                    for line in group:
                        self.kb.render(line, region)
                except MissingFact:
                    dropped.append((key, " / ".join(group)))
        return dropped

    def choices(self, name: str) -> tuple[Choice, ...]:
        specs: list[ChoiceSpec] = getattr(self.spec.choices, name)
        return tuple(Choice(spec.label, spec.value) for spec in specs)

    @property
    def skip(self) -> Choice:
        return Choice(self.spec.choices.skip.label, self.spec.choices.skip.value)

    @property
    def other_town(self) -> Choice:
        return Choice(self.spec.choices.other_town.label, self.spec.choices.other_town.value)

    def means(self, words: str, text: str) -> bool:
        """Does ``text`` contain one of the words listed under ``words`` (forget, human, ...)?"""
        folded = fold(text)
        return any(word in folded for word in self._words[words])

    def is_plain_answer(self, words: str, text: str) -> bool:
        """One of those words, maybe with thanks or a softener after it (「いまは大丈夫です、ありがとうございます」,
        「ないです、いまは」)."""
        first, *rest = [clause for clause in _CLAUSES.split(text) if clause] or [""]
        return self.is_short_answer(words, first) and all(
            self.means("thanks", clause) or fold(clause).strip("。、.!?！？") in self._words["after_answer"]
            for clause in rest
        )

    def is_short_answer(self, words: str, text: str) -> bool:
        """Is ``text`` just one of those words, give or take punctuation (a yes, a no, a skip)?"""
        folded = fold(text).strip("。、.!?！？ｗw〜ー…")
        return bool(folded) and any(
            folded == w or (folded.startswith(w) and len(folded) <= len(w) + 4) for w in self._words[words]
        )


_CLAUSES = re.compile(r"[、。,.!！?？\s]+")


def _groups(template: str) -> list[list[str]]:
    """Lines, with each indented line attached to the line above it."""
    groups: list[list[str]] = []
    for line in template.splitlines():
        if line.startswith((" ", "\u3000")) and groups:
            groups[-1].append(line.strip())
        else:
            groups.append([line.strip()])
    return groups
