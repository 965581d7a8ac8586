"""The compiled lexicon as shipped data: ``intents/model/lexicon.json``.

Compiling the lexicon tokenises every phrase, which costs about 0.3 s and touches some 100 MB
of the dictionary's memory-mapped pages at start-up. ``madoguchi train`` (``make model``) writes
the compiled form beside the model; at run time it is read back when its key still matches the
lexicon files, the code that compiles them and the dictionary version (a test fails when it does
not), and compiled afresh otherwise, with a warning.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import re
from pathlib import Path
from typing import Any

from intents.labels import Urgency
from intents.lexicon import (
    LEXICON_DIR,
    CompiledLexicon,
    NegationSpec,
    Part,
    Phrase,
    Rule,
    compile_lexicon,
    index_phrase,
)
from intents.tokens import Tokenizer

log = logging.getLogger(__name__)

COMPILED_FILE = Path(__file__).parent / "model" / "lexicon.json"


def lexicon_key(directory: Path = LEXICON_DIR) -> str:
    """Changes whenever a lexicon file, the code that compiles it, or the dictionary changes."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.yaml")):
        digest.update(path.name.encode() + path.read_bytes())
    for module in ("lexicon.py", "compiled.py", "tokens.py", "normalize.py", "kana.py"):
        digest.update(Path(__file__).with_name(module).read_bytes())
    for package in ("unidic-lite", "fugashi", "jaconv"):
        digest.update(importlib.metadata.version(package).encode())
    return digest.hexdigest()[:24]


def _phrase_json(phrase: Phrase) -> dict[str, Any]:
    return {
        "term": phrase.term,
        "text": phrase.text,
        "parts": [dataclasses.asdict(part) for part in phrase.parts],
        "negated": phrase.negated,
        "fuzzy": phrase.fuzzy,
        "latin": phrase.latin.pattern if phrase.latin is not None else None,
    }


def _phrase_from_json(raw: dict[str, Any]) -> Phrase:
    parts = tuple(
        Part(tuple(p["lemmas"]), p["surface"], p["key"], _tuple(p["loose"]), p["loose_key"]) for p in raw["parts"]
    )
    latin = re.compile(raw["latin"]) if raw["latin"] is not None else None
    return Phrase(raw["term"], raw["text"], parts, raw["negated"], raw["fuzzy"], latin)


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None


def lexicon_to_json(compiled: CompiledLexicon, key: str) -> dict[str, Any]:
    """The compiled lexicon as plain data (``intents/model/lexicon.json``), to load without compiling."""
    return {
        "key": key,
        "rules": [{**dataclasses.asdict(rule), "ignores": sorted(rule.ignores)} for rule in compiled.rules],
        "phrases": [_phrase_json(p) for p in compiled.phrases],  # re-filed in this order, so lookups match
        "negation": compiled.negation_spec.model_dump(),
        "lowered_to_check": {intent: sorted(mods) for intent, mods in compiled.lowered_to_check.items()},
        "asked_not_paged": sorted(compiled.asked_not_paged),
        "paged_with": sorted(compiled.paged_with),
        "dialect": compiled.dialect,
        "emoji": compiled.emoji,
    }


def lexicon_from_json(raw: dict[str, Any]) -> CompiledLexicon:
    rules = [
        Rule(
            **{
                **r,
                "urgency": Urgency(r["urgency"]),
                "terms": tuple(r["terms"]),
                "unless": tuple(r["unless"]),
                "unless_in_sentence": tuple(r["unless_in_sentence"]),
                "unless_in_message": tuple(r["unless_in_message"]),
                "ignores": frozenset(r["ignores"]),
            }
        )
        for r in raw["rules"]
    ]
    compiled = CompiledLexicon(
        rules=rules,
        negation=NegationSpec.model_validate(raw["negation"]),
        lowered_to_check={intent: frozenset(mods) for intent, mods in raw["lowered_to_check"].items()},
        asked_not_paged=frozenset(raw["asked_not_paged"]),
        paged_with=frozenset(raw["paged_with"]),
        dialect=dict(raw["dialect"]),
        emoji=dict(raw["emoji"]),
    )
    for phrase in map(_phrase_from_json, raw["phrases"]):
        index_phrase(compiled, phrase)
    return compiled


def load_compiled_lexicon(directory: Path = LEXICON_DIR, compiled_file: Path = COMPILED_FILE) -> CompiledLexicon:
    """The shipped compiled lexicon when it matches the lexicon files; otherwise compile (and warn)."""
    key = lexicon_key(directory)
    try:
        raw = json.loads(compiled_file.read_text("utf-8"))
        if raw.get("key") == key:
            compiled = lexicon_from_json(raw)
            compiled.tokenizer = Tokenizer(compiled.dialect)
            return compiled
        log.warning("%s is stale; compiling the lexicon (run `make model`)", compiled_file.name)
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("%s cannot be read; compiling the lexicon", compiled_file.name)
    return compile_lexicon(directory)


def write_compiled_lexicon(directory: Path = LEXICON_DIR, compiled_file: Path = COMPILED_FILE) -> None:
    compiled = compile_lexicon(directory)
    data = lexicon_to_json(compiled, lexicon_key(directory))
    compiled_file.parent.mkdir(parents=True, exist_ok=True)
    compiled_file.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
