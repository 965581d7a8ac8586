"""Builders of platform events shaped like the real samples in ../shared/payloads/ (see tests/bot/channels)."""

from __future__ import annotations

import itertools
import time
from typing import Any

_serial = itertools.count(1)
USER = "U206d25c2ea6bd87c17655609a1c37cb8"
CHAT = 424242


def line_body(*events: dict[str, Any]) -> dict[str, Any]:
    return {"destination": "Uffffffffffffffffffffffffffffffff", "events": list(events)}


def line_event(
    kind: str = "message", *, user: str = USER, event_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    n = next(_serial)
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or f"01JTEST{n:020d}",
        "deliveryContext": {"isRedelivery": False},
    }
    if kind not in {"unfollow", "leave", "memberLeft", "unsend"}:
        event["replyToken"] = f"replytoken{n:022d}"
    return event | fields


def line_text(text: str, **kwargs: Any) -> dict[str, Any]:
    return line_event(message={"id": str(next(_serial)), "type": "text", "text": text, "quoteToken": "q"}, **kwargs)


def line_postback(data: str, **kwargs: Any) -> dict[str, Any]:
    return line_event("postback", postback={"data": data}, **kwargs)


def telegram_message(text: str, *, chat: int = CHAT, update_id: int | None = None, **extra: Any) -> dict[str, Any]:
    n = update_id or 10_000 + next(_serial)
    message: dict[str, Any] = {
        "message_id": n,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private", "first_name": "T"},
        "from": {"id": chat, "is_bot": False, "first_name": "T"},
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    if text:
        message["text"] = text
    return {"update_id": n, "message": message | extra}


def telegram_callback(data: str, *, chat: int = CHAT, update_id: int | None = None) -> dict[str, Any]:
    n = update_id or 10_000 + next(_serial)
    sender = {"id": chat, "is_bot": False, "first_name": "T"}
    return {
        "update_id": n,
        "callback_query": {
            "id": str(n),
            "from": sender,
            "chat_instance": "ci",
            "data": data,
            "message": {"message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private"}},
        },
    }
