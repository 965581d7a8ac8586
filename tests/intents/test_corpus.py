"""The everyday corpus: split by hash (stable, disjoint), read as `other` negatives, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intents.corpus import load_everyday, split_of
from intents.errors import DatasetError


def write_corpus(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "source": "x"}, ensure_ascii=False) + "\n" for t in texts), "utf-8")
    return path


def test_the_three_parts_are_disjoint_and_cover_every_text(tmp_path: Path) -> None:
    texts = [f"今日は{i}時に駅で待ち合わせです" for i in range(400)]
    corpus = write_corpus(tmp_path / "c.jsonl", [*texts, texts[0]])  # a repeated line counts once
    parts = {split: load_everyday(split, path=corpus) for split in ("train", "calibration", "test")}
    seen = [e.text for examples in parts.values() for e in examples]
    assert sorted(seen) == sorted(texts)
    assert all(e.intents == ("other",) and not e.urgent for examples in parts.values() for e in examples)
    # Roughly 70 / 10 / 20, by hash: a text's part never depends on the others.
    assert 0.6 < len(parts["train"]) / 400 < 0.8 and 0.12 < len(parts["test"]) / 400 < 0.28
    assert all(split_of(e.text) == split for split, examples in parts.items() for e in examples)


def test_a_limited_sample_is_the_same_every_time(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", [f"ラーメン{i}杯" for i in range(200)])
    first = [e.text for e in load_everyday("train", limit=10, path=corpus)]
    assert len(first) == 10 and first == [e.text for e in load_everyday("train", limit=10, path=corpus)]


def test_a_missing_or_broken_corpus_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not there"):
        load_everyday("test", path=tmp_path / "none.jsonl")
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"text": "ok"}\n{"nope": 1}\n', "utf-8")
    with pytest.raises(DatasetError, match=r"b\.jsonl:2"):
        load_everyday("test", path=broken)
