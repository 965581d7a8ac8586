"""The conversation engine: (person's state, one message) -> (new state, replies, effects).

Pure: no I/O, no clock, no randomness. The classifier and the FAQ index are
plain computation handed in through ``Context``; the time comes in the
``Inbound``. So every dialogue is a fast, exact unit test, and the channels
(LINE, Telegram, the web chat) only translate.

How a message is handled, in order:

Every message is read (classified) first, whatever is pending.

1. 「データを消して」 and its kin, in any phase: confirm, then ``ForgetMe`` (a
   question about deleting, 「あとから削除できますか？」, is answered instead).
2. Urgent news (``now``) is handled first in any phase: it is never swallowed as
   an answer to a question.
3. The check question (``check``: a risk the bot is unsure of) waits for its answer:
   a yes or anything unclear pages; a no is thanked. A new message read ``check``
   asks it, kindly and directly, and puts the case in the queue.
4. A pending question (consent, "may I ask?", "shall I call a person?", an
   intake question) takes the message as its answer.
5. Otherwise the message is read afresh: urgent -> the number to call now, a
   page to the coordinator (``Escalate``) and a short intake; a question ->
   the FAQ answer or an honest "I am not sure"; a topic (trial stay, housing,
   debt) -> a short explanation and an offer to take details; anything else
   -> a greeting and a menu. No reply leaves the person without a next step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.conversation import intake, situation
from bot.conversation.effects import (
    AskConsent,
    AwaitAnswer,
    Effect,
    Escalate,
    ForgetMe,
    NoteReceived,
    OpenCase,
    RecordConsent,
    UpdateCase,
)
from bot.conversation.model import HEALTH_SLOTS, CaseFacts, Choice, Inbound, Kind, PersonState, Phase, Reply, Slot
from bot.conversation.summary import summarize
from bot.conversation.texts import Say, Texts
from intents import Classification, Classifier, Intent, Urgency
from knowledge.loader import KnowledgeBase
from knowledge.retrieval import FaqIndex

TOPICS = (Intent.TRIAL_STAY, Intent.HOUSING_SEARCH, Intent.DEBT_OR_ABUSE)
TOPIC_TEXT = {
    Intent.TRIAL_STAY: Say.TRIAL_STAY,
    Intent.HOUSING_SEARCH: Say.HOUSING_SEARCH,
    Intent.DEBT_OR_ABUSE: Say.DEBT,
}
QUESTION_ENDINGS = ("?", "？", "か", "の", "かな", "かね", "っけ", "べか", "べ", "ますか", "すか")
MENU_TOPICS = {"menu:trial": Intent.TRIAL_STAY, "menu:housing": Intent.HOUSING_SEARCH}


@dataclass(frozen=True, slots=True)
class Outcome:
    state: PersonState
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = ()
    reading: Classification | None = None  # how the message was read, for callers to store or show

    @property
    def text(self) -> str:
        return "\n\n".join(reply.text for reply in self.replies)


@dataclass
class Context:
    """What the engine reads but never changes: the classifier, the knowledge base, the words."""

    classifier: Classifier
    kb: KnowledgeBase
    texts: Texts
    _indexes: dict[str, FaqIndex] = field(default_factory=dict)
    _building: threading.Lock = field(default_factory=threading.Lock)

    def faq(self, region: str) -> FaqIndex:
        """The FAQ index of a region, built on first use (building one costs about 0.2 s); thread-safe."""
        index = self._indexes.get(region)
        if index is None:
            with self._building:
                index = self._indexes.get(region)
                if index is None:
                    index = self._indexes[region] = FaqIndex(
                        self.kb.answers(region),
                        self.classifier.tokenizer,
                        synonyms=self.kb.synonyms,
                        other_places=self.kb.other_places,
                    )
        return index

    def towns(self, region: str) -> tuple[str, ...]:
        return tuple(self.kb.region(region).towns)


@dataclass
class _Turn:
    """Replies and effects collected while handling one message."""

    state: PersonState
    ctx: Context
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    reading: Classification | None = None

    def say(self, key: Say, choices: tuple[Choice, ...] = ()) -> None:
        self.replies.append(Reply(self.ctx.texts.say(key, self.state.region), choices))

    def add(self, text: str, choices: tuple[Choice, ...] = ()) -> None:
        self.replies.append(Reply(text, choices))

    def done(self) -> Outcome:
        return Outcome(self.state, tuple(self.replies), tuple(self.effects), self.reading)


def respond(state: PersonState, inbound: Inbound, ctx: Context) -> Outcome:
    """Handle one message from one person."""
    turn = _Turn(replace(state, turns=state.turns + 1), ctx)
    texts = ctx.texts
    if inbound.kind == Kind.MEDIA and turn.state.phase == Phase.CHECK and turn.state.checking is not None:
        return _check_answered(turn, inbound, None)  # a sticker for an answer is not a no: unclear pages
    if inbound.kind != Kind.TEXT:
        return _not_words(turn, inbound)
    reading = None if inbound.choice else ctx.classifier.classify(inbound.text) if inbound.text.strip() else None
    turn.reading = reading
    if turn.state.phase == Phase.CONFIRM_FORGET:
        return _confirm_forget(turn, inbound)
    if inbound.choice == "forget" or (texts.means("forget", inbound.text) and not _asks_about(reading, inbound.text)):
        turn.state = replace(turn.state, phase=Phase.CONFIRM_FORGET)
        turn.say(Say.FORGET_CONFIRM, texts.choices("forget"))
        return turn.done()

    if reading is not None and _is_news(turn.state, reading):
        return _urgent(turn, reading, inbound.text)  # urgent news first, whatever was pending
    if turn.state.phase == Phase.CHECK and turn.state.checking is not None:
        return _check_answered(turn, inbound, reading)
    if reading is not None and reading.urgency == Urgency.CHECK and not turn.state.facts.urgent:
        return _check(turn, reading, inbound.text)

    if turn.state.phase == Phase.CONSENT:
        answer = _yes_no(inbound, texts, "yes_no")
        if answer is not None:
            return _consented(turn, answer)
    elif turn.state.phase == Phase.OFFER_INTAKE:
        answer = _yes_no(inbound, texts, "offer")
        if answer is not None:
            return _offer_answered(turn, answer, _take_details)
    elif turn.state.phase == Phase.OFFER_HUMAN:
        answer = _yes_no(inbound, texts, "human")
        if answer is not None:
            return _offer_answered(turn, answer, _call_a_person)
    elif turn.state.phase == Phase.INTAKE and turn.state.asking is not None:
        return _intake_answer(turn, inbound, reading)
    turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
    return _fresh(turn, inbound, reading)


def _asks_about(reading: Classification | None, text: str, *, any_topic: bool = False) -> bool:
    """A question, not a request: 「データ削除とかもできるんでしょうか？」 asks how deleting works.

    ``any_topic``: any question, not only one the classifier read as ``faq``.
    """
    asked = text.rstrip().rstrip("。.!！…").endswith(QUESTION_ENDINGS) or "?" in text or "？" in text
    return reading is not None and asked and (any_topic or Intent.FAQ in reading.intents)


# --- reading a new message ------------------------------------------------------------------


def _not_words(turn: _Turn, inbound: Inbound) -> Outcome:
    """A follow, a group message or a sticker: a kind answer, and the pending question again if there was one."""
    if inbound.kind == Kind.GROUP:
        turn.say(Say.GROUP_NOTE)
        return turn.done()
    if inbound.kind == Kind.FOLLOW:
        turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
        turn.say(Say.WELCOME, turn.ctx.texts.choices("menu"))
        return turn.done()
    turn.effects.append(NoteReceived(inbound.text))
    turn.say(Say.MEDIA)
    if turn.state.phase == Phase.INTAKE and turn.state.asking is not None:
        _continue_intake(turn)  # ask the pending question again, with its buttons
    elif turn.state.phase == Phase.IDLE and not turn.state.case_open:
        turn.replies[-1] = Reply(turn.replies[-1].text, turn.ctx.texts.choices("menu"))
    return turn.done()


def _fresh(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    texts, region = turn.ctx.texts, turn.state.region
    button = intake.picked(inbound, texts.choices("menu"))
    menu = button.value if button is not None else None
    if menu == "menu:urgent":
        turn.say(Say.MENU_URGENT)
        return turn.done()
    if menu == "menu:faq":
        turn.say(Say.MENU_FAQ)
        return turn.done()
    if menu in MENU_TOPICS:
        _offer_topic(turn, MENU_TOPICS[menu], inbound.text)
        return turn.done()
    if reading is None:  # an empty message or an unknown button: start again kindly
        turn.say(Say.GREETING, texts.choices("menu"))
        return turn.done()
    if texts.means("human", inbound.text):
        _escalate(turn, ("本人が担当者との会話を希望",), inbound.text)
        turn.say(Say.HUMAN)
        return turn.done()

    intents = set(reading.intents)
    # A question is looked up even when the classifier read it as small talk, and anything else is
    # answered when the knowledge base is sure of it (「救急車を呼ぶべきか迷っています」): the FAQ index
    # decides, and declines when it does not know.
    asked = Intent.FAQ in intents or _asks_about(reading, inbound.text, any_topic=True)
    hit = turn.ctx.faq(region).best(inbound.text, sure=not asked)
    if hit is not None:
        turn.add(hit.answer.text)
    elif Intent.FAQ in intents and not intents & set(TOPICS):
        turn.state = replace(turn.state, phase=Phase.OFFER_HUMAN)
        turn.say(Say.NOT_SURE, texts.choices("human"))
        return turn.done()
    topic = next((intent for intent in reading.intents if intent in TOPICS), None)
    if topic is not None:
        _offer_topic(turn, topic, inbound.text, reading, answered=hit is not None)
        return turn.done()
    if turn.replies:  # a FAQ answer and nothing else to do
        return turn.done()
    if texts.is_short_answer("thanks", inbound.text) or texts.means("thanks", inbound.text):
        turn.say(Say.THANKS)
        return turn.done()
    if turn.state.case_open:
        _update(turn)
        turn.say(Say.NOTED)
        return turn.done()
    turn.say(Say.GREETING, texts.choices("menu"))
    return turn.done()


def _offer_topic(
    turn: _Turn, topic: Intent, text: str, reading: Classification | None = None, *, answered: bool = False
) -> None:
    """A short word on the topic, its general answer unless the question was answered already, and an
    offer to take details."""
    region = turn.state.region
    turn.say(TOPIC_TEXT[topic])
    answer_id = None if answered else turn.ctx.texts.spec.topic_answers.get(topic)
    answer = turn.ctx.faq(region).answer(answer_id) if answer_id else None  # rendered once, with the index
    if answer is not None:
        turn.add(answer.text)
    intents = tuple(reading.intents) if reading is not None else (topic,)
    turn.state = replace(turn.state, facts=_merge(turn.state.facts, intents, (), (), text))
    if turn.state.case_open and not intake.pending(turn.state, turn.ctx.towns(region)):
        _update(turn)
        turn.say(Say.NOTED)
        return
    turn.state = replace(turn.state, phase=Phase.OFFER_INTAKE)
    turn.say(Say.OFFER_INTAKE, turn.ctx.texts.choices("offer"))


def _is_news(state: PersonState, reading: Classification) -> bool:
    """Urgent, and new: the first urgent message, or an urgent intent the case did not have yet.

    Once a case is urgent, "ひとりです" or "まだ来ない" answer or add to it; paging again for them
    would only bury the coordinator. A crisis on top of a carer's collapse is news.
    """
    if not reading.urgent:
        return False
    if not state.facts.urgent:
        return True
    return bool(set(map(str, reading.intents)) - set(state.facts.intents) - {Intent.FAQ, Intent.OTHER})


def _urgent(
    turn: _Turn, reading: Classification | None, text: str, first: Say | None = None, reasons: tuple[str, ...] = ()
) -> Outcome:
    """The number to call now, a page to the coordinator, then the intake (or where it left off)."""
    already = turn.state.facts.urgent
    if already:
        turn.say(Say.NOTED)
    pending = turn.state.checking
    turn.say(first or (situation.first_reply(reading, pending) if reading is not None else Say.URGENT))
    intents = reading.intents if reading is not None else ()
    because = (*(reading.urgent_because if reading is not None else ()), *reasons)
    evidence = _evidence(reading) if reading is not None else ()
    facts = _merge(turn.state.facts, intents, because, evidence, text, urgent=True)
    was = turn.state.phase
    turn.state = replace(turn.state, facts=facts, checking=None)
    _escalate(turn, because, text, urgent=True)
    if was in {Phase.INTAKE, Phase.CONSENT} or already:
        _continue_intake(turn)  # ask again what was pending, or finish
    else:
        _start_intake(turn)
    return turn.done()


# --- the check: unsure whether a risk is here now, the bot asks ---------------------------------


def _check(turn: _Turn, reading: Classification, text: str) -> Outcome:
    """Ask at once, kindly and directly (いま、死にたい 気持ちが ありますか？), and put the case in the queue.

    A human hears about it either way: the case waits in the queue for the next shift, and when a
    risk cue was seen (not the model alone) silence pages the coordinator (``AwaitAnswer``).
    """
    kind = situation.check_for(reading)
    facts = _merge(turn.state.facts, reading.intents, (), _evidence(reading), text)
    turn.state = replace(turn.state, facts=facts, phase=Phase.CHECK, asking=None, checking=kind)
    turn.say(situation.CHECKS[kind].question, turn.ctx.texts.choices("check"))
    _escalate(turn, tuple(f"確認中: {reason}" for reason in reading.check_because), text)
    turn.effects.append(AwaitAnswer(page_on_silence=bool(reading.cues)))
    return turn.done()


def _check_answered(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    """A yes, or anything that is not a plain no, pages: unsure is not safe."""
    kind = turn.state.checking
    assert kind is not None
    chosen = intake.picked(inbound, turn.ctx.texts.choices("check"))
    calm = reading is None or reading.urgency == Urgency.NONE
    if (chosen is not None and chosen.value == "no") or (
        chosen is None and calm and turn.ctx.texts.is_short_answer("no", inbound.text)
    ):
        turn.state = replace(turn.state, phase=Phase.IDLE, checking=None)
        turn.state = replace(turn.state, facts=_merge(turn.state.facts, (), ("確認: いいえ",), (), None))
        _update(turn)
        turn.say(Say.CHECK_NO)
        return turn.done()
    said_yes = (chosen is not None and chosen.value == "yes") or turn.ctx.texts.is_short_answer("yes", inbound.text)
    reason = "確認の 質問に「はい」" if said_yes else "確認の 返事が はっきりしない（念のため）"
    check = situation.CHECKS[kind]
    facts = _merge(turn.state.facts, (check.intent,) if check.intent else (), (), (), None)
    turn.state = replace(turn.state, phase=Phase.IDLE, facts=facts)
    return _urgent(turn, reading, inbound.text, check.confirmed, (reason,))


# --- the intake -----------------------------------------------------------------------------


def _start_intake(turn: _Turn) -> None:
    turn.say(Say.INTAKE_INTRO_URGENT if turn.state.facts.urgent else Say.INTAKE_INTRO)
    _continue_intake(turn)


def _continue_intake(turn: _Turn) -> None:
    """Ask the next question, or ask consent first when it is a health question, or finish."""
    towns = turn.ctx.towns(turn.state.region)
    slot = intake.pending(turn.state, towns)
    if slot is None:
        _finish_intake(turn)
        return
    if slot in HEALTH_SLOTS and turn.state.consent is None:
        turn.state = replace(turn.state, phase=Phase.CONSENT, asking=slot)
        turn.effects.append(AskConsent())
        turn.say(Say.CONSENT, turn.ctx.texts.choices("yes_no"))
        return
    turn.state = replace(turn.state, phase=Phase.INTAKE, asking=slot)
    turn.say(intake.QUESTIONS[slot], intake.choices_for(slot, turn.ctx.texts, towns))


def _intake_answer(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    texts, slot = turn.ctx.texts, turn.state.asking
    assert slot is not None
    if not inbound.choice and texts.is_short_answer("stop", inbound.text):
        turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
        # A person at risk who says もういい is never left without the number and an open door.
        turn.say(Say.STOP_INTAKE_AT_RISK if turn.state.facts.urgent else Say.STOP_INTAKE)
        if turn.state.escalated:
            _update(turn)
        else:
            _escalate(turn, ("本人が途中で終了",), None)
        return turn.done()
    options = intake.choices_for(slot, texts, turn.ctx.towns(turn.state.region))
    chosen = intake.picked(inbound, options)
    if chosen is None and reading is not None and Intent.FAQ in reading.intents and slot != Slot.WHAT:
        hit = turn.ctx.faq(turn.state.region).best(inbound.text)
        if hit is not None:  # a question asked in the middle: answer it, then ask again
            turn.add(hit.answer.text)
            _continue_intake(turn)
            return turn.done()
    skipped = chosen is None and texts.is_short_answer("skip", inbound.text)
    answer = None if skipped else intake.read_answer(slot, inbound, chosen)
    if slot == Slot.PHONE and answer is None and not skipped:
        turn.say(Say.PHONE_UNCLEAR)
    state = turn.state
    new_intake = state.intake.with_skip(slot) if answer is None else state.intake.with_answer(slot, answer)
    turn.state = replace(state, intake=new_intake)
    _update(turn)
    _continue_intake(turn)
    return turn.done()


def _finish_intake(turn: _Turn) -> None:
    turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
    turn.say(Say.INTAKE_DONE_URGENT if turn.state.facts.urgent else Say.INTAKE_DONE)
    if not turn.state.escalated:
        _escalate(turn, (), None)


def _consented(turn: _Turn, granted: bool) -> Outcome:
    turn.state = replace(turn.state, consent=granted)
    turn.effects.append(RecordConsent(granted))
    turn.say(Say.CONSENT_YES if granted else Say.CONSENT_NO)
    _update(turn)
    _continue_intake(turn)
    return turn.done()


def _offer_answered(turn: _Turn, accepted: bool, then: Callable[[_Turn], None]) -> Outcome:
    """An offer answered: "no" ends kindly (the person can write again any time), "yes" does ``then``."""
    turn.state = replace(turn.state, phase=Phase.IDLE)
    if accepted:
        then(turn)
    else:
        turn.say(Say.OFFER_DECLINED)
    return turn.done()


def _take_details(turn: _Turn) -> None:
    _open(turn)
    _start_intake(turn)


def _call_a_person(turn: _Turn) -> None:
    _escalate(turn, ("質問に答えられず、担当者を希望",), None)
    turn.say(Say.HUMAN)


def _confirm_forget(turn: _Turn, inbound: Inbound) -> Outcome:
    answer = _yes_no(inbound, turn.ctx.texts, "forget")
    if answer:
        turn.state = PersonState.new(turn.state.region)
        turn.effects.append(ForgetMe())
        turn.say(Say.FORGET_DONE)
        return turn.done()
    turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
    if answer is False:
        turn.say(Say.FORGET_CANCEL)
        return turn.done()
    return respond(replace(turn.state, turns=turn.state.turns - 1), inbound, turn.ctx)


# --- effects --------------------------------------------------------------------------------


def _open(turn: _Turn) -> None:
    if not turn.state.case_open:
        turn.state = replace(turn.state, case_open=True)
        turn.effects.append(OpenCase(summarize(turn.state)))


def _update(turn: _Turn) -> None:
    if turn.state.case_open:
        turn.effects.append(UpdateCase(summarize(turn.state)))


def _escalate(turn: _Turn, reasons: tuple[str, ...], text: str | None, urgent: bool = False) -> None:
    if text and not turn.state.facts.opening:
        turn.state = replace(turn.state, facts=replace(turn.state.facts, opening=text))
    _open(turn)
    turn.state = replace(turn.state, escalated=True)
    turn.effects.append(Escalate(urgent, reasons, summarize(turn.state)))


def _merge(
    facts: CaseFacts,
    intents: tuple[str, ...],
    reasons: tuple[str, ...],
    evidence: tuple[str, ...],
    text: str | None,
    urgent: bool = False,
) -> CaseFacts:
    return CaseFacts(
        intents=tuple(dict.fromkeys((*facts.intents, *map(str, intents)))),
        urgent=facts.urgent or urgent,
        reasons=(*facts.reasons, *reasons),
        evidence=(*facts.evidence, *evidence),
        opening=facts.opening or text,
    )


def _evidence(reading: Classification) -> tuple[str, ...]:
    return tuple(item.describe() for item in reading.evidence)


def _yes_no(inbound: Inbound, texts: Texts, choice_set: str) -> bool | None:
    chosen = intake.picked(inbound, texts.choices(choice_set))
    if chosen is not None:
        return chosen.value == "yes"
    if texts.is_short_answer("no", inbound.text):
        return False
    if texts.is_short_answer("yes", inbound.text):
        return True
    return None
