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
from functools import cached_property

from bot.conversation import intake, situation
from bot.conversation.answers import UNKNOWN, AnswerReader, AnswerWords, Town
from bot.conversation.casewords import CASE_WORDS
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
from bot.conversation.model import (
    HEALTH_SLOTS,
    CaseFacts,
    Check,
    Choice,
    Inbound,
    Kind,
    PersonState,
    Phase,
    Reply,
    Slot,
)
from bot.conversation.summary import summarize
from bot.conversation.texts import Say, Texts, fold
from intents import Classification, Classifier, Intent, Urgency
from knowledge.loader import KnowledgeBase
from knowledge.retrieval import FaqIndex, asks

TOPICS = (Intent.TRIAL_STAY, Intent.HOUSING_SEARCH, Intent.DEBT_OR_ABUSE)
TOPIC_TEXT = {
    Intent.TRIAL_STAY: Say.TRIAL_STAY,
    Intent.HOUSING_SEARCH: Say.HOUSING_SEARCH,
    Intent.DEBT_OR_ABUSE: Say.DEBT,
}
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
    _towns: dict[str, tuple[Town, ...]] = field(default_factory=dict)

    @cached_property
    def answers(self) -> AnswerReader:
        """Reads free-text answers (towns, who is writing, who is with them); words from ``answers.yaml``."""
        return AnswerReader(AnswerWords.load(), self.classifier.tokenizer)

    def town_forms(self, region: str) -> tuple[Town, ...]:
        """The region's towns with the ways people write them (kanji, kana, romaji)."""
        forms = self._towns.get(region)
        if forms is None:
            info = self.kb.region(region)
            forms = self._towns[region] = self.answers.towns_of(tuple(info.towns), info.town_readings)
        return forms

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

    def say(self, key: Say, choices: tuple[Choice, ...] = (), **values: str) -> None:
        self.replies.append(Reply(self.words(key, **values), choices))

    def words(self, key: Say, **values: str) -> str:
        """A message in this person's register (a supporter reads the professional one)."""
        return self.ctx.texts.say(key, self.state.region, professional=self.state.professional, **values)

    def add(self, text: str, choices: tuple[Choice, ...] = ()) -> None:
        self.replies.append(Reply(text, choices))

    def done(self) -> Outcome:
        return Outcome(self.state, tuple(self.replies), tuple(self.effects), self.reading)


def respond(state: PersonState, inbound: Inbound, ctx: Context) -> Outcome:
    """Handle one message from one person."""
    turn = _Turn(replace(state, turns=state.turns + 1), ctx)
    texts = ctx.texts
    if inbound.kind != Kind.TEXT and turn.state.human is not None:
        return _with_human(turn, inbound, None)
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
    if turn.state.human is not None:
        return _with_human(turn, inbound, reading)
    if reading is not None and "professional" in reading.terms:
        turn.state = replace(turn.state, professional=True)

    if reading is not None and _is_news(turn, reading):
        _learn(turn, inbound.text)
        if reading.urgency == Urgency.CHECK and situation.check_for(reading) == Check.CRISIS:
            return _check(turn, reading, inbound.text)  # 「前は死にたいと思ってた」 mid-intake: asked, directly
        return _urgent(turn, reading, inbound.text)  # urgent news first, whatever was pending
    if turn.state.phase == Phase.CHECK and turn.state.checking is not None:
        return _check_answered(turn, inbound, reading)
    if reading is not None and reading.urgency == Urgency.CHECK and not turn.state.facts.urgent:
        _learn(turn, inbound.text)
        return _check(turn, reading, inbound.text)

    late = _late_button(turn, inbound)
    if late is not None:
        return late
    if turn.state.phase == Phase.CONSENT:
        answer = _yes_no(inbound, texts, "yes_no")
        if answer is not None:
            return _consented(turn, answer)
        if _answered_in_passing(turn, inbound, reading):
            return turn.done()
    elif turn.state.phase == Phase.OFFER_INTAKE:
        answer = _yes_no(inbound, texts, "offer", reading)
        if answer is not None:
            return _offer_answered(turn, answer, _take_details)
    elif turn.state.phase == Phase.OFFER_HUMAN:
        answer = _yes_no(inbound, texts, "human", reading)
        if answer is not None:
            return _offer_answered(turn, answer, _call_a_person)
    elif turn.state.phase == Phase.INTAKE and turn.state.asking is not None:
        return _intake_answer(turn, inbound, reading)
    telling = turn.state.phase == Phase.TELLING
    turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
    if not inbound.choice:
        _learn(turn, inbound.text)
    return _fresh(turn, inbound, reading, telling=telling)


def join(state: PersonState, ctx: Context, name: str | None) -> Outcome:
    """A coordinator claimed the case: the bot stops asking and tells the person, once, who is reading.

    ``name``: how the coordinator chose to be named to the person; None names the role only.
    From now on the person's messages go to the coordinator and the bot stays quiet (``_with_human``).
    """
    turn = _Turn(replace(state, phase=Phase.IDLE, asking=None, checking=None, human=name or ""), ctx)
    if name:
        turn.say(Say.CLAIMED_BY, name=name)
    else:
        turn.say(Say.CLAIMED)
    return turn.done()


def close(state: PersonState) -> PersonState:
    """The case was resolved: a fresh start with the bot, keeping only what the person agreed to.

    The person can always come back; their next message is read afresh and opens a new case when needed.
    """
    return PersonState(region=state.region, consent=state.consent, professional=state.professional)


def closing_text(ctx: Context, region: str, name: str | None, *, professional: bool = False) -> str:
    """The kind default a coordinator may send (and edit) when resolving a case."""
    if name:
        return ctx.texts.say(Say.CLOSING, region, professional=professional, name=name)
    return ctx.texts.say(Say.CLOSING_ANONYMOUS, region, professional=professional)


def _with_human(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    """A coordinator has the case: never talk over them.

    The message reaches the case (the desk keeps every message); the bot says nothing, except when
    it brings new urgent danger: then the number to call comes at once and the coordinator who
    holds the case is alerted, but no question is asked.
    """
    if inbound.kind == Kind.MEDIA:
        turn.effects.append(NoteReceived(inbound.text))
        return turn.done()
    if reading is not None and _is_news(turn, reading):
        pending = turn.state.checking
        turn.say(situation.first_reply(reading, pending, professional=turn.state.professional))
        because = reading.urgent_because or reading.check_because
        turn.state = replace(
            turn.state, facts=_merge(turn.state.facts, reading.intents, because, _evidence(reading), None, urgent=True)
        )
        _escalate(turn, because, inbound.text, urgent=True, news=True)
    return turn.done()


def _asks_about(reading: Classification | None, text: str, *, any_topic: bool = False) -> bool:
    """A question, not a request: 「データ削除とかもできるんでしょうか？」 asks how deleting works.

    ``any_topic``: any question, not only one the classifier read as ``faq``.
    """
    return reading is not None and asks(text) and (any_topic or Intent.FAQ in reading.intents)


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


def _fresh(turn: _Turn, inbound: Inbound, reading: Classification | None, *, telling: bool = False) -> Outcome:
    """A message read afresh. ``telling``: it answers 「なにが ありましたか？」 (the menu's いま こまっている)."""
    texts, region = turn.ctx.texts, turn.state.region
    button = intake.picked(inbound, texts.choices("menu"))
    menu = button.value if button is not None else None
    if menu == "menu:urgent":
        turn.state = replace(turn.state, phase=Phase.TELLING)
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
        _escalate(turn, (CASE_WORDS.reasons.asked_for_person,), inbound.text)
        turn.say(Say.HUMAN)
        return turn.done()

    intents = set(reading.intents)
    topic = next((intent for intent in reading.intents if intent in TOPICS), None)
    question = _asks_about(reading, inbound.text, any_topic=True)
    # A question is looked up even when the classifier read it as small talk, and so is a message on a
    # topic with a general answer (a specific entry, 連帯保証人がいない, answers it better than the
    # general text); anything else is answered when the knowledge base is sure of it
    # (「救急車を呼ぶべきか迷っています」). The FAQ index decides, and declines when it does not know.
    general = topic is not None and topic in texts.spec.topic_answers
    hit = turn.ctx.faq(region).best(inbound.text, sure=not (question or general or Intent.FAQ in intents))
    if hit is not None:
        turn.add(hit.answer.text)
    elif Intent.FAQ in intents and topic is None:
        turn.state = replace(turn.state, phase=Phase.OFFER_HUMAN)
        turn.say(Say.NOT_SURE, texts.choices("human"))
        return turn.done()
    if topic is not None:
        unanswered = question and hit is None
        _offer_topic(turn, topic, inbound.text, reading, answered=hit is not None, unanswered=unanswered)
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
    if telling or (turn.state.turns > 1 and len(fold(inbound.text)) > SHORT_MESSAGE):
        return _heard(turn, inbound.text)  # a story after the first message: heard, not met with a menu
    return _nudge(turn, inbound.text)


NUDGES = (Say.NUDGE_FIRST, Say.NUDGE_AGAIN, Say.NUDGE_MENU)
SHORT_MESSAGE = 8  # characters: 😢, 「…」, 「ねむれない」, 「ひま」


def _nudge(turn: _Turn, text: str) -> Outcome:
    """A message the bot cannot place: answered as a person would, never the same words twice in a row.

    The greeting and its menu come once, for a first message that is more than a word; an emoji, 「…」
    or one word gets a human question instead; later ones alternate between two other answers, the
    menu coming back only with other words.
    """
    texts, count = turn.ctx.texts, turn.state.nudges
    if count == 0:
        short = len(fold(text)) <= SHORT_MESSAGE and not texts.means("hello", text)
        key = Say.NUDGE_FIRST if short else Say.GREETING
    else:
        key = NUDGES[1 + (count - 1) % (len(NUDGES) - 1)]
    turn.say(key, texts.choices("menu") if key in {Say.GREETING, Say.NUDGE_MENU} else ())
    turn.state = replace(turn.state, nudges=count + 1)
    return turn.done()


def _heard(turn: _Turn, text: str) -> Outcome:
    """A story the bot cannot place after the first message (or the trouble written after 「いま こまっている」):
    heard, and an offer to pass it on, never the greeting again."""
    turn.state = replace(turn.state, facts=_merge(turn.state.facts, (), (), (), text), phase=Phase.OFFER_INTAKE)
    ack = turn.words(Say.ACK_THANKS)
    turn.add(f"{ack}\n{turn.words(Say.OFFER_INTAKE)}", turn.ctx.texts.choices("offer"))
    return turn.done()


def _offer_topic(
    turn: _Turn,
    topic: Intent,
    text: str,
    reading: Classification | None = None,
    *,
    answered: bool = False,
    unanswered: bool = False,
) -> None:
    """A short word on the topic, its general answer unless the question was answered already, and an
    offer to take details.

    ``unanswered``: the person asked something the knowledge base cannot answer (グループホームに
    ペットは?). The topic's general text would answer another question, so they are told plainly that
    a person will find out, and offered the intake.
    """
    region = turn.state.region
    turn.say(TOPIC_TEXT[topic])
    if unanswered and topic in turn.ctx.texts.spec.topic_answers:
        turn.say(Say.TOPIC_UNANSWERED)
    answer_id = None if answered or unanswered else turn.ctx.texts.spec.topic_answers.get(topic)
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


def _is_news(turn: _Turn, reading: Classification) -> bool:
    """Urgent, and new: the first urgent message, or danger the case did not know of yet.

    Once a case is urgent, "ひとりです" or 「母は救急車で運ばれました」 answer or add to it, and 「死にたい」
    written again is the same danger (the bot stays with the person, ``Say.STILL_HERE``); paging again
    for them would only bury the coordinator. A second person in danger (「父も倒れそう」), or a crisis on
    top of a carer's collapse, is news, even when that message alone would only be a check.
    """
    state = turn.state
    if not reading.raised:
        return False
    if not state.facts.urgent:
        return reading.urgent
    known = {_danger(reason, turn.ctx.answers) for reason in state.facts.reasons}
    seen = {_danger(reason, turn.ctx.answers) for reason in (*reading.urgent_because, *reading.check_because)}
    new_intents = set(map(str, reading.intents)) - set(state.facts.intents) - {Intent.FAQ, Intent.OTHER}
    return bool({danger for danger in seen if danger[0]} - known) or (reading.urgent and bool(new_intents))


def _danger(reason: str, reader: AnswerReader) -> tuple[str, frozenset[str]]:
    """Which danger a reason names: its rule and the people in it (「rule carer_taken_ill: 倒れ+父」 ->
    carer_taken_ill, {父}); ("", {}) for the model's reasons, which name no danger of their own."""
    rule, _, words = reason.removeprefix("rule ").partition(": ")
    if not reason.startswith("rule "):
        return "", frozenset()
    return rule, frozenset(word for word in words.split("+") if word in reader.people)


def _urgent(
    turn: _Turn, reading: Classification | None, text: str, first: Say | None = None, reasons: tuple[str, ...] = ()
) -> Outcome:
    """The number to call now, a page to the coordinator, then the intake (or where it left off).

    On a case already urgent this is news (a second emergency mid-intake): the situation's first words
    acknowledge it with the number, and the coordinators hear of it again (``Escalate.news``).
    """
    already = turn.state.facts.urgent
    pending = turn.state.checking
    if first is None:
        professional = turn.state.professional
        first = situation.first_reply(reading, pending, professional=professional) if reading else Say.URGENT
    turn.say(first)
    intents = reading.intents if reading is not None else ()
    seen = (*reading.urgent_because, *reading.check_because) if reading is not None else ()
    because = (*seen, *reasons)
    evidence = _evidence(reading) if reading is not None else ()
    facts = _merge(turn.state.facts, intents, because, evidence, text, urgent=True)
    was = turn.state.phase
    turn.state = replace(turn.state, facts=facts, checking=None)
    _escalate(turn, because, text, urgent=True, news=already)
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
    # A plain question that names a risk (「虐待を通報する番号って何番？」) is answered first, then asked about.
    hit = turn.ctx.faq(turn.state.region).best(text) if _asks_about(reading, text, any_topic=True) else None
    if hit is not None:
        turn.add(hit.answer.text)
    turn.say(situation.CHECKS[kind].question, turn.ctx.texts.choices("check"))
    _escalate(turn, tuple(CASE_WORDS.reasons.checking.format(reason=reason) for reason in reading.check_because), text)
    turn.effects.append(AwaitAnswer(page_on_silence=bool(reading.cues)))
    return turn.done()


#: Checks where 「もういい」 ends the questions without a page (the case stays in the queue, the numbers are
#: given): tiredness, a bed tonight, a general worry. About a wish to die, violence or lenders it pages.
QUIET_STOP_CHECKS = frozenset({Check.CARER, Check.HOUSING, Check.GENERAL})


def _check_answered(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    """A yes, or anything that is not a plain no, pages: unsure is not safe."""
    kind = turn.state.checking
    assert kind is not None
    chosen = intake.picked(inbound, turn.ctx.texts.choices("check"))
    if chosen is None and inbound.kind == Kind.TEXT:
        _learn(turn, inbound.text)  # 「あたし妹」 for an answer: unclear, so it pages, but it says who writes
    calm = reading is None or reading.urgency == Urgency.NONE
    if (chosen is not None and chosen.value == "no") or (
        chosen is None and calm and turn.ctx.texts.is_plain_answer("no", inbound.text)
    ):
        turn.state = replace(turn.state, phase=Phase.IDLE, checking=None)
        turn.state = replace(turn.state, facts=_merge(turn.state.facts, (), (CASE_WORDS.reasons.check_no,), (), None))
        _update(turn)
        turn.say(Say.CHECK_NO)
        return turn.done()
    stops = chosen is None and calm and turn.ctx.texts.means("stop", inbound.text)
    if stops and kind in QUIET_STOP_CHECKS:  # 「やっぱやめる」 to a question about tiredness: no more questions
        turn.state = replace(turn.state, phase=Phase.IDLE, checking=None)
        turn.state = replace(
            turn.state, facts=_merge(turn.state.facts, (), (CASE_WORDS.reasons.check_stopped,), (), None)
        )
        _update(turn)
        turn.say(Say.STOP_INTAKE_AT_RISK)  # the numbers and an open door; the case stays in the queue
        return turn.done()
    said_yes = (chosen is not None and chosen.value == "yes") or turn.ctx.texts.is_short_answer("yes", inbound.text)
    reason = CASE_WORDS.reasons.check_yes if said_yes else CASE_WORDS.reasons.check_unclear
    check = situation.CHECKS[kind]
    facts = _merge(turn.state.facts, (check.intent,) if check.intent else (), (), (), None)
    turn.state = replace(turn.state, phase=Phase.IDLE, facts=facts)
    return _urgent(turn, reading, inbound.text, check.confirmed, (reason,))


# --- the intake -----------------------------------------------------------------------------


def _start_intake(turn: _Turn) -> None:
    turn.say(Say.INTAKE_INTRO_URGENT if turn.state.facts.urgent else Say.INTAKE_INTRO)
    _continue_intake(turn)


def _continue_intake(turn: _Turn, ack: str | None = None) -> None:
    """Ask the next question, or ask consent first when it is a health question, or finish.

    ``ack``: the short mirror of what the person just said, which comes before the question.
    """
    towns = turn.ctx.towns(turn.state.region)
    slot = intake.pending(turn.state, towns)
    if slot is None:
        if ack:
            turn.add(ack)
        _finish_intake(turn)
        return
    if slot in HEALTH_SLOTS and turn.state.consent is None:
        turn.state = replace(turn.state, phase=Phase.CONSENT, asking=slot)
        turn.effects.append(AskConsent())
        _ask(turn, ack, Say.CONSENT, turn.ctx.texts.choices("yes_no"))
        return
    turn.state = replace(turn.state, phase=Phase.INTAKE, asking=slot)
    _ask(turn, ack, intake.QUESTIONS[slot], intake.choices_for(slot, turn.ctx.texts, towns))


def _ask(turn: _Turn, ack: str | None, question: Say, choices: tuple[Choice, ...]) -> None:
    """One bubble: the acknowledgement, then the question with its buttons."""
    text = turn.words(question)
    turn.add(f"{ack}\n{text}" if ack else text, choices)


def _answered_in_passing(turn: _Turn, inbound: Inbound, reading: Classification | None) -> bool:
    """A question asked while the bot waits for the consent answer (「てかこれお金かかるの？」): answered,
    then the consent asked again, so the intake does not end on an answer to something else."""
    if reading is None or reading.raised or not _asks_about(reading, inbound.text, any_topic=True):
        return False
    hit = turn.ctx.faq(turn.state.region).best(inbound.text)
    if hit is None:
        return False
    turn.add(hit.answer.text)
    _continue_intake(turn)
    return True


def _intake_answer(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    """Only what answers the pending question fills it; a question is answered, a story is heard."""
    texts, slot = turn.ctx.texts, turn.state.asking
    assert slot is not None
    stops = texts.is_short_answer("stop", inbound.text) or (
        texts.means("stop", inbound.text) and (turn.state.facts.urgent or reading is None or not reading.raised)
    )
    if not inbound.choice and stops:  # もういい, やっぱりやめる, もういいです、寝ます
        return _stop_intake(turn)
    options = intake.choices_for(slot, texts, turn.ctx.towns(turn.state.region))
    chosen = intake.picked(inbound, options)
    if chosen is None and reading is not None and Intent.FAQ in reading.intents and slot != Slot.WHAT:
        hit = turn.ctx.faq(turn.state.region).best(inbound.text)
        if hit is not None:  # a question asked in the middle: answer it, then ask again (or what is left)
            before = turn.state.intake
            _learn(turn, inbound.text)  # 「釧路市に住んでいます。…相談できないんでしょうか」 says the town too
            if turn.state.intake != before:
                _update(turn)
            turn.add(hit.answer.text)
            _continue_intake(turn)
            return turn.done()
    if chosen is not None:
        answer = intake.read_choice(chosen)
    elif texts.is_short_answer("skip", inbound.text):
        answer = None
    else:
        answer = intake.read_free(slot, inbound.text, turn.ctx.answers, turn.ctx.town_forms(turn.state.region))
        before = turn.state.intake
        _learn(turn, inbound.text)
        learned = [key for key, _ in turn.state.intake.answers if not before.done(key)]
        if answer == inbound.text.strip() and (learned or _other_fact(turn, slot, inbound.text)):
            # 「ラウス」 or 「私は姉です」 while asked who is with them: another fact, not the answer
            ack = _ack(turn, learned[0], turn.state.intake.get(learned[0])) if learned else turn.words(Say.ACK_THANKS)
            _update(turn)
            _continue_intake(turn, ack)
            return turn.done()
        if answer is None and slot == Slot.PHONE and not _tells_something(reading):
            turn.say(Say.PHONE_UNCLEAR)
        elif answer is None:
            return _story(turn, inbound, reading)
    state = turn.state
    new_intake = state.intake.with_skip(slot) if answer is None else state.intake.with_answer(slot, answer)
    turn.state = replace(state, intake=new_intake, reasked=False)
    if slot == Slot.ROLE and answer == "支援者":
        turn.state = replace(turn.state, professional=True)
    _update(turn)
    _continue_intake(turn, _ack(turn, slot, answer))
    return turn.done()


def _other_fact(turn: _Turn, slot: Slot, text: str) -> bool:
    """The message states another question's answer (a town, who is writing), already known or not."""
    reader = turn.ctx.answers
    if slot != Slot.ROLE and reader.role(text) is not None:
        return True
    return slot != Slot.TOWN and reader.town(text, turn.ctx.town_forms(turn.state.region)) is not None


def _late_button(turn: _Turn, inbound: Inbound) -> Outcome | None:
    """A button of an earlier question pressed now (「ひとり」 after the bot learned it already and moved on):
    the answer is kept, and the question now pending is asked again. None when it is not such a press."""
    slot_name, _, value = (inbound.choice or "").partition(":")
    slot = SLOTS.get(slot_name)
    if slot is None or not value or turn.state.phase not in {Phase.INTAKE, Phase.CONSENT} or slot == turn.state.asking:
        return None
    answer = intake.read_choice(Choice(inbound.text, value=inbound.choice or ""))
    if answer is None:
        return None
    turn.state = replace(turn.state, intake=turn.state.intake.with_answer(slot, answer))
    _update(turn)
    _continue_intake(turn, _ack(turn, slot, answer))
    return turn.done()


SLOTS = {str(slot): slot for slot in Slot}


def _tells_something(reading: Classification | None) -> bool:
    """The message says something of its own (an intent, a risk), not just a failed answer."""
    return reading is not None and (reading.raised or bool(set(reading.intents) - {Intent.OTHER}))


def _story(turn: _Turn, inbound: Inbound, reading: Classification | None) -> Outcome:
    """Something told mid-intake that is not the answer (「いま妹は泣いています」): heard and passed on.

    The pending question comes again once; if the person tells more instead of answering, it is
    skipped rather than asked a third time.
    """
    at_risk_again = reading is not None and reading.raised and turn.state.facts.urgent
    turn.say(Say.STILL_HERE if at_risk_again else Say.STORY_NOTED)
    intents = tuple(i for i in (reading.intents if reading is not None else ()) if i != Intent.OTHER)
    turn.state = replace(turn.state, facts=_merge(turn.state.facts, intents, (), (), None))
    _learn(turn, inbound.text)
    slot = turn.state.asking
    if slot is not None and turn.state.reasked:
        turn.state = replace(turn.state, intake=turn.state.intake.with_skip(slot), reasked=False)
    elif slot is not None:
        turn.state = replace(turn.state, reasked=True)
    _update(turn)
    _continue_intake(turn)
    return turn.done()


def _stop_intake(turn: _Turn) -> Outcome:
    """もういい: no more questions. A person at risk keeps the number and an open door; the case stays."""
    turn.state = replace(turn.state, phase=Phase.IDLE, asking=None)
    turn.say(Say.STOP_INTAKE_AT_RISK if turn.state.facts.urgent else Say.STOP_INTAKE)
    if turn.state.escalated:
        _update(turn)
    else:
        _escalate(turn, (CASE_WORDS.reasons.stopped,), None)
    return turn.done()


ROLE_ACKS = {"本人": Say.ACK_SELF, "家族": Say.ACK_FAMILY, "支援者": Say.ACK_SUPPORTER}
OTHERS_ACKS = {"ひとり": Say.ACK_ALONE, "家族がいる": Say.ACK_WITH_FAMILY, "支援者がいる": Say.ACK_WITH_SUPPORTER}


def _ack(turn: _Turn, slot: Slot, answer: str | None) -> str:
    """A short mirror of the answer (「ひとりなんですね。」), said before the next question."""
    if answer is None:
        return turn.words(Say.ACK_SKIP)
    if answer == UNKNOWN:
        return turn.words(Say.ACK_UNKNOWN)
    if slot == Slot.TOWN and answer in turn.ctx.towns(turn.state.region):
        return turn.words(Say.ACK_TOWN, town=answer)
    table = ROLE_ACKS if slot == Slot.ROLE else OTHERS_ACKS if slot == Slot.OTHERS else {}
    return turn.words(table.get(answer, Say.ACK_THANKS))


def _learn(turn: _Turn, text: str) -> None:
    """Facts a message gives besides its answer (a town, who is writing, who is with them): filled once,
    never asked again."""
    reader, state = turn.ctx.answers, turn.state
    found: list[tuple[Slot, str]] = []
    if not state.intake.done(Slot.TOWN):
        forms = turn.ctx.town_forms(state.region)
        town = reader.home_town(text, forms) or reader.town(text, forms)
        if town is None and reader.says_town_unknown(text):
            town = UNKNOWN
        if town is not None:
            found.append((Slot.TOWN, town))
    if not state.intake.done(Slot.ROLE):
        role = reader.role(text) or _family_writing(turn, text)
        if role is not None:
            found.append((Slot.ROLE, role))
    if not state.intake.done(Slot.OTHERS):
        others = reader.others(text, answering=False) or _writer_with_them(turn, text, found)
        if others is not None:
            found.append((Slot.OTHERS, others))
    new_intake = state.intake
    for slot, value in found:
        new_intake = new_intake.with_answer(slot, value)
    professional = state.professional or (Slot.ROLE, "支援者") in found
    turn.state = replace(state, intake=new_intake, professional=professional)


def _writer_with_them(turn: _Turn, text: str, found: list[tuple[Slot, str]]) -> str | None:
    """The writer is with the person (「私が付き添っております」): a supporter or a family member is there."""
    if not turn.ctx.answers.writer_is_with_them(text):
        return None
    role = dict(found).get(Slot.ROLE) or turn.state.intake.get(Slot.ROLE)
    if turn.state.professional or role == "支援者":
        return "支援者がいる"
    return "家族がいる" if role == "家族" else None


#: Terms that say the message is about caring for someone with a disability.
CARE_TERMS = frozenset({"dependent", "care_work", "carer", "carer_down", "care_gap"})


def _family_writing(turn: _Turn, text: str) -> str | None:
    """「自閉症の息子と二人で暮らしています」: a family member writing about the person they care for.

    Only when the message is about care and names a family member, and the writer is not a supporter
    (a young person writing 「親に殴られた」 is writing about themselves).
    """
    reading = turn.reading
    if reading is None or turn.state.professional or "professional" in reading.terms:
        return None
    if not reading.terms & CARE_TERMS or Intent.CRISIS in reading.intents:
        return None
    return "家族" if turn.ctx.answers.names_family(text) else None


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
    _escalate(turn, (CASE_WORDS.reasons.could_not_answer,), None)
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


def _escalate(
    turn: _Turn, reasons: tuple[str, ...], text: str | None, urgent: bool = False, *, news: bool = False
) -> None:
    if text and not turn.state.facts.opening:
        turn.state = replace(turn.state, facts=replace(turn.state.facts, opening=text))
    _open(turn)
    turn.state = replace(turn.state, escalated=True)
    turn.effects.append(Escalate(urgent, reasons, summarize(turn.state), news=news))


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


def _yes_no(inbound: Inbound, texts: Texts, choice_set: str, reading: Classification | None = None) -> bool | None:
    """A button, a plain yes or no, or (to an offer, ``reading`` given) 「やっぱ もういいわ」: a no, unless
    the words carry any risk (then the message is read afresh, never taken as a polite no)."""
    chosen = intake.picked(inbound, texts.choices(choice_set))
    if chosen is not None:
        return chosen.value == "yes"
    if texts.is_short_answer("no", inbound.text):
        return False
    if texts.is_short_answer("yes", inbound.text):
        return True
    if reading is not None and not reading.raised and texts.means("stop", inbound.text):
        return False
    return None
