"""Finding the FAQ answer for a question: rapidfuzz on kana keys plus lemma overlap.

Two signals, because each fails where the other holds:

* **Lemma overlap** (IDF-weighted Dice over content lemmas): 電話番号を教えて and
  番号おしえて share 番号 even when the sentences differ in shape.
* **Kana-key similarity** (rapidfuzz ``ratio``): でんわばんごう and 電話番号 look
  nothing alike but sound the same; typos cost a little, not everything.

An entry's score is its best variant's. Below ``threshold`` the index answers
``None``: the bot then says it is not sure and offers a person, instead of
guessing. The threshold and the weights were set on
``knowledge/data/eval/faq_queries.jsonl`` (``madoguchi kb eval``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from intents.kana import key_of_tokens
from intents.normalize import normalize
from intents.tokens import Token, Tokenizer
from knowledge.loader import Answer

LEMMA_WEIGHT = 0.6
THRESHOLD = 0.45
_STOP = frozenset(
    {
        *("為る", "居る", "有る", "成る", "事", "物", "の", "ん", "此れ", "其れ", "何", "良い", "教える", "下さる"),
        *("御", "さん", "ちゃん", "私", "僕", "俺", "自分", "今", "方", "時", "所", "様", "思う", "言う", "出来る"),
        *("貰う", "呉れる", "ちょっと", "一寸", "はい", "いいえ", "何か", "何で", "如何", "如何して"),
    }
)


@dataclass(frozen=True, slots=True)
class Hit:
    answer: Answer
    score: float
    variant: str


@dataclass(frozen=True, slots=True)
class _Variant:
    answer: Answer
    text: str
    lemmas: frozenset[str]
    key: str


def content_lemmas(tokens: Sequence[Token]) -> frozenset[str]:
    return frozenset(t.lemma for t in tokens if t.is_content and t.lemma not in _STOP and len(t.lemma) > 0)


class FaqIndex:
    """The FAQ of one region, indexed for questions in any spelling."""

    __slots__ = ("_idf", "_keys", "_tokenizer", "_variants", "threshold")

    def __init__(self, answers: Sequence[Answer], tokenizer: Tokenizer, threshold: float = THRESHOLD) -> None:
        self._tokenizer = tokenizer
        self.threshold = threshold
        variants = []
        for answer in answers:
            for question in answer.entry.questions:
                tokens = tokenizer.tokenize(normalize(question))
                variants.append(_Variant(answer, question, content_lemmas(tokens), key_of_tokens(tokens).text))
        self._variants = variants
        self._keys = [variant.key for variant in variants]
        documents = Counter(lemma for variant in variants for lemma in variant.lemmas)
        total = len(variants) or 1
        self._idf = {lemma: math.log(1 + total / count) for lemma, count in documents.items()}

    def _dice(self, query: frozenset[str], variant: frozenset[str]) -> float:
        unknown = math.log(1 + len(self._variants))
        weight = self._idf.get
        shared = sum(weight(lemma, unknown) for lemma in query & variant)
        size = sum(weight(lemma, unknown) for lemma in query) + sum(weight(lemma, unknown) for lemma in variant)
        return 2 * shared / size if size else 0.0

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best entries for ``text``, best first, whatever their score."""
        tokens = self._tokenizer.tokenize(normalize(text))
        lemmas = content_lemmas(tokens)
        key = key_of_tokens(tokens).text
        similarity = process.cdist([key], self._keys, scorer=fuzz.ratio, workers=1)[0] if key else None
        best: dict[str, Hit] = {}
        for index, variant in enumerate(self._variants):
            kana = float(similarity[index]) / 100 if similarity is not None else 0.0
            score = LEMMA_WEIGHT * self._dice(lemmas, variant.lemmas) + (1 - LEMMA_WEIGHT) * kana
            current = best.get(variant.answer.id)
            if current is None or score > current.score:
                best[variant.answer.id] = Hit(variant.answer, score, variant.text)
        return sorted(best.values(), key=lambda hit: hit.score, reverse=True)[:limit]

    def best(self, text: str) -> Hit | None:
        """The answer, or None when no entry is close enough to be sure."""
        hits = self.search(text, limit=1)
        return hits[0] if hits and hits[0].score >= self.threshold else None
