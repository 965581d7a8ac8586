"""Messages of a conversation: delivery marks, the person's transcript since a cursor, and attaching to a case.

Functions take ``*, session`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import Session, and_, col, or_, select

from storage.models import Message


def mark_delivered(*, session: Session, ids: Sequence[int], at: dt.datetime) -> None:
    """Shown to the person from now on (their transcript is ordered by this); already delivered ones keep their time."""
    if ids:
        session.execute(
            update(Message).where(col(Message.id).in_(ids), col(Message.delivered_at).is_(None)).values(delivered_at=at)
        )


def attach_loose(*, session: Session, conversation_id: int, case_id: int) -> None:
    """Messages of this conversation that came before the case opened belong to it too."""
    loose = session.exec(
        select(Message).where(Message.conversation_id == conversation_id, col(Message.case_id).is_(None))
    ).all()
    for message in loose:
        message.case_id = case_id
        session.add(message)


def of_case(*, session: Session, case_id: int) -> Sequence[Message]:
    return session.exec(select(Message).where(Message.case_id == case_id).order_by(col(Message.id))).all()


def _cursor(raw: str) -> tuple[dt.datetime, int] | None:
    when, _, last = raw.partition("|")
    try:
        return dt.datetime.fromisoformat(when), int(last)
    except ValueError:
        return None


def shown_since(*, session: Session, conversation_id: int, cursor: str) -> tuple[Sequence[Message], str]:
    """Messages shown to the person after ``cursor`` (opaque), in the order they were shown, and the next cursor.

    Ordered by delivery, not by id: a coordinator's reply stored earlier but
    delivered later must still come after what the person already has.
    """
    query = select(Message).where(Message.conversation_id == conversation_id, col(Message.delivered_at).is_not(None))
    since = _cursor(cursor)
    if since is not None:
        at, last = since
        query = query.where(
            or_(col(Message.delivered_at) > at, and_(col(Message.delivered_at) == at, col(Message.id) > last))
        )
    rows = session.exec(query.order_by(col(Message.delivered_at), col(Message.id))).all()
    if rows:
        newest = rows[-1]
        assert newest.delivered_at is not None
        cursor = f"{newest.delivered_at.isoformat()}|{newest.id}"
    return rows, cursor
