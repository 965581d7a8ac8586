"""The linear model at run time: a JSON file of weights, scored in plain Python.

Training uses scikit-learn (``intents.train``), but importing scikit-learn and
SciPy costs about two seconds and 100 MB, which would break the cold-start and
memory goals of ``madoguchi classify``. A logistic regression is only a sum of
weights, so the trained weights are exported to ``intents/model/model.json``
(data, reviewable in a diff) and scored here without any numeric library.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intents.errors import ModelError

MODEL_FILE = Path(__file__).parent / "model" / "model.json"
FORMAT = 1


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True, slots=True)
class LinearModel:
    """One logistic regression per label over binary features; ``weights`` maps a feature to its row."""

    labels: tuple[str, ...]
    intercepts: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, features: Iterable[str]) -> dict[str, float]:
        # One dict lookup per feature, then the columns are summed in C: zip(*rows) transposes.
        rows = [row for row in map(self.weights.get, features) if row is not None]
        totals = map(sum, zip(*rows, strict=True)) if rows else itertools.repeat(0.0)
        return {
            label: 1.0 / (1.0 + math.exp(-(intercept + total)))
            for label, intercept, total in zip(self.labels, self.intercepts, totals, strict=False)
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "labels": list(self.labels),
            "intercepts": [round(v, 5) for v in self.intercepts],
            "thresholds": self.thresholds,
            "meta": self.meta,
            "weights": {name: [round(v, 4) for v in row] for name, row in sorted(self.weights.items())},
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")


def _shared_floats() -> Callable[[str], float]:
    """A ``parse_float`` that returns one float object per distinct number written.

    The weights are rounded to 4 places, so 1.1 million numbers are about 8,400 distinct values:
    sharing them keeps 25 MB of float objects out of every process that loads the model.
    """
    seen: dict[str, float] = {}

    def parse(text: str) -> float:
        value = seen.get(text)
        if value is None:
            value = seen[text] = float(text)
        return value

    return parse


def load_model(path: Path = MODEL_FILE) -> LinearModel:
    try:
        raw = json.loads(path.read_text("utf-8"), parse_float=_shared_floats())
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: no model file; run `madoguchi train`") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not JSON: {exc.msg}") from exc
    if raw.get("format") != FORMAT:
        raise ModelError(f"{path}: model format {raw.get('format')!r}, expected {FORMAT}; retrain")
    labels = tuple(raw["labels"])
    weights = {name: tuple(row) for name, row in raw["weights"].items()}
    if any(len(row) != len(labels) for row in weights.values()):
        raise ModelError(f"{path}: a weight row does not have one value per label")
    return LinearModel(labels, tuple(raw["intercepts"]), weights, dict(raw["thresholds"]), dict(raw.get("meta", {})))
