"""The desk: the application services, the only place the conversation engine meets storage.

``inbox`` receives one message (dedupe, state, the engine, the transcript),
``effects`` is the one interpreter of the engine's effects, ``outgoing`` stores
and queues what goes to a person, ``casework`` is what coordinators do with a
case, ``paging`` and ``rota`` decide whom to call, ``reports`` counts, ``labels``
names codes for the pages. Imports the conversation, the channels' values and
storage; never the runtime loops or the web.
"""

from __future__ import annotations

from bot.desk.desk import Desk

__all__ = ["Desk"]
