"""The lexicon files are data with a schema: they load, they are consistent, and errors say where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from intents.errors import LexiconError
from intents.lexicon import LEXICON_DIR, compile_lexicon, load_lexicon_cached


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


def test_the_cache_is_rebuilt_when_the_lexicon_changes(tmp_path: Path) -> None:
    lexicon = copy_lexicon(tmp_path)
    cache = tmp_path / "cache"
    first = load_lexicon_cached(lexicon, cache)
    assert len(list(cache.glob("lexicon-*.pickle"))) == 1
    terms = lexicon / "terms.yaml"
    terms.write_text(
        terms.read_text("utf-8").replace("phrases: [死にたい,", "phrases: [死にたい, 生きるのやめたい,", 1), "utf-8"
    )
    second = load_lexicon_cached(lexicon, cache)
    assert len(list(cache.glob("lexicon-*.pickle"))) == 2
    assert "生きるのやめたい" not in {p.text for v in first.by_surface_prefix.values() for p in v}
    assert "生きるのやめたい" in {p.text for v in second.by_surface_prefix.values() for p in v}
    third = load_lexicon_cached(lexicon, cache)  # from the cache, with a working tokeniser
    assert third.tagger.tokenize("母")[0].lemma == "母"
