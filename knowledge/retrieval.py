"""Finding the FAQ answer for a question: character n-grams over whole entries, plus lemma overlap.

Ranking is TF-IDF cosine over character unigrams and bigrams of the normalised
text, each entry being one document made of all its question variants and its
answer. Character n-grams survive kana/kanji mixtures, typos and dialect
endings, and an entry's answer carries the words that tell neighbours apart
(FAX vs 電話, A型 vs B型). Measured on ``knowledge/data/eval/faq_queries.jsonl``,
top-1 accuracy went from 0.72 (the best single variant by lemma overlap and
kana similarity, the first design) to 0.89.

The confidence that decides whether to answer mixes that cosine with the
closest single variant (each sentence of a longer message compared on its own:
the question often follows a greeting and a reason) and the best variant's
lemma overlap (rapidfuzz's ``ratio`` on the lemma strings, so typos still
count); words of a synonym group (``synonyms.yaml``: タダ for 無料, 週末 for 土日)
count as the group's word. Nouns no entry or only other entries use lower it:
「市役所の窓口は何時まで」 is not a question about this centre. Below
``THRESHOLD`` the index answers ``None``: the bot then says it is not sure and
offers a person instead of guessing. ``madoguchi kb eval`` prints the trade-off
across thresholds; the weights and the threshold were chosen on ``faq_queries.jsonl`` (0.94
right, 0.01 wrong, 0.90 of unanswerable declined).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from intents.normalize import normalize
from intents.tokens import Token, Tokenizer
from knowledge.loader import Answer

THRESHOLD = 0.30
SURE = 0.45  # for a message that is not a question: measured to answer no everyday small talk (see README)
COSINE_WEIGHT = 0.35  # the whole entry (all its variants and its answer) against the question
VARIANT_WEIGHT = 0.45  # the closest single question variant against the question
OTHER_ENTRY_NOUN = 0.8  # confidence factor per query noun that only other entries use
UNKNOWN_NOUN = 0.6  # per query noun that no entry uses
OTHER_PLACE = 0.4  # per place the question names that the entry never does (市役所, 病院: not this centre)
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
    score: float  # the confidence, 0..1
    variant: str  # the question variant closest to what was asked


def content_lemmas(tokens: Sequence[Token]) -> frozenset[str]:
    return frozenset(t.lemma for t in tokens if t.is_content and t.lemma not in _STOP)


def _nouns(tokens: Sequence[Token]) -> frozenset[str]:
    return frozenset(t.lemma for t in tokens if t.pos == "名詞" and len(t.lemma) > 1)


def _lemma_string(tokens: Sequence[Token]) -> str:
    return " ".join(sorted(content_lemmas(tokens)))


def char_grams(text: str, synonyms: Sequence[Sequence[str]] = ()) -> Counter[str]:
    """Character unigrams and bigrams of the normalised text, spaces removed.

    A text that uses a word of a synonym group also gets the group's first word (タダ -> 無料),
    so a question and an answer that say the same thing in other words still share grams.
    """
    flat = normalize(text).replace(" ", "")
    flat += "".join(group[0] for group in synonyms if group[0] not in flat and any(word in flat for word in group[1:]))
    grams = Counter(flat)
    grams.update(flat[i : i + 2] for i in range(len(flat) - 1))
    return grams


_PIECE = re.compile(r"[^。！？!?\n]+[。！？!?\n]*")
_ASKING = ("?", "？", "か", "の", "かな", "かい", "べ", "べか", "っけ")


def _sentences(text: str) -> list[str]:
    """The sentences of a longer message that ask something (none for a one-sentence question).

    「相談支援専門員です。支援者からの相談も受け付けていますか」: the introduction is not the question;
    when no sentence is a question, every sentence counts.
    """
    pieces = [match.group().strip() for match in _PIECE.finditer(text)]
    pieces = [piece for piece in pieces if len(piece.rstrip("。！？!?")) >= 4]
    if len(pieces) < 2:
        return []
    asking = [piece for piece in pieces if piece.endswith(("?", "？")) or piece.rstrip("。!！").endswith(_ASKING)]
    return asking or pieces


def _overlap(lemmas: str, variant_lemmas: str) -> float:
    """How alike two content-lemma strings are (typos still count); nothing in common when either is empty
    (「はじめまして」 and a variant written all in kana both have no content lemma: that is not a match)."""
    return fuzz.ratio(lemmas, variant_lemmas) / 100 if lemmas and variant_lemmas else 0.0


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(weight * b.get(gram, 0.0) for gram, weight in a.items())


class FaqIndex:
    """The FAQ of one region, indexed for questions in any spelling."""

    __slots__ = (
        "_all_nouns",
        "_answers",
        "_idf",
        "_places",
        "_postings",
        "_synonyms",
        "_tokenizer",
        "_unknown_idf",
        "_variant_vectors",
        "_variants",
        "_vocabulary",
        "threshold",
    )

    def __init__(
        self,
        answers: Sequence[Answer],
        tokenizer: Tokenizer,
        threshold: float = THRESHOLD,
        synonyms: Sequence[Sequence[str]] = (),
        other_places: Iterable[str] = (),
    ) -> None:
        self._tokenizer = tokenizer
        self._places = frozenset(other_places)
        self._synonyms = tuple(tuple(normalize(word, message=False) for word in group) for group in synonyms)
        self.threshold = threshold
        self._answers = list(answers)
        documents: list[Counter[str]] = []
        self._variants: list[list[tuple[str, str]]] = []  # per entry: (variant text, its lemma string)
        self._vocabulary: list[frozenset[str]] = []  # per entry: every noun its questions and answer use
        question_grams: list[list[Counter[str]]] = []  # per entry, per variant: kept for the variant vectors
        for answer in self._answers:
            tokens = {text: self._tokens(text) for text in (*answer.entry.questions, answer.text)}  # each text once
            self._vocabulary.append(frozenset().union(*(_nouns(words) for words in tokens.values())))
            per_question = [self._grams(question) for question in answer.entry.questions]
            grams: Counter[str] = Counter()
            for question_gram in per_question:
                grams.update(question_gram)
            grams.update(self._grams(answer.text))  # the answer counts as one more variant
            documents.append(grams)
            question_grams.append(per_question)
            self._variants.append([(q, _lemma_string(tokens[q])) for q in answer.entry.questions])
        self._all_nouns = frozenset().union(*self._vocabulary)
        frequency = Counter(gram for document in documents for gram in document)
        total = len(documents)
        self._idf = {gram: math.log((1 + total) / (1 + count)) + 1 for gram, count in frequency.items()}
        self._unknown_idf = math.log(1 + total) + 1
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, document in enumerate(documents):
            for gram, weight in self._vector(document).items():
                self._postings[gram].append((index, weight))
        self._variant_vectors = [[self._vector(grams) for grams in per_question] for per_question in question_grams]

    def _grams(self, text: str) -> Counter[str]:
        return char_grams(text, self._synonyms)

    def _tokens(self, text: str) -> list[Token]:
        return self._tokenizer.tokenize(normalize(text))

    def _vector(self, grams: Counter[str]) -> dict[str, float]:
        weights = {g: (1 + math.log(n)) * self._idf.get(g, self._unknown_idf) for g, n in grams.items() if n > 0}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {gram: weight / norm for gram, weight in weights.items()}

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best entries for ``text``, most confident first, whatever their confidence.

        A question often comes after a greeting and a reason (夜分にすみません。娘のことで…電話したい):
        each sentence of a longer message is also scored on its own, and an entry keeps its best score,
        so the reason's nouns do not count against the question.
        """
        best: dict[int, Hit] = {}
        for piece in (text, *_sentences(text)):
            for index, hit in self._score(piece):
                if index not in best or hit.score > best[index].score:
                    best[index] = hit
        return sorted(best.values(), key=lambda hit: hit.score, reverse=True)[:limit]

    def _score(self, text: str) -> list[tuple[int, Hit]]:
        """The entries closest to one piece of text, each with its confidence."""
        query = self._vector(self._grams(text))
        cosine: dict[int, float] = defaultdict(float)
        for gram, weight in query.items():
            for index, entry_weight in self._postings.get(gram, ()):
                cosine[index] += weight * entry_weight
        ranked = sorted(cosine.items(), key=lambda item: item[1], reverse=True)[:8]
        tokens = self._tokens(text)  # once: both the lemma overlap and the noun check read them
        lemmas = _lemma_string(tokens)
        nouns = _nouns(tokens)
        hits = []
        for index, score in ranked:
            overlap, variant = max(
                (_overlap(lemmas, variant_lemmas), question) for question, variant_lemmas in self._variants[index]
            )
            closest = max((_dot(query, vector) for vector in self._variant_vectors[index]), default=0.0)
            confidence = (
                COSINE_WEIGHT * score + VARIANT_WEIGHT * closest + (1 - COSINE_WEIGHT - VARIANT_WEIGHT) * overlap
            )
            # A noun the entry never uses suggests another topic; one the whole FAQ never uses
            # (パスポート against 受給者証の申請方法), more strongly.
            elsewhere = nouns - self._vocabulary[index]
            confidence *= OTHER_ENTRY_NOUN ** len(elsewhere & self._all_nouns)
            confidence *= UNKNOWN_NOUN ** len(elsewhere - self._all_nouns)
            confidence *= OTHER_PLACE ** len(elsewhere & self._places)
            hits.append((index, Hit(self._answers[index], confidence, variant)))
        return hits

    def answers(self) -> list[Answer]:
        """Every answer of the region, as rendered there."""
        return list(self._answers)

    def answer(self, entry_id: str) -> Answer | None:
        """The entry's answer as this region renders it, if the region has that entry."""
        return next((answer for answer in self._answers if answer.id == entry_id), None)

    def best(self, text: str, *, sure: bool = False) -> Hit | None:
        """The answer, or None when no entry is close enough to be sure.

        ``sure``: for a message that was not asked as a question, only an answer the index is
        clearly sure of (``SURE``): small talk must not get a page of the knowledge base.
        """
        hits = self.search(text, limit=1)
        bar = max(self.threshold, SURE) if sure else self.threshold
        return hits[0] if hits and hits[0].score >= bar else None
