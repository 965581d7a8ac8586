"""FAQ questions asked of the whole bot, as a new person would ask them: the figure that counts.

``madoguchi kb eval`` scores retrieval alone; a person's question first meets the classifier,
and only a message read as ``faq`` is looked up. Here each question goes through
``respond`` from a fresh state: *right* when the reply carries the expected entry's answer,
*wrong* when it carries another entry's, *silent* when neither (the bot said it is not sure, or
read the message as something else); an unanswerable question is *declined* when no answer
is given at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.conversation import Context, Inbound, PersonState, respond
from knowledge.evaluate import Query

_AT = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)  # any time: the engine's replies do not depend on it


@dataclass(frozen=True)
class EngineScore:
    answerable: int
    right: int
    wrong: int
    unanswerable: int
    declined: int


def score_engine(ctx: Context, region: str, queries: Sequence[Query]) -> EngineScore:
    answers = {answer.id: answer.text for answer in ctx.faq(region).answers()}
    right = wrong = declined = 0
    for query in queries:
        reply = respond(PersonState.new(region), Inbound(query.text, _AT), ctx).text
        given = {entry for entry, text in answers.items() if text in reply}
        if query.expect is None:
            declined += not given
        elif query.expect in given:
            right += 1
        elif given:
            wrong += 1
    answerable = sum(1 for query in queries if query.expect is not None)
    return EngineScore(answerable, right, wrong, len(queries) - answerable, declined)


def format_engine_scores(name: str, result: EngineScore) -> str:
    n, m = max(1, result.answerable), max(1, result.unanswerable)
    silent = result.answerable - result.right - result.wrong
    return (
        f"{name} through the whole bot: {result.answerable} answerable, {result.unanswerable} unanswerable\n"
        f"  answered right {result.right / n:.3f} ({result.right}), wrong {result.wrong / n:.3f} ({result.wrong}), "
        f"silent {silent / n:.3f} ({silent}); unanswerable declined {result.declined / m:.3f} ({result.declined})"
    )
