"""The labelled splits: well formed, consistent, and kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intents.dataset import DATA_DIR, TRAIN_FILE, load_examples
from intents.errors import DatasetError
from intents.labels import Intent


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*.jsonl")))
def test_each_split_loads_with_unique_ids(path: Path) -> None:
    examples = load_examples(path)
    ids = [example.id for example in examples]
    assert len(ids) == len(set(ids))
    assert all(ids)


def test_the_training_set_has_what_the_issue_asks_for() -> None:
    examples = load_examples(TRAIN_FILE)
    assert len(examples) >= 600
    for intent in Intent:
        assert sum(intent in e.intents for e in examples) >= 50, intent
    assert sum(len(e.intents) > 1 for e in examples) >= 50
    assert sum(e.urgent for e in examples) >= 100


EVALUATION = tuple(path.name for path in sorted(DATA_DIR.glob("*.jsonl")) if path != TRAIN_FILE)


def test_no_training_message_is_evaluated_on() -> None:
    train = {e.text.strip() for e in load_examples(TRAIN_FILE)}
    for name in EVALUATION:
        leaked = train & {e.text.strip() for e in load_examples(DATA_DIR / name)}
        assert not leaked, (name, sorted(leaked)[:3])


def test_a_message_in_two_evaluation_sets_has_the_same_labels() -> None:
    # Written apart, the sets share a few everyday messages (こんにちは, しにたい); they must agree.
    seen: dict[str, tuple[frozenset[str], bool]] = {}
    for name in EVALUATION:
        for e in load_examples(DATA_DIR / name):
            labels = (frozenset(e.intents), e.urgent)
            assert seen.setdefault(e.text.strip(), labels) == labels, e.text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "x", "intents": [], "urgent": false}', r"\[intents\]"),
        ('{"text": "x", "intents": ["other", "faq"], "urgent": false}', "cannot be combined"),
        ('{"text": "x", "intents": ["crisis"], "urgent": false}', "always urgent"),
        ('{"text": "x", "intents": ["nonsense"], "urgent": false}', r"\[intents.0\]"),
        ("{not json", "not JSON"),
    ],
)
def test_a_bad_line_is_reported_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"text": "ok", "intents": ["other"], "urgent": False})
    path.write_text(f"{good}\n{line}\n", "utf-8")
    with pytest.raises(DatasetError, match=rf"bad.jsonl:2: .*{message}"):
        load_examples(path)
