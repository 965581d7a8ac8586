"""Scoring FAQ retrieval on questions written apart from the FAQ variants.

``knowledge/data/eval/faq_queries.jsonl`` holds questions with the entry that
answers them, or ``null`` when none does. Figures: top-1 accuracy on the
answerable ones, how often the bot wrongly stays silent on them, and how often
it correctly abstains on the unanswerable ones, at the shipped threshold and
across a sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from knowledge.retrieval import FaqIndex, Hit

QUERIES_FILE = Path(__file__).parent / "data" / "eval" / "faq_queries.jsonl"  # the set the threshold was tuned on
HELDOUT_FILE = Path(__file__).parent / "data" / "eval" / "faq_heldout.jsonl"  # written apart, never tuned on


@dataclass(frozen=True)
class Query:
    text: str
    expect: str | None


@dataclass(frozen=True)
class RetrievalScore:
    threshold: float
    answered_right: float  # answerable questions answered with the right entry
    answered_wrong: float  # answerable questions answered with another entry
    silent: float  # answerable questions with no answer
    abstained: float  # unanswerable questions correctly not answered
    answerable: int
    unanswerable: int


def load_queries(path: Path = QUERIES_FILE) -> list[Query]:
    queries = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            raw = json.loads(line)
            if not isinstance(raw.get("text"), str):
                raise ValueError(f"{path.name}:{number}: no text")
            queries.append(Query(raw["text"], raw.get("expect")))
    return queries


def score(index: FaqIndex, queries: list[Query], thresholds: list[float]) -> list[RetrievalScore]:
    top: list[tuple[Query, Hit | None]] = []
    for query in queries:
        hits = index.search(query.text, limit=1)
        top.append((query, hits[0] if hits else None))
    answerable = [(q, hit) for q, hit in top if q.expect is not None]
    unanswerable = [(q, hit) for q, hit in top if q.expect is None]
    results = []
    for threshold in thresholds:
        right = sum(
            1 for q, hit in answerable if hit is not None and hit.score >= threshold and hit.answer.id == q.expect
        )
        wrong = sum(
            1 for q, hit in answerable if hit is not None and hit.score >= threshold and hit.answer.id != q.expect
        )
        abstained = sum(1 for _, hit in unanswerable if hit is None or hit.score < threshold)
        n, m = len(answerable) or 1, len(unanswerable) or 1
        results.append(
            RetrievalScore(
                threshold,
                right / n,
                wrong / n,
                (n - right - wrong) / n,
                abstained / m,
                len(answerable),
                len(unanswerable),
            )
        )
    return results


def format_scores(results: list[RetrievalScore], shipped: float) -> str:
    first = results[0]
    lines = [
        f"FAQ retrieval: {first.answerable} answerable questions, {first.unanswerable} unanswerable",
        f"{'threshold':>10}{'right':>8}{'wrong':>8}{'silent':>8}{'abstain':>9}",
    ]
    for r in results:
        mark = "  <- shipped" if abs(r.threshold - shipped) < 1e-9 else ""
        lines.append(
            f"{r.threshold:>10.2f}{r.answered_right:>8.3f}{r.answered_wrong:>8.3f}{r.silent:>8.3f}{r.abstained:>9.3f}{mark}"
        )
    return "\n".join(lines)
