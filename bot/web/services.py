"""What every route is given: the app's services, built once by ``bot.web.app.create_app``.

Kept apart from the app factory so the routes and their dependencies
(``bot.web.deps``) import this small module and never the factory: the arrows
run app -> routes -> deps -> services.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from bot.channels import Channel
from bot.desk import Desk
from bot.runtime.receiver import Receiver
from bot.settings import Settings
from bot.web.throttle import Throttles


class LoginRequired(Exception):
    """Raised by the coordinator dependency; answered with a redirect to the login page."""


@dataclass
class Services:
    settings: Settings
    engine: Engine
    desk: Desk
    templates: Jinja2Templates
    secret: bytes
    throttles: Throttles
    channels: dict[str, Channel] = field(default_factory=dict)
    receiver: Receiver | None = None  # woken by the webhooks when events were stored
    journal: Engine | None = None  # where the webhooks store events (SQLite: the inbound journal); None: ``engine``
    #: On SQLite, one webhook store at a time in this process: a thread waiting on this lock runs the moment it is
    #: free, whereas SQLite's busy handler sleeps 1, 2, 5, ... 100 ms between tries.
    journal_lock: threading.Lock | None = None
