"""``madoguchi classify``: JSON lines in, JSON lines out, no network and no database.

Input: one message per line, plain text or a JSON object with a ``text`` field
(other fields, such as ``id``, are echoed back). Output, one object per input
line, in order (the contract in ``../shared/docs/architecture.md``):

    {"intents": [...strongest first], "scores": {intent: float},
     "urgency": "now" | "check" | "none", "urgent": bool (urgency == "now"),
     "reply": "the bot's first reply to this message from a new person"}

``now`` pages a coordinator at once; ``check`` means the bot asks at once (the reply is that
question) and pages on the answer. Extended with ``urgent_score``, ``urgent_because``,
``check_because`` and ``evidence``. A line that
cannot be read gets ``{"error": "..."}`` in its place, so output lines stay
aligned with input lines; the exit status is 1 if any line had an error.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TextIO

from bot.conversation import Inbound, PersonState, load_context, respond
from intents import INTENTS


def _read(line: str) -> tuple[str | None, dict[str, Any], str | None]:
    """(text, fields to echo, error)."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return stripped, {}, None
    try:
        obj = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return None, {}, f"not valid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(obj, dict):
        return None, {}, "a JSON line must be an object with a text field"
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return None, {}, 'the object has no non-empty "text" string'
    echo = {key: value for key, value in obj.items() if key == "id"}
    return text, echo, None


def run_classify(stdin: TextIO, stdout: TextIO, region: str | None) -> int:
    ctx = load_context()
    region = region or "nemuro"
    ctx.kb.region(region)  # fail early on an unknown region
    failures = 0
    for line in stdin:
        if not line.strip():
            continue
        text, echo, error = _read(line)
        if error is not None or text is None:
            failures += 1
            stdout.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
            continue
        outcome = respond(PersonState.new(region), Inbound(text, dt.datetime.now(dt.UTC)), ctx)
        reading = outcome.reading
        assert reading is not None  # a non-empty text is always read first, whatever the engine does next
        record = {
            **echo,
            "intents": [str(intent) for intent in reading.intents],
            "scores": {str(intent): round(reading.scores[intent], 4) for intent in INTENTS},
            "urgency": str(reading.urgency),
            "urgent": reading.urgent,
            "reply": outcome.text,
            "urgent_score": round(reading.scores.get("urgent", 0.0), 4),
            "urgent_because": list(reading.urgent_because),
            "check_because": list(reading.check_because),
            "evidence": [item.describe() for item in reading.evidence],
        }
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
    return 1 if failures else 0
