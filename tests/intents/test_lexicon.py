"""The lexicon files are data with a schema: they load, they are consistent, and errors say where."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from intents.classifier import analyse_text
from intents.compiled import COMPILED_FILE, lexicon_from_json, lexicon_key, load_compiled_lexicon
from intents.errors import LexiconError
from intents.lexicon import LEXICON_DIR, compile_lexicon


def copy_lexicon(tmp_path: Path) -> Path:
    target = tmp_path / "lexicon"
    shutil.copytree(LEXICON_DIR, target)
    return target


def test_the_shipped_lexicon_compiles(classifier) -> None:  # type: ignore[no-untyped-def]
    lexicon = classifier.lexicon
    assert lexicon.rules and lexicon.by_first_lemma
    urgent_intents = {rule.intent for rule in lexicon.rules if rule.urgent}
    assert {"crisis", "caregiver_emergency", "debt_or_abuse", "housing_search"} <= set(urgent_intents)


def test_every_term_and_rule_names_its_source() -> None:
    terms = yaml.safe_load((LEXICON_DIR / "terms.yaml").read_text("utf-8"))["terms"]
    rules = yaml.safe_load((LEXICON_DIR / "rules.yaml").read_text("utf-8"))["rules"]
    assert all(spec["source"].strip() for spec in terms.values())
    assert all(rule["source"].strip() for rule in rules)


def test_a_rule_naming_an_unknown_term_is_refused(tmp_path: Path) -> None:
    lexicon = copy_lexicon(tmp_path)
    rules = lexicon / "rules.yaml"
    rules.write_text(rules.read_text("utf-8").replace("all: [suicidal]", "all: [suicidall]", 1), "utf-8")
    with pytest.raises(LexiconError, match="unknown term 'suicidall'"):
        compile_lexicon(lexicon)


def test_a_schema_error_names_the_file_and_the_path(tmp_path: Path) -> None:
    lexicon = copy_lexicon(tmp_path)
    rules = lexicon / "rules.yaml"
    rules.write_text(rules.read_text("utf-8").replace("intent: crisis", "intent: crises", 1), "utf-8")
    with pytest.raises(LexiconError, match=r"rules.yaml: \[rules -> 0 -> intent\]"):
        compile_lexicon(lexicon)


def test_broken_yaml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    lexicon = copy_lexicon(tmp_path)
    (lexicon / "context.yaml").write_text("negation: [unclosed", "utf-8")
    with pytest.raises(LexiconError, match=r"context\.yaml: not valid YAML"):
        compile_lexicon(lexicon)


def test_the_shipped_compiled_lexicon_is_current() -> None:
    """Edit the lexicon (or the code that compiles it), then run `make model`: this says when that was forgotten."""
    raw = json.loads(COMPILED_FILE.read_text("utf-8"))
    assert raw["key"] == lexicon_key()


def test_the_compiled_form_matches_like_a_fresh_compile(classifier) -> None:  # type: ignore[no-untyped-def]
    fresh = compile_lexicon()
    shipped = lexicon_from_json(json.loads(COMPILED_FILE.read_text("utf-8")))
    shipped.tokenizer = fresh.tokenizer
    for text in (
        "母が倒れて救急車で運ばれた",
        "死にたいとかじゃない",
        "ODってなに",
        "haha ga taoreta",
        "泊まるとこない",
    ):
        analysed = [analyse_text(text, lexicon, fresh.tagger) for lexicon in (fresh, shipped)]
        assert [(h.rule.id, h.active, h.modifiers) for h in analysed[0].hits] == [
            (h.rule.id, h.active, h.modifiers) for h in analysed[1].hits
        ]
        assert analysed[0].matches == analysed[1].matches


def test_a_stale_compiled_lexicon_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lexicon = copy_lexicon(tmp_path)
    terms = lexicon / "terms.yaml"
    terms.write_text(
        terms.read_text("utf-8").replace("phrases: [=首つる,", "phrases: [=首つる, 生きるのやめたい,", 1), "utf-8"
    )
    loaded = load_compiled_lexicon(lexicon)  # the shipped file is for the shipped lexicon: compile instead
    assert "stale" in caplog.text
    assert "生きるのやめたい" in {p.text for v in loaded.by_surface_prefix.values() for p in v}
