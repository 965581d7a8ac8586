"""Scripted dialogues written by people who did not write the engine, run against the pure engine.

The dialogues are data (``tests/bot/dialogues/*.yaml``; the brief their writers had is summarised in
``tests/bot/dialogues/README.md``). Each ``expect`` key is a property of the turn that the
specification makes certain (a number to call was given, the coordinator was paged, the town was
understood, the bot stayed silent after a coordinator joined), never exact wording, so the texts can
be improved without touching the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.conversation import Context, Inbound, Kind, Outcome, PersonState, Phase, Slot, respond
from bot.conversation.answers import UNKNOWN
from bot.conversation.effects import Escalate
from bot.conversation.engine import close, closing_text, join
from bot.conversation.intake import QUESTIONS
from bot.conversation.model import Reply
from bot.conversation.texts import Say
from tests.bot.dialogue import NIGHT

FOLDER = Path(__file__).with_name("dialogues")
SLOTS = {slot.value: slot for slot in Slot}
FACT_SLOTS = {"town": Slot.TOWN, "role": Slot.ROLE, "others": Slot.OTHERS}
SITUATIONS = {
    "own_crisis": Say.CRISIS,
    "medical_other": Say.MEDICAL_OTHER,
    "violence": Say.ABUSE,
    "lenders": Say.COLLECTOR,
    "carer_limit": Say.CARER_LIMIT,
    "carer_down": Say.CAREGIVER_EMERGENCY,
    "housing_tonight": Say.HOUSING_TONIGHT,
    "supporter_bed": Say.SUPPORTER_BED,
}
#: At a check the situation shows in the question (「いま、体や 心が 限界で…」), not yet in a first reply.
CHECK_WORDS = {
    "own_crisis": Say.CHECK_CRISIS,
    "violence": Say.CHECK_VIOLENCE,
    "lenders": Say.CHECK_COLLECTOR,
    "carer_limit": Say.CHECK_CARER,
    "housing_tonight": Say.CHECK_HOUSING,
}
NUMBERS = re.compile(r"119|110|#9110|0120-\d|0153-73-3178|0570-\d")
WAITING = (Phase.INTAKE, Phase.CONSENT, Phase.CHECK)


KNOWN_FAILURES: dict[str, str] = yaml.safe_load((FOLDER / "known_failures.yaml").read_text("utf-8")) or {}


def _dialogues() -> list[dict[str, Any]]:
    found = []
    for path in sorted(FOLDER.glob("*.yaml")):
        if path.name != "known_failures.yaml":
            found.extend(yaml.safe_load(path.read_text("utf-8")))
    return found


DIALOGUES = _dialogues()


def _param(script: dict[str, Any]) -> Any:
    known = KNOWN_FAILURES.get(script["id"])
    marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
    return pytest.param(script, id=script["id"], marks=marks)


@dataclass
class Turn:
    outcome: Outcome
    state: PersonState  # after the turn
    person: bool  # the person wrote (not a coordinator action)

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.outcome.replies)


@dataclass
class Run:
    ctx: Context
    region: str
    state: PersonState = field(init=False)
    turns: list[Turn] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = PersonState.new(self.region)

    def step(self, spec: dict[str, Any]) -> Turn:
        if "person" in spec:
            outcome = respond(self.state, Inbound(str(spec["person"]), NIGHT), self.ctx)
        elif "press" in spec:
            outcome = respond(self.state, self._button(str(spec["press"])), self.ctx)
        elif "sticker" in spec:
            outcome = respond(self.state, Inbound("（スタンプ）", NIGHT, kind=Kind.MEDIA), self.ctx)
        else:
            outcome = self._coordinator(spec["coordinator"])
        self.state = outcome.state
        turn = Turn(outcome, self.state, person="coordinator" not in spec)
        self.turns.append(turn)
        return turn

    def _button(self, label: str) -> Inbound:
        """The button with this label on the bot's last replies, as LINE or Telegram sends it."""
        for turn in reversed(self.turns):
            for reply in reversed(turn.outcome.replies):
                for choice in reply.choices:
                    if choice.label == label:
                        return Inbound(choice.label, NIGHT, choice.value)
            if turn.outcome.replies:
                break
        raise AssertionError(f"no button {label!r} on the last reply")

    def _coordinator(self, action: dict[str, Any]) -> Outcome:
        """What the desk does when a coordinator claims or resolves (bot.desk.casework), on the pure engine."""
        if "claim" in action:
            return join(self.state, self.ctx, action["claim"])
        closing = action["resolve"]
        name = self.state.human or None
        replies: tuple[Reply, ...] = ()
        if closing == "default":
            replies = (Reply(closing_text(self.ctx, self.region, name, professional=self.state.professional)),)
        elif closing not in (None, "none"):
            replies = (Reply(str(closing)),)
        return Outcome(close(self.state), replies)


def _asking(state: PersonState) -> str:
    if state.phase == Phase.CONSENT:
        return "consent"
    if state.phase == Phase.CHECK:
        return "check"
    if state.phase == Phase.INTAKE and state.asking is not None:
        return state.asking.value
    return "none"


def _fact(run: Run, state: PersonState, key: str) -> str | None:
    value = state.intake.get(FACT_SLOTS[key])
    if value == UNKNOWN:
        return "unknown"
    if key == "town" and value is not None and value not in run.ctx.towns(run.region):
        return "other"
    return value


def _question_first(run: Run, turn: Turn) -> bool:
    """The turn opens with the question it asks, with nothing kind before it."""
    asked = _asking(turn.state)
    if asked in ("none", "check"):
        return False
    key = Say.CONSENT if asked == "consent" else QUESTIONS[SLOTS[asked]]
    question = run.ctx.texts.say(key, run.region, professional=turn.state.professional)
    return turn.text.startswith(question)


def check(run: Run, turn: Turn, expect: dict[str, Any], index: int) -> list[str]:
    """The expectations this turn does not meet, in words."""
    failed: list[str] = []
    effects = turn.outcome.effects
    menu = {choice.label for choice in run.ctx.texts.choices("menu")}
    previous = next((t for t in reversed(run.turns[:index]) if t.person), None)
    checks = {
        "numbers": lambda v: bool(NUMBERS.search(turn.text)) == v,
        "pages": lambda v: any(isinstance(e, Escalate) and e.urgent for e in effects) == v,
        "queued": lambda v: turn.state.escalated == v,
        "asks": lambda v: _asking(turn.state) == v,
        "not_asks": lambda v: _asking(turn.state) not in v,
        "fact": lambda v: all(_fact(run, turn.state, k) == want for k, want in v.items()),
        "acknowledges": lambda v: (not _question_first(run, turn)) == v,
        "menu": lambda v: any({c.label for c in r.choices} == menu for r in turn.outcome.replies) == v,
        "silent": lambda v: (not turn.outcome.replies) == v,
        "differs_from_previous": lambda v: (previous is None or previous.text != turn.text) == v,
        "tells_person": lambda v: bool(turn.outcome.replies) == v,
        "contains": lambda v: all(str(item) in turn.text for item in v),
        "register": lambda v: turn.state.professional == (v == "professional"),
        "situation": lambda v: any(
            run.ctx.texts.say(key, run.region) in turn.text for key in (SITUATIONS[v], CHECK_WORDS.get(v)) if key
        ),
    }
    for key, want in expect.items():
        if not checks[key](want):
            failed.append(f"turn {index + 1}: {key}={want!r}")
    return failed


@pytest.mark.parametrize("script", [_param(script) for script in DIALOGUES])
def test_dialogue(ctx: Context, script: dict[str, Any]) -> None:
    run = Run(ctx, script.get("region", "nemuro"))
    failed: list[str] = []
    never = set(script.get("never_asks", []))
    for index, spec in enumerate(script["turns"]):
        turn = run.step(spec)
        failed += check(run, turn, spec.get("expect") or {}, index)
        if _asking(turn.state) in never:
            failed.append(f"turn {index + 1}: asked {_asking(turn.state)}, which it must never ask here")
    transcript = "\n".join(
        f"> {spec.get('person') or spec.get('press') or spec.get('coordinator') or '(sticker)'}\n{turn.text}"
        for spec, turn in zip(script["turns"], run.turns, strict=True)
    )
    assert not failed, f"{script['about']}\n{failed}\n{transcript}"


def test_the_dialogues_are_many_and_well_formed() -> None:
    """At least 60 dialogues; every turn does one thing; ids are unique."""
    assert len(DIALOGUES) >= 60
    assert len({d["id"] for d in DIALOGUES}) == len(DIALOGUES)
    assert set(KNOWN_FAILURES) <= {d["id"] for d in DIALOGUES}
    for script in DIALOGUES:
        for spec in script["turns"]:
            assert len({"person", "press", "sticker", "coordinator"} & set(spec)) == 1, script["id"]
