"""Context: is a matched cue meant, here and now, by the writer?

Keyword matching is fooled by many things; each becomes a *modifier* on a rule hit:

* ``negated``: 虐待はされていません, 暴力や取り立てはありません (but not 虐待じゃないか,
  死ぬしかない, 来てもらえないべか: questions, "only", requests);
* ``past``: 去年母が入院したときは (a long-past time word in the cue's clause or sentence);
* ``resolved``: もう退院しました, 今は落ち着いています (after the cue);
* ``reported``: 虐待のニュースを見て, ドラマで (but not ドラマみたいな話だけど);
* ``hypothetical``: もし私が倒れたら, 母が倒れたら, 虐待を見かけたら…どこに;
* ``future``: 来年の春に入院予定 (in the sentence, or for rules that ask, anywhere in a
  message that says nothing about tonight);
* ``mention``: ODって何, 虐待の相談もできますか (a topic, not an event);
* ``not_now``: 急ぎではありません, 弟は祖母が見ているので大丈夫.

The matcher adds ``other_sense`` (死ぬほど, 体験入学). Each function here answers one
question for one rule hit, from the tokens and the context terms the matcher already
found; the words themselves are data (``lexicon/terms.yaml``, ``lexicon/context.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from intents.tokens import Token

if TYPE_CHECKING:
    from intents.lexicon import NegationSpec
    from intents.matcher import TermMatch

_SENTENCE_END = {"。", "!", "?", "！", "？", "w", "."}


_CLAUSE_PARTICLES = {"けれど", "けど", "が", "のに", "ので", "から", "し", "ても"}


def _ends_sentence(token: Token) -> bool:
    return token.surface in _SENTENCE_END or (token.pos == "補助記号" and token.pos2 == "句点")


def _spaced_after(tokens: Sequence[Token], index: int) -> bool:
    """Is there a space between this token and the next one (the tokeniser drops spaces)?"""
    return index + 1 < len(tokens) and tokens[index + 1].start > tokens[index].end


def _finishes_predicate(token: Token) -> bool:
    """A word a sentence can end on: a predicate in its final or imperative form, or a sentence-final
    particle (よ, ね). A space after a noun, a case particle or an interjection is only a pause (and
    romaji 「haha ga …」 reads はは as an interjection)."""
    if token.pos in {"動詞", "形容詞", "助動詞"}:
        return token.cform.startswith(("終止形", "命令形"))
    return token.pos == "助詞" and token.pos2 == "終助詞"


def _ends_clause(token: Token) -> bool:
    return (
        _ends_sentence(token)
        or (token.pos == "補助記号" and token.pos2 == "読点")
        or (token.pos == "助詞" and token.pos2 == "接続助詞" and token.lemma in _CLAUSE_PARTICLES)
    )


class Sentences:
    """Which sentence, and which clause inside it, each token belongs to.

    Chat is typed without 。: a sentence also ends at a space after a finished predicate
    (「一年くらい前です 死にたいって思ってます」: the time word dates the first sentence, not
    the wish), a line break or an emoji (both made 。 by ``normalize``), and 「、、」 or 「…」.
    """

    __slots__ = ("_clause", "_sentence")

    def __init__(self, tokens: Sequence[Token]) -> None:
        self._sentence: list[int] = []
        self._clause: list[int] = []
        sentence = clause = 0
        has_predicate = False  # 以前、DVで逃げた: a comma after a bare time word does not end a clause
        for index, token in enumerate(tokens):
            self._sentence.append(sentence)
            self._clause.append(clause)
            has_predicate = has_predicate or token.pos in {"動詞", "形容詞", "助動詞"}
            ends = _ends_sentence(token) or (_spaced_after(tokens, index) and _finishes_predicate(token))
            if ends:
                sentence += 1
            if ends or (_ends_clause(token) and has_predicate):
                clause += 1
                has_predicate = False

    def of(self, token: int) -> int:
        return self._sentence[min(token, len(self._sentence) - 1)] if self._sentence else 0

    def clause_of(self, token: int) -> int:
        return self._clause[min(token, len(self._clause) - 1)] if self._clause else 0


def asks(tokens: Sequence[Token], at: int, spec: NegationSpec) -> bool:
    """The negator at ``at`` ends a question or a request: 泊まれるとこないべか, 来てもらえないでしょうか."""
    following = tokens[at + 1] if at + 1 < len(tokens) else None
    return following is not None and following.lemma in spec.question_after


def cancelled(tokens: Sequence[Token], at: int, spec: NegationSpec) -> bool:
    """Forms of ない that do not deny the cue before them.

    なければ/なきゃ (must, if not), ないといけない (must), ないか/ないでしょうか (a question or a
    request), かもしれない (maybe), しか…ない (only: 死ぬしかない).
    """
    negator = tokens[at]
    if negator.cform.startswith("仮定形"):
        return True
    if asks(tokens, at, spec):
        return True
    following = tokens[at + 1] if at + 1 < len(tokens) else None
    after = tokens[at + 2] if at + 2 < len(tokens) else None
    if following is not None and (
        following.surface == "ば"
        or (following.surface == "と" and after is not None and after.lemma in spec.obligation_after)
    ):
        return True
    before = {token.lemma for token in tokens[max(0, at - 3) : at]}
    return bool(before & {"知れる", "しか"})


def negation_at(tokens: Sequence[Token], end: int, spec: NegationSpec, *, desire: bool = True) -> int | None:
    """The index of the negator of the predicate right after tokens[:end], if it is negated.

    The scope crosses particles, auxiliaries, commas and light words (されていません,
    死にたいとか、そういうことではない, とは思わない) and stops at the next content word,
    a sentence end or a clause-ending particle (けど, ので).
    """
    negators = set(spec.negators)
    light = set(spec.light_words)
    breaks = set(spec.clause_breaks)
    for at in range(end, min(len(tokens), end + 12)):
        token = tokens[at]
        if _ends_sentence(token):
            return None
        if not desire and token.lemma == "たい" and token.pos == "助動詞":
            return None  # 帰りたくない (do not want to) is not 帰れない (cannot)
        if token.pos == "助詞" and token.pos2 == "接続助詞" and token.lemma in breaks:
            return None
        if token.lemma in negators and (token.pos in {"助動詞", "形容詞", "接尾辞"} or token.lemma == "無し"):
            return None if cancelled(tokens, at, spec) else at
        coordinated = at > 0 and tokens[at - 1].lemma in _COORDINATORS  # 暴力や取り立ては…ない
        if token.is_content and token.lemma not in light and token.pos2 != "数詞" and not coordinated:
            return None
    return None


def negated_after(tokens: Sequence[Token], end: int, spec: NegationSpec) -> bool:
    """True when the predicate right after tokens[:end] is negated."""
    return negation_at(tokens, end, spec) is not None


def _in_sentence(matches: Sequence[TermMatch], sentences: Sentences, sentence: int) -> bool:
    return any(sentences.of(match.first) == sentence for match in matches)


def _in_clause(matches: Sequence[TermMatch], sentences: Sentences, clause: int) -> bool:
    return any(sentences.clause_of(match.first) == clause for match in matches)


def _is_past(
    picked: Sequence[TermMatch], tokens: Sequence[Token], sentences: Sentences, found: Mapping[str, Sequence[TermMatch]]
) -> bool:
    """A long-past time word in the cue's clause, or in its sentence with no present-time word there; or
    a message that opens with 前 and ends in the past tense (「前リスカしてた」, 「まえ しにたい おもった」)."""
    past, present = found.get("distant_past", ()), found.get("present", ())
    if _opens_in_the_past(tokens, found.get("past_opening", ()), picked) and not present:
        return True
    clause = sentences.clause_of(picked[0].first)
    if _in_clause(past, sentences, clause) and not _in_clause(present, sentences, clause):
        return True
    sentence = sentences.of(picked[0].first)
    return _in_sentence(past, sentences, sentence) and not _in_sentence(present, sentences, sentence)


def _opens_in_the_past(tokens: Sequence[Token], opening: Sequence[TermMatch], picked: Sequence[TermMatch]) -> bool:
    """The message's first word is 前 (before) and its last predicate, after the cue, is in the past tense.

    Chat runs short sentences together with spaces (「まえ しにたい おもった」), so the whole message is read."""
    if not any(match.first == 0 for match in opening) or picked[0].first == 0:
        return False
    predicates = [token for token in tokens[picked[-1].last :] if token.pos in {"動詞", "形容詞", "助動詞"}]
    return bool(predicates) and predicates[-1].lemma == "た" and not predicates[-1].cform.startswith("仮定形")


_COORDINATORS = {"や", "とか", "・", "等", "など", "及び", "または", "と"}
_MENTION_REACH = 3  # tokens after a cue in which 〜の相談 / 〜って何 / 〜防止 make it a topic, not an event


def _conditional(tokens: Sequence[Token], end: int) -> bool:
    """倒れたら, 死んだら, 入院すれば: the cue is a condition, not an event.

    Unless the sentence goes on in the past: カード貸したら、残高なくなってた tells what happened.
    """
    last = tokens[end - 1] if 0 < end <= len(tokens) else None
    following = tokens[end] if end < len(tokens) else None
    conditional = (last is not None and last.cform.startswith("仮定形")) or (
        following is not None
        and ((following.lemma == "た" and following.cform.startswith("仮定形")) or following.surface == "ば")
    )
    return conditional and not _ends_in_past(tokens, end)


def _ends_in_past(tokens: Sequence[Token], start: int) -> bool:
    """Does the sentence that goes on after ``start`` end in the past tense (…なくなってた)?"""
    last_predicate = None
    for token in tokens[start + 1 :]:
        if _ends_sentence(token):
            break
        if token.pos in {"動詞", "形容詞", "助動詞"}:
            last_predicate = token
    return last_predicate is not None and last_predicate.lemma == "た" and not last_predicate.cform.startswith("仮定形")


def _really_reported(tokens: Sequence[Token], match: TermMatch, negation: NegationSpec) -> bool:
    """ドラマで見た is reported; ドラマみたいな話だけど and テレビの話じゃない are not."""
    if negated_after(tokens, match.last, negation):
        return False
    following = {token.lemma for token in tokens[match.last : match.last + 2]}
    return not following & {"みたい", "様", "ような"}


def _asked(tokens: Sequence[Token], start: int) -> bool:
    """Does the sentence go on into a question (後払いでも大丈夫ですか): asked, not stated."""
    for token in tokens[start:]:
        if token.surface in {"?", "？"} or (token.lemma == "か" and token.pos2 == "終助詞"):
            return True
        if _ends_sentence(token):
            return False
    return False


#: Nouns a cue can describe inside an if-clause: 自殺を考えている「人」が周りにいたら (someone who…, if I meet them).
_SOMEONE = frozenset({"人", "方", "子", "子供", "子ども", "者", "友達", "相手", "知り合い"})


def _conditional_after(tokens: Sequence[Token], end: int) -> bool:
    """虐待を見かけたら…, 入院することになったら, 自殺を考えている人がいたら: the cue sits inside an if-clause
    that follows it (a relative clause on "someone" included)."""
    for at in range(end, min(len(tokens), end + 9)):
        token = tokens[at]
        other_noun = token.pos in {"名詞", "代名詞"} and at > end and token.lemma not in _SOMEONE
        if _ends_sentence(token) or other_noun or token.pos == "補助記号":
            return False
        if (token.lemma == "た" and token.cform.startswith("仮定形")) or (
            token.surface == "ば" and token.pos == "助詞"
        ):
            return True
    return False


def _topic_marker(tokens: Sequence[Token], end: int) -> bool:
    """A noun cue followed by って is a topic (虐待って…？, ODって何), not an event; after a verb って quotes one."""
    if not (0 < end < len(tokens) and tokens[end].surface == "って" and tokens[end - 1].pos == "名詞"):
        return False
    quoted = end + 1 < len(tokens) and tokens[end + 1].lemma in {
        "言う",
        "呼ぶ",
        "思う",
        "書く",
    }  # ごくつぶしって言われる
    return not quoted


def modifiers_for(
    picked: Sequence[TermMatch],
    tokens: Sequence[Token],
    sentences: Sentences,
    found: Mapping[str, Sequence[TermMatch]],
    negation: NegationSpec,
    later_in_message: bool = False,
) -> list[str]:
    """The reasons a rule hit made of ``picked`` may not be meant.

    ``later_in_message``: a date months ahead anywhere in the message (with nothing said about
    tonight) makes the whole message a plan, not an emergency (来月出所します。帰る家がなく…).
    """
    modifiers: list[str] = []
    if any(negated_after(tokens, match.last, negation) for match in picked):
        modifiers.append("negated")
    # Time and mode are judged where the event is: the rule's first term (its other terms may sit elsewhere).
    sentence = sentences.of(picked[0].first)
    if _is_past(picked, tokens, sentences, found):
        modifiers.append("past")
    start = picked[0].first  # after the event, not after the carer's name that may come first
    if any(
        match.first >= start and not negated_after(tokens, match.last, negation) and not _asked(tokens, match.last)
        for match in found.get("resolved", ())
    ):
        modifiers.append("resolved")
    reported = [m for m in found.get("reported", ()) if _really_reported(tokens, m, negation)]
    if _in_sentence(reported, sentences, sentence):
        modifiers.append("reported")
    if (
        _in_sentence(found.get("hypothetical", ()), sentences, sentence)
        or _conditional(tokens, picked[-1].last)
        or any(_conditional_after(tokens, match.last) for match in picked)
    ):
        modifiers.append("hypothetical")
    if _in_sentence(found.get("future", ()), sentences, sentence) or (
        later_in_message and found.get("future") and not found.get("right_now")
    ):
        modifiers.append("future")
    if any(
        0 <= mention.first - match.last < _MENTION_REACH for match in picked for mention in found.get("mention", ())
    ) or any(_topic_marker(tokens, match.last) for match in picked):
        modifiers.append("mention")
    if found.get("not_now"):
        modifiers.append("not_now")
    return modifiers
