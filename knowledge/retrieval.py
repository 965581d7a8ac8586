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
A question typed (nearly) all in kana is also compared with each variant by its
reading. Whether to answer is decided by the confidence *and* its lead over the next
entry (``decided``): a near tie is declined, a clear lead answers at a modest
confidence, and a lead never raises an entry that misses a noun of the question.
Below ``THRESHOLD`` the index answers ``None``: the bot then says it is not sure and
offers a person instead of guessing. ``madoguchi kb eval`` prints the trade-off
across thresholds; the weights and the threshold were chosen on half of the spent
round 4 with ``faq_queries.jsonl`` and ``faq_heldout.jsonl``, and checked on the other
half of round 4 (README, "FAQ answers").
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from intents.kana import key_of_tokens
from intents.normalize import normalize
from intents.tokens import Token, Tokenizer
from knowledge.loader import Answer

THRESHOLD = 0.26  # on the decided score: the confidence, raised or lowered by the lead over the next entry
SURE = 0.45  # the confidence a message that is not a question needs: it answers no everyday small talk (README)
LEAD_WEIGHT = 3.0  # how much the lead over the next entry counts, against the confidence itself
USUAL_LEAD = 0.1  # a lead that neither raises nor lowers the decided score
COSINE_WEIGHT = 0.35  # the whole entry (all its variants and its answer) against the question
VARIANT_WEIGHT = 0.45  # the closest single question variant against the question
OTHER_ENTRY_NOUN = 0.8  # confidence factor per query noun that only other entries use
UNKNOWN_NOUN = 0.6  # per query noun that no entry uses
OTHER_PLACE = 0.4  # per place the question names that the entry never does (市役所, 病院: not this centre)
KANA_SHARE = 0.8  # of a question's letters in kana, from which its reading is compared too
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
    score: float  # the decided score: the confidence, moved by how far it leads the next entry
    variant: str  # the question variant closest to what was asked
    confidence: float = 0.0  # how close the question is to this entry, 0..1, whatever the others score
    strangers: int = 0  # nouns of the question this entry never uses


def decided(confidence: float, runner_up: float, strangers: int = 0) -> float:
    """The score that decides whether to answer: the confidence, raised when the entry stands clear of
    the next one and lowered when another entry is nearly as close.

    On the spent FAQ sets, wrong answers mostly had a runner-up within a few hundredths (「親に殴られる。
    どこに相談すればいいの」: the future-planning entry's 「どこに相談すればいい」 against the abuse entry's
    「殴られる」), while right answers left silent mostly stood far ahead at a modest confidence. A lead
    raises the score only when the entry knows every noun of the question: 「パスポートの申請方法」 leads
    on 申請方法 alone, and is not a question about a 受給者証.
    """
    lead = LEAD_WEIGHT * (confidence - runner_up - USUAL_LEAD)
    return confidence + (min(lead, 0.0) if strangers else lead)


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
#: Endings of a sentence that asks (です*か*, 何時な*の*, あるか*い*, 行けるべ*か*, 何番だ*っけ*).
QUESTION_ENDINGS = ("か", "の", "かな", "かね", "かい", "べ", "べか", "っけ")


def asks(text: str) -> bool:
    """The text asks something: a question mark anywhere, or a question ending before its last 。!…"""
    return "?" in text or "？" in text or text.rstrip().rstrip("。.!！…").endswith(QUESTION_ENDINGS)


def _sentences(text: str) -> list[str]:
    """The sentences of a longer message that ask something (none for a one-sentence question).

    「相談支援専門員です。支援者からの相談も受け付けていますか」: the introduction is not the question;
    when no sentence is a question, every sentence counts.
    """
    pieces = [match.group().strip() for match in _PIECE.finditer(text)]
    pieces = [piece for piece in pieces if len(piece.rstrip("。！？!?")) >= 4]
    if len(pieces) < 2:
        return []
    asking = [piece for piece in pieces if asks(piece)]
    return asking or pieces


def sound_grams(tokens: Sequence[Token]) -> Counter[str]:
    """Character unigrams and bigrams of the text's kana key (its squeezed reading), punctuation left out.

    「むりょう？」 and 「無料ですか」, 「よるおそくても でんわ」 and 「夜遅くても電話」 share no written
    grams but sound alike: a question typed in hiragana finds the variant written in kanji.
    """
    flat = key_of_tokens([token for token in tokens if not token.is_punct]).text
    grams = Counter(flat)
    grams.update(flat[i : i + 2] for i in range(len(flat) - 1))
    return grams


_KANA = re.compile(r"[ぁ-ゖァ-ヺー]")
_WORD = re.compile(r"[^\W\d_]")


def _mostly_kana(text: str) -> bool:
    """A question typed (nearly) all in kana: its written grams cannot meet the variants' kanji."""
    letters = len(_WORD.findall(text))
    return letters > 0 and len(_KANA.findall(text)) >= KANA_SHARE * letters


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
        "_sound_idf",
        "_sound_vectors",
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
        question_sounds: list[list[Counter[str]]] = []  # the same, of the variants' readings
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
            question_sounds.append([sound_grams(tokens[question]) for question in answer.entry.questions])
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
        sound_frequency = Counter(gram for sounds in question_sounds for gram in set().union(*sounds))
        self._sound_idf = {gram: math.log((1 + total) / (1 + count)) + 1 for gram, count in sound_frequency.items()}
        self._sound_vectors = [
            [self._vector(grams, self._sound_idf) for grams in per_question] for per_question in question_sounds
        ]

    def _grams(self, text: str) -> Counter[str]:
        return char_grams(text, self._synonyms)

    def _tokens(self, text: str) -> list[Token]:
        return self._tokenizer.tokenize(normalize(text))

    def _vector(self, grams: Counter[str], idf: dict[str, float] | None = None) -> dict[str, float]:
        idf = self._idf if idf is None else idf
        weights = {g: (1 + math.log(n)) * idf.get(g, self._unknown_idf) for g, n in grams.items() if n > 0}
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
                if index not in best or hit.confidence > best[index].confidence:
                    best[index] = hit
        ranked = sorted(best.values(), key=lambda hit: hit.confidence, reverse=True)
        runner_ups = [ranked[1 if place == 0 else 0].confidence if len(ranked) > 1 else 0.0 for place in range(limit)]
        return [
            replace(hit, score=decided(hit.confidence, runner_up, hit.strangers))
            for hit, runner_up in zip(ranked, runner_ups, strict=False)
        ]

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
        sound = self._vector(sound_grams(tokens), self._sound_idf) if _mostly_kana(text) else {}
        hits = []
        for index, score in ranked:
            overlap, variant = max(
                (_overlap(lemmas, variant_lemmas), question) for question, variant_lemmas in self._variants[index]
            )
            closest = max(
                max((_dot(query, vector) for vector in self._variant_vectors[index]), default=0.0),
                max((_dot(sound, vector) for vector in self._sound_vectors[index]), default=0.0),
            )
            confidence = (
                COSINE_WEIGHT * score + VARIANT_WEIGHT * closest + (1 - COSINE_WEIGHT - VARIANT_WEIGHT) * overlap
            )
            # A noun the entry never uses suggests another topic; one the whole FAQ never uses
            # (パスポート against 受給者証の申請方法), more strongly.
            elsewhere = nouns - self._vocabulary[index]
            confidence *= OTHER_ENTRY_NOUN ** len(elsewhere & self._all_nouns)
            confidence *= UNKNOWN_NOUN ** len(elsewhere - self._all_nouns)
            confidence *= OTHER_PLACE ** len(elsewhere & self._places)
            hits.append((index, Hit(self._answers[index], confidence, variant, confidence, len(elsewhere))))
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
        clearly sure of (a confidence of ``SURE``): small talk must not get a page of the knowledge base.
        """
        hits = self.search(text, limit=1)
        if not hits or hits[0].score < self.threshold or (sure and hits[0].confidence < SURE):
            return None
        return hits[0]
