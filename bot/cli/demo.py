"""``madoguchi serve --demo``: a coordinator on call around the clock, so a newcomer can try the whole flow.

The password is new at every start and printed once; only its hash is stored.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Engine

from bot.web.auth import add_coordinator, hash_password
from storage import people
from storage.db import session_scope
from storage.models import RotaSlot, row_id
from storage.types import utcnow

DEMO_LOGIN = "demo"


def make_demo(engine: Engine, region: str) -> tuple[str, str]:
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        person = people.coordinator_by_login(session=session, login=DEMO_LOGIN)
        if person is None:
            person = add_coordinator(
                session, login=DEMO_LOGIN, name="デモ相談員", password=password, regions=[region], at=utcnow()
            )
            session.add(RotaSlot(region=region, coordinator_id=row_id(person)))
        else:
            person.password_hash = hash_password(password)
            if region not in person.regions:
                person.regions = [*person.regions, region]
                session.add(RotaSlot(region=region, coordinator_id=row_id(person)))
            session.add(person)
    return DEMO_LOGIN, password
