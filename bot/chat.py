"""``madoguchi chat``: talk to the bot in the terminal, as a person would.

Quick-reply buttons are shown numbered; typing the number presses the button.
What the bot would do behind the scenes (open a case, page the coordinator, ask
consent, forget) is shown in brackets, with the case summary a coordinator
would read. Conversation state lives in memory for now: cases and the
coordinator queue are stored by the storage layer of a later issue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.conversation import Context, Escalate, Inbound, Outcome, PersonState, Reply, respond
from bot.conversation.effects import AskConsent, ForgetMe, OpenCase, RecordConsent, UpdateCase

Printer = Callable[[str], None]


def _show_reply(reply: Reply, echo: Printer) -> None:
    echo("まどぐち> " + reply.text.replace("\n", "\n          "))
    if reply.choices:
        echo("          " + "  ".join(f"[{i}] {c.label}" for i, c in enumerate(reply.choices, start=1)))


def _show_effects(outcome: Outcome, echo: Printer) -> None:
    for effect in outcome.effects:
        if isinstance(effect, Escalate):
            how = "PAGED NOW" if effect.urgent else "queue"
            echo(f"  [coordinator {how}: {'; '.join(effect.reasons) or 'intake done'}]")
            for line in effect.summary.lines():
                echo(f"  [  {line}]")
        elif isinstance(effect, OpenCase):
            echo("  [case opened]")
        elif isinstance(effect, ForgetMe):
            echo("  [this person's messages and personal fields deleted]")
        elif isinstance(effect, RecordConsent):
            echo(f"  [consent to keep health details: {'yes' if effect.granted else 'no'}]")
        elif isinstance(effect, (AskConsent, UpdateCase)):
            continue


def _inbound(text: str, last: Reply | None) -> Inbound:
    now = dt.datetime.now(dt.UTC)
    if last is not None and text.isdigit() and 1 <= int(text) <= len(last.choices):
        choice = last.choices[int(text) - 1]
        return Inbound(choice.label, now, choice.value)
    return Inbound(text, now)


def run_chat(ctx: Context, region: str, read: Callable[[str], str], echo: Printer = print) -> None:
    """The loop; ``read`` is ``input`` in a terminal and a list in tests. Ends on EOF or Ctrl-C."""
    state = PersonState.new(region)
    echo(f"（{ctx.kb.region(region).name}・ためしの会話です。番号を打つとボタンを押せます。終わるときは Ctrl-D）")
    last: Reply | None = None
    while True:
        try:
            text = read("あなた> ")
        except (EOFError, KeyboardInterrupt):
            echo("")
            return
        if not text.strip():
            continue
        outcome = respond(state, _inbound(text.strip(), last), ctx)
        state = outcome.state
        for reply in outcome.replies:
            _show_reply(reply, echo)
        _show_effects(outcome, echo)
        last = outcome.replies[-1] if outcome.replies else None
