"""People, their conversations and households, coordinators and the rota: the lookups the services need.

Functions take ``*, session`` and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import Conversation, Coordinator, Household, LoginSession, RotaSlot


def conversation_for(*, session: Session, channel: str, address: str, lock: bool = False) -> Conversation | None:
    """The conversation of one address on one channel; ``lock``: row-locked until the transaction ends."""
    query = select(Conversation).where(Conversation.channel == channel, Conversation.address == address)
    return session.exec(query.with_for_update() if lock else query).first()


def household_by_code(*, session: Session, code: str) -> Household | None:
    return session.exec(select(Household).where(Household.code == code)).first()


def households_of(*, session: Session, regions: Sequence[str]) -> Sequence[Household]:
    """Registered households of these regions, by label."""
    query = select(Household).where(col(Household.region).in_(list(regions))).order_by(col(Household.label))
    return session.exec(query).all()


def coordinator_by_login(*, session: Session, login: str) -> Coordinator | None:
    return session.exec(select(Coordinator).where(Coordinator.login == login)).first()


def coordinator_paged_at(*, session: Session, channel: str, address: str) -> Coordinator | None:
    """The coordinator whose pages go to this address (a 受ける press from their phone)."""
    query = select(Coordinator).where(Coordinator.page_channel == channel, Coordinator.page_address == address)
    return session.exec(query).first()


def coordinators(*, session: Session, active_only: bool = False) -> Sequence[Coordinator]:
    """Every coordinator (or only the active ones), by id."""
    query = select(Coordinator).order_by(col(Coordinator.id))
    return session.exec(query.where(col(Coordinator.active)) if active_only else query).all()


def rota_slots(*, session: Session, region: str) -> Sequence[RotaSlot]:
    """The region's rota, by rank and start time."""
    query = select(RotaSlot).where(RotaSlot.region == region).order_by(col(RotaSlot.rank), col(RotaSlot.start))
    return session.exec(query).all()


def expired_logins(*, session: Session, at: dt.datetime) -> Sequence[LoginSession]:
    """Coordinators' login sessions that ran out by ``at``."""
    return session.exec(select(LoginSession).where(col(LoginSession.expires_at) <= at)).all()
