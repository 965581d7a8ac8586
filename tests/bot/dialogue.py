"""A small driver for engine tests: send messages, keep the state, collect what came back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.conversation import Context, Inbound, Outcome, PersonState, respond
from bot.conversation.effects import Effect

NIGHT = dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)  # 02:00 in Asia/Tokyo


@dataclass
class Dialogue:
    ctx: Context
    region: str = "nemuro"
    state: PersonState = field(init=False)
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = PersonState.new(self.region)

    def say(self, text: str, choice: str | None = None) -> Outcome:
        outcome = respond(self.state, Inbound(text, NIGHT, choice), self.ctx)
        self.state = outcome.state
        self.outcomes.append(outcome)
        return outcome

    def press(self, label: str) -> Outcome:
        """Press the button with this label on the last reply, as LINE or Telegram would send it."""
        last = self.outcomes[-1].replies[-1]
        choice = next(c for c in last.choices if c.label == label)
        return self.say(choice.label, choice.value)

    @property
    def effects(self) -> list[Effect]:
        return [effect for outcome in self.outcomes for effect in outcome.effects]

    def effects_of(self, kind: type) -> list[Effect]:
        return [effect for effect in self.effects if isinstance(effect, kind)]
