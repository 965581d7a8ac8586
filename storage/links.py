"""Coordinators' own page links (LINE, Telegram, Web Push), the one-time codes that make them, and kept keys.

Functions take ``*, session`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, Executable, update
from sqlmodel import Session, col, delete, select

from storage.models import Coordinator, LinkCode, PageLink, Secret


def links_of(*, session: Session, coordinator_id: int) -> Sequence[PageLink]:
    """One coordinator's links, oldest first."""
    query = select(PageLink).where(PageLink.coordinator_id == coordinator_id).order_by(col(PageLink.id))
    return session.exec(query).all()


def link(
    *, session: Session, coordinator_id: int, channel: str, address: str, at: dt.datetime, keys: dict[str, Any] | None
) -> PageLink:
    """Link ``address`` on ``channel`` to the coordinator; an address linked before (to anyone) moves to them."""
    row = session.exec(select(PageLink).where(PageLink.channel == channel, PageLink.address == address)).first()
    if row is None:
        row = PageLink(coordinator_id=coordinator_id, channel=channel, address=address, keys=keys or {}, created_at=at)
    else:
        row.coordinator_id, row.keys, row.created_at = coordinator_id, keys or {}, at
    session.add(row)
    session.flush()
    return row


def unlink(*, session: Session, coordinator_id: int, link_id: int) -> bool:
    """Remove one of the coordinator's own links; False when it is not theirs (or gone)."""
    query = delete(PageLink).where(col(PageLink.id) == link_id, col(PageLink.coordinator_id) == coordinator_id)
    return _count(session, query) > 0


def forget_address(*, session: Session, channel: str, address: str) -> int:
    """The platform says the address is gone for good (a push endpoint's 404 or 410): remove its links."""
    query = delete(PageLink).where(col(PageLink.channel) == channel, col(PageLink.address) == address)
    return _count(session, query)


def coordinator_linked_at(*, session: Session, channel: str, address: str) -> Coordinator | None:
    """The coordinator who linked this address (a 受ける press from their phone)."""
    query = select(Coordinator).join(PageLink, col(PageLink.coordinator_id) == col(Coordinator.id))
    return session.exec(query.where(PageLink.channel == channel, PageLink.address == address)).first()


def add_code(
    *, session: Session, coordinator_id: int, code_hash: str, at: dt.datetime, expires_at: dt.datetime
) -> None:
    """Keep a new code's hash; the coordinator's earlier unused codes stop working (one code at a time)."""
    session.execute(
        update(LinkCode)
        .where(col(LinkCode.coordinator_id) == coordinator_id, col(LinkCode.used_at).is_(None))
        .values(expires_at=at)
    )
    session.add(LinkCode(code_hash=code_hash, coordinator_id=coordinator_id, created_at=at, expires_at=expires_at))
    session.flush()


def code(*, session: Session, code_hash: str) -> LinkCode | None:
    return session.get(LinkCode, code_hash)


def use_code(*, session: Session, code_hash: str, at: dt.datetime) -> bool:
    """Mark the code used if it is still good; the row count says whether this call was the one that used it."""
    query = (
        update(LinkCode)
        .where(
            col(LinkCode.code_hash) == code_hash,
            col(LinkCode.used_at).is_(None),
            col(LinkCode.expires_at) > at,
        )
        .values(used_at=at)
    )
    return _count(session, query) == 1


def drop_old_codes(*, session: Session, before: dt.datetime) -> None:
    """Codes that ran out before ``before`` are of no more use."""
    session.execute(delete(LinkCode).where(col(LinkCode.expires_at) < before))


def kept(*, session: Session, name: str) -> str | None:
    """A server secret kept in the database (``secrets``), or None."""
    row = session.get(Secret, name)
    return row.value if row is not None else None


def keep(*, session: Session, name: str, value: str) -> None:
    """Keep a new server secret (an IntegrityError when another instance kept one first: read theirs)."""
    session.add(Secret(name=name, value=value))
    session.flush()


def _count(session: Session, statement: Executable) -> int:
    """Rows an UPDATE or DELETE touched."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
