"""Messages to a person after the exchange they wrote in: stored first, then queued in the outbox.

The bot's replies, honest-waiting notices and coordinators' replies all pass
here, so each is a ``Message`` in the transcript and an ``Outbox`` row with a
dedupe key; the dispatcher sends them through the person's own channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session

from bot.channels import registry
from bot.conversation import Reply
from storage import outbox
from storage.models import Case, Conversation, Direction, Message, row_id


def record_out(
    session: Session,
    conversation: Conversation,
    case_id: int | None,
    direction: Direction,
    replies: Sequence[Reply],
    at: dt.datetime,
    *,
    delivered: bool,
    coordinator_id: int | None = None,
) -> list[Message]:
    """Store messages to the person (one flush for all of them: one INSERT on PostgreSQL)."""
    messages = [
        Message(
            conversation_id=row_id(conversation),
            case_id=case_id,
            direction=direction,
            text=reply.text,
            choices=[{"label": c.label, "value": c.value} for c in reply.choices],
            coordinator_id=coordinator_id,
            created_at=at,
            delivered_at=at if delivered else None,
        )
        for reply in replies
    ]
    session.add_all(messages)
    session.flush()
    return messages


def payload_of(reply: Reply) -> dict[str, object]:
    return {"text": reply.text, "choices": [{"label": c.label, "value": c.value} for c in reply.choices]}


def queue_out(
    session: Session,
    channel: str,
    address: str,
    sent: Sequence[tuple[Reply, int | None]],
    at: dt.datetime,
    case_id: int | None,
    *,
    kind: str,
    reply_token: str | None = None,
    reply_until: dt.datetime | None = None,
    urgent: bool = False,
    forget: bool = False,
) -> None:
    """Queue ``sent`` (each reply with its stored message id, if any) in rows of the channel's batch size.

    The reply token, when the channel gave one, goes with the first row: it is
    good for one call, soon after the message came. ``urgent``: the replies carry
    the numbers to call now (lost for good, they page the coordinator).
    ``forget``: the person asked to be forgotten; once sent, the rows keep
    neither their address nor their text.
    """
    size = registry.row(channel).batch  # messages per API call: LINE takes five, one reply token covers them
    for start in range(0, len(sent), size):
        chunk = sent[start : start + size]
        ids = [message_id for _, message_id in chunk if message_id is not None]
        payload: dict[str, object] = {"messages": [payload_of(reply) for reply, _ in chunk], "message_ids": ids}
        if reply_token and start == 0 and reply_until is not None:
            payload |= {"reply_token": reply_token, "reply_until": reply_until.isoformat()}
        if forget:
            payload[outbox.FORGET_AFTER] = True
        outbox.enqueue(
            session=session,
            kind=kind,
            channel=channel,
            address=address,
            payload=payload,
            at=at,
            dedupe_key=f"{kind}:{ids[0]}" if ids else None,
            case_id=case_id,
            message_id=ids[0] if ids else None,
            urgent=urgent,
        )


def to_person(
    session: Session,
    case: Case,
    reply: Reply,
    at: dt.datetime,
    *,
    direction: Direction,
    kind: str,
    coordinator_id: int | None = None,
    urgent: bool = False,
) -> Message | None:
    """Store a message for the case's person and queue it; None when the person was forgotten.

    ``urgent``: it carries the numbers to call now (lost for good, it pages).
    """
    if case.conversation_id is None:
        return None
    conversation = session.get(Conversation, case.conversation_id)
    if conversation is None:
        return None
    (message,) = record_out(
        session, conversation, case.id, direction, [reply], at, delivered=False, coordinator_id=coordinator_id
    )
    sent = [(reply, row_id(message))]
    queue_out(session, conversation.channel, conversation.address, sent, at, case.id, kind=kind, urgent=urgent)
    return message
