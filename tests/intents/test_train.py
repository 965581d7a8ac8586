"""Training: deterministic, thresholds inside their bounds, and a model that learnt its data."""

from __future__ import annotations

import json
from pathlib import Path

from intents.classifier import CHECK, NOW_FLOOR, Classifier
from intents.dataset import DEV_FILE, load_examples
from intents.evaluate import score
from intents.labels import INTENTS, URGENT
from intents.train import URGENCY_FLOOR, train

ROWS = [
    ("母が入院して弟がひとりです", ["caregiver_emergency"], True),
    ("父が倒れて救急車で運ばれました", ["caregiver_emergency"], True),
    ("もう死にたい", ["crisis"], True),
    ("消えたい", ["crisis"], True),
    ("彼氏に殴られた", ["debt_or_abuse"], True),
    ("借金が返せません", ["debt_or_abuse"], False),
    ("体験入居してみたい", ["trial_stay"], False),
    ("一人暮らしの練習がしたい", ["trial_stay"], False),
    ("アパートを探しています", ["housing_search"], False),
    ("今夜寝るところがない", ["housing_search"], True),
    ("何時まで開いていますか", ["faq"], False),
    ("電話番号を教えて", ["faq"], False),
    ("こんにちは", ["other"], False),
    ("ありがとう", ["other"], False),
]


def write_training(path: Path, copies: int = 4) -> None:
    lines = []
    for copy in range(copies):
        for text, intents, urgent in ROWS:
            lines.append(json.dumps({"text": f"{text}{'。' * copy}", "intents": intents, "urgent": urgent}))
    path.write_text("\n".join(lines) + "\n", "utf-8")


def test_training_is_deterministic_and_bounded(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    write_training(data)
    first, second = train(data, log=lambda _: None), train(data, log=lambda _: None)
    assert first.weights == second.weights and first.thresholds == second.thresholds
    assert set(first.thresholds) == {*map(str, INTENTS), URGENT, CHECK}
    assert all(first.thresholds[name] >= URGENCY_FLOOR for name in ("crisis", "caregiver_emergency", CHECK))
    assert first.thresholds[URGENT] >= NOW_FLOOR
    assert first.meta["examples"] == len(ROWS) * 4


def test_a_trained_model_reads_its_own_kind_of_message(tmp_path: Path, classifier: Classifier) -> None:
    data = tmp_path / "train.jsonl"
    write_training(data)
    model = train(data, log=lambda _: None)
    own = Classifier(classifier.lexicon, model, classifier.tokenizer)
    assert "trial_stay" in own.classify("体験入居してみたいです").intents
    assert own.classify("電話番号は？").intents[0] == "faq"


def test_the_shipped_classifier_meets_the_targets_on_dev(classifier: Classifier) -> None:
    """The issue's targets on the dev split (never trained on); `madoguchi eval` prints the figures."""
    examples = load_examples(DEV_FILE)
    report = score(examples, [classifier.classify(e.text) for e in examples])
    assert report.urgent_recall >= 0.98
    assert report.false_page_rate <= 0.05
    assert report.macro_f1 >= 0.90
