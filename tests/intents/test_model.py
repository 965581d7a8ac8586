"""The model file: read and written faithfully, and never stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intents.corpus import corpus_digest, corpus_path
from intents.dataset import CALIBRATION_FILE, TRAIN_FILE
from intents.errors import ModelError
from intents.lexicon import LEXICON_DIR
from intents.model import MODEL_FILE, LinearModel, file_digest, load_model


def test_it_survives_a_round_trip(tmp_path: Path) -> None:
    model = LinearModel(("a", "b"), (0.5, -1.0), {"w:母": (1.25, -0.5)}, {"a": 0.4}, {"note": "x"})
    path = tmp_path / "m.json"
    model.save(path)
    again = load_model(path)
    assert again.probabilities(["w:母"]) == pytest.approx(model.probabilities(["w:母"]))
    assert again.thresholds == {"a": 0.4}


def test_scores_are_logistic(tmp_path: Path) -> None:
    model = LinearModel(("a",), (0.0,), {"f": (2.0,)}, {})
    assert model.probabilities([]) == {"a": 0.5}
    assert model.probabilities(["f", "unknown"])["a"] == pytest.approx(1 / (1 + 2.718281828459045**-2))


def test_a_file_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(
        json.dumps({"format": 99, "labels": [], "intercepts": [], "thresholds": {}, "weights": {}}), "utf-8"
    )
    with pytest.raises(ModelError, match="format 99"):
        load_model(path)


def test_the_shipped_model_was_trained_on_the_shipped_data() -> None:
    """Edit the labels or the lexicon, then run `make model`: this test says when that was forgotten."""
    meta = load_model(MODEL_FILE).meta
    assert meta["train_sha256"] == file_digest(TRAIN_FILE)
    assert meta["calibration_sha256"] == file_digest(CALIBRATION_FILE)
    assert meta["lexicon_sha256"] == {p.name: file_digest(p) for p in sorted(LEXICON_DIR.glob("*.yaml"))}
    assert meta["everyday_examples"] > 0 and meta["calibration_examples"] > 0


def test_the_shipped_model_was_trained_on_the_everyday_corpus_as_it_is() -> None:
    """The corpus lives outside the project (../shared/corpora); where it is, it must be the one trained on."""
    if not corpus_path().exists():
        pytest.skip(f"the everyday corpus is not at {corpus_path()}")
    assert load_model(MODEL_FILE).meta["everyday_sha256"] == corpus_digest()
