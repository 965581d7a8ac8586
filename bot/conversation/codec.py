"""PersonState <-> plain JSON, so storage can keep the engine's memory without knowing its shape.

Versioned: a state stored by an older release that no longer fits is dropped
for a fresh one (the person loses a half-finished question, not the case,
which lives in storage).
"""

from __future__ import annotations

from typing import Any

from bot.conversation.model import CaseFacts, Check, Intake, PersonState, Phase, Slot

VERSION = 1


def encode(state: PersonState) -> dict[str, Any]:
    facts, intake = state.facts, state.intake
    return {
        "v": VERSION,
        "region": state.region,
        "phase": str(state.phase),
        "asking": str(state.asking) if state.asking else None,
        "case_open": state.case_open,
        "facts": {
            "intents": list(facts.intents),
            "urgent": facts.urgent,
            "reasons": list(facts.reasons),
            "evidence": list(facts.evidence),
            "opening": facts.opening,
        },
        "intake": {
            "answers": [[str(slot), value] for slot, value in intake.answers],
            "skipped": sorted(str(slot) for slot in intake.skipped),
        },
        "consent": state.consent,
        "escalated": state.escalated,
        "turns": state.turns,
        "checking": str(state.checking) if state.checking else None,
        "human": state.human,
        "professional": state.professional,
        "nudges": state.nudges,
        "reasked": state.reasked,
    }


def decode(data: dict[str, Any], region: str) -> PersonState:
    """The stored state, or a new one for ``region`` when nothing (or something unreadable) is stored."""
    if data.get("v") != VERSION:
        return PersonState.new(region)
    try:
        facts, intake = data["facts"], data["intake"]
        return PersonState(
            region=data["region"],
            phase=Phase(data["phase"]),
            asking=Slot(data["asking"]) if data["asking"] else None,
            case_open=bool(data["case_open"]),
            facts=CaseFacts(
                intents=tuple(facts["intents"]),
                urgent=bool(facts["urgent"]),
                reasons=tuple(facts["reasons"]),
                evidence=tuple(facts["evidence"]),
                opening=facts["opening"],
            ),
            intake=Intake(
                answers=tuple((Slot(slot), str(value)) for slot, value in intake["answers"]),
                skipped=frozenset(Slot(slot) for slot in intake["skipped"]),
            ),
            consent=data["consent"],
            escalated=bool(data["escalated"]),
            turns=int(data["turns"]),
            checking=Check(data["checking"]) if data.get("checking") else None,  # absent in older states
            human=data.get("human"),
            professional=bool(data.get("professional", False)),
            nudges=int(data.get("nudges", 0)),
            reasked=bool(data.get("reasked", False)),
        )
    except (KeyError, TypeError, ValueError):
        return PersonState.new(region)
