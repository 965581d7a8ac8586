"""Reading what a person wrote as answers to the intake: towns, who is writing, who is with them (pure).

A person does not fill a form. 「弟は自閉症で、夜はひとりで過ごせません。根室市です」 holds a town;
「べつかいです」 and 「nakashibetu」 are towns; 「わかんない」 is "unknown", not "another town";
「私は姉です」 says who is writing. Each reader returns what it found, or None when the message does not
say it, so the engine can tell an answer from a story and fill several questions from one message.
The words are data (``answers.yaml``); the towns and their readings are the region's
(``knowledge/data/regions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jaconv
from pydantic import BaseModel, ConfigDict, field_validator
from rapidfuzz.distance import Levenshtein

from bot.conversation.texts import fold
from intents.normalize import katakana_to_hiragana, romaji_to_kana
from intents.tokens import Tokenizer
from intents.yamlfile import load_yaml_file

ANSWERS_FILE = Path(__file__).with_name("answers.yaml")
_KANA = re.compile(r"[\u3041-\u309f]+")
COPULAS = ("でございます", "になります", "なんですけど", "ですけど", "ですが", "です", "だよ", "だべ", "っす", "だ")
UNKNOWN = "わからない"


class AnswerWords(BaseModel):
    """The schema of ``answers.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unknown: list[str]
    roles: dict[str, list[str]]
    role_phrases: dict[str, list[str]]
    role_endings: list[str]
    role_openers: list[str]
    alone: list[str]
    not_alone: list[str]
    with_family: list[str]
    with_supporter: list[str]
    supporter_places: list[str]
    present: list[str]
    together: list[str]
    writer_present: list[str]  # regular expressions
    alone_now: list[str]  # regular expressions
    town_unknown: list[str]  # regular expressions
    lives_in: list[str]  # regular expressions with a group named ``place``
    supporter_titles: list[str]
    supporter_says: list[str]
    medical: dict[str, list[str]]
    contact: dict[str, list[str]]

    @field_validator("writer_present", "alone_now", "town_unknown", "lives_in")
    @classmethod
    def _patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns

    @field_validator("lives_in")
    @classmethod
    def _names_the_place(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if "place" not in re.compile(pattern).groupindex:
                raise ValueError(f"{pattern!r} has no group named place")
        return patterns

    @classmethod
    def load(cls, path: Path = ANSWERS_FILE) -> AnswerWords:
        return cls.model_validate(load_yaml_file(path))


@dataclass(frozen=True, slots=True)
class Town:
    name: str  # as the region writes it: 別海町
    stems: tuple[str, ...]  # what a person may write for it, folded: 別海, べつかい, betsukai


class AnswerReader:
    """Reads answers for one knowledge base; build once, share between threads (it keeps no state)."""

    def __init__(self, words: AnswerWords, tokenizer: Tokenizer) -> None:
        self.words = words
        self.tokenizer = tokenizer

    @cached_property
    def people(self) -> frozenset[str]:
        """Words for family members (母, 父, 弟 …): which person a danger is about."""
        return frozenset(self.words.roles["家族"]) | frozenset(self.words.with_family)

    @cached_property
    def _role_patterns(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        openers = "|".join(map(re.escape, sorted(map(fold, self.words.role_openers), key=len, reverse=True)))
        endings = "|".join(e if e == "$" else re.escape(fold(e)) for e in self.words.role_endings)
        patterns = []
        for role, names in self.words.roles.items():
            alternatives = "|".join(map(re.escape, sorted(map(fold, names), key=len, reverse=True)))
            # "I am X" (私は姉で、…; わたしはばあちゃんなんだけど), "X です" (根室に住んでる母です),
            # "X's Y" (利用者さんの母親です), "X の私" (母親の私も).
            patterns.append((role, re.compile(rf"(?:{openers})(?:{alternatives})")))
            patterns.append((role, re.compile(rf"(?:{alternatives})(?:さん|ちゃん)?(?:{endings})")))
            patterns.append((role, re.compile(rf"(?:{alternatives})の(?:わたし|私|僕|俺|おれ)")))
        titles = "|".join(map(re.escape, sorted(map(fold, self.words.supporter_titles), key=len, reverse=True)))
        says = "|".join(map(re.escape, map(fold, self.words.supporter_says)))
        patterns.append(("支援者", re.compile(rf"(?:{titles})(?:の[^。、]{{1,6}})?(?:{says})")))
        return tuple(patterns)

    # --- towns ----------------------------------------------------------------------------------

    def towns_of(self, towns: tuple[str, ...], readings: dict[str, str]) -> tuple[Town, ...]:
        """Each town with the ways a person may write it, longest first (中標津 before 標津)."""
        out = []
        for name in towns:
            stem = name.rstrip("市町村区") or name
            kana = readings.get(name)
            variants = {fold(name), fold(stem)}
            if kana:
                variants |= {kana, _romaji(kana)}
            out.append(Town(name, tuple(sorted(variants, key=len, reverse=True))))
        return tuple(sorted(out, key=lambda town: -max(map(len, town.stems))))

    def town(self, text: str, towns: tuple[Town, ...]) -> str | None:
        """The region's town named in ``text`` (any script, one typo allowed in a reading), else None."""
        folded = fold(text)
        kana = self._kana(text)
        for form in (folded, kana):
            for town in towns:
                if any(stem in form for stem in town.stems if len(stem) >= 2):
                    return town.name
        for town in towns:  # a small typo in a long enough reading: べっかい, なかしべず, nemrou
            for stem in town.stems:
                latin, kanji = stem.isascii(), not _KANA.fullmatch(stem) and not stem.isascii()
                if len(stem) >= (5 if latin else 3 if kanji else 4) and _near(
                    stem, kana if not (latin or kanji) else folded
                ):
                    return town.name
        return None

    def home_town(self, text: str, towns: tuple[Town, ...]) -> str | None:
        """「釧路市に住んでいます。そちらは根室の窓口ですよね」: where the writer says they live, which
        outweighs any other place the message names. A town of the region, or the other place as written."""
        folded = fold(text)
        for pattern in self.words.lives_in:
            found = re.search(pattern, folded)
            if found:
                place = found.group("place")
                return self.town(place, towns) or place
        return None

    def says_town_unknown(self, text: str) -> bool:
        """「町の名前は、、ごめんなさい、わからないです」: the town is not known, said in a longer message."""
        folded = fold(text)
        return any(re.search(pattern, folded) for pattern in self.words.town_unknown)

    def looks_like_a_name(self, text: str) -> bool:
        """A short answer that names something (釧路市です, 札幌, おばです), not a sentence that tells a story."""
        core = _strip_copula(fold(text))
        return 0 < len(core) <= 8 and not self._has_predicate(text)

    # --- who is writing, who is with them -------------------------------------------------------

    def is_unknown(self, text: str) -> bool:
        core = _strip_copula(fold(text)).rstrip("ー〜…")
        return any(core == w or (core.startswith(w) and len(core) <= len(w) + 3) for w in map(fold, self.words.unknown))

    def names_family(self, text: str) -> bool:
        """A family member named as someone the message is about (「息子と」「母が」「弟は」)."""
        return bool(self._family_named.search(fold(text)))

    @cached_property
    def _family_named(self) -> re.Pattern[str]:
        names = sorted(map(fold, self.words.roles["家族"]), key=len, reverse=True)
        return re.compile(rf"(?:{'|'.join(map(re.escape, names))})(?:さん|ちゃん)?(?:が|は|と|の|を|も|、|（|\()")

    def writer_is_with_them(self, text: str) -> bool:
        """「私が付き添っております」, 「私と二人です」: the writer is the one with the person."""
        folded = fold(text)
        return any(re.search(pattern, folded) for pattern in self.words.writer_present)

    def says_unknown(self, text: str) -> bool:
        """「住所は、、ごめんなさい、わからないです」: the person says they do not know, in a longer message."""
        folded = fold(text)
        return any(fold(word) in folded for word in self.words.unknown if len(fold(word)) >= 4)

    def role(self, text: str) -> str | None:
        """本人 / 家族 / 支援者 when the writer says which they are, else None."""
        folded = fold(text)
        for role, phrases in self.words.role_phrases.items():
            if any(fold(phrase) in folded for phrase in phrases):
                return role
        for role, pattern in self._role_patterns:
            if pattern.search(folded):
                return role
        return None

    def others(self, text: str, *, answering: bool = True) -> str | None:
        """Who is with the person: from an answer to 「いま そばに だれか いますか？」, or (``answering``
        False) from a longer message, where only a plain statement counts (「家に妹がひとりでいます」 yes,
        「夜はひとりで過ごせません」 no)."""
        folded = fold(text)
        w = self.words
        if not answering:
            spaced = fold(re.sub(r"\s+", "。", text.strip()))  # a space ends a phrase: 「いまひとり なかしべつ」
            if any(re.search(pattern, spaced) for pattern in w.alone_now):
                return "ひとり"
            if not _any(folded, w.together):
                return None
            found = self.others(text)
            people = [word for word in w.with_supporter if word not in w.supporter_places]
            if found == "支援者がいる" and not _any(folded, people):
                return None
            return found if found != "ひとり" else None
        if any(fold(x) in folded for x in w.with_supporter) and _any(folded, w.present + w.with_supporter):
            return "支援者がいる"
        if any(fold(x) in folded for x in w.not_alone) or (
            any(fold(x) in folded for x in w.with_family) and _any(folded, w.present)
        ):
            return "家族がいる"
        if _any(folded, w.alone):
            return "ひとり"
        return None

    def choice_in(self, text: str, table: dict[str, list[str]]) -> str | None:
        """The key of ``table`` whose words the text uses (medical care: ある / ない; contact: 電話 / チャット)."""
        folded = fold(text)
        if self.is_unknown(text):
            return UNKNOWN
        for key, words in sorted(table.items(), key=lambda item: item[0] != "ない"):  # 飲んでない before 飲んで
            if _any(folded, words):
                return key
        return None

    # --- helpers --------------------------------------------------------------------------------

    def _kana(self, text: str) -> str:
        """The message read aloud in hiragana (romaji and katakana too), for matching town readings."""
        plain = katakana_to_hiragana(romaji_to_kana(fold(text)))
        return "".join(token.kana for token in self.tokenizer.tokenize(plain))

    def _has_predicate(self, text: str) -> bool:
        """A verb or adjective other than いる/ある/です: a sentence that tells something, not a name."""
        return any(
            token.pos in {"動詞", "形容詞"} and token.lemma not in {"居る", "有る", "為る", "成る"}
            for token in self.tokenizer.tokenize(fold(text))
        )


def _any(folded: str, words: list[str]) -> bool:
    return any(fold(word) in folded for word in words)


def _strip_copula(folded: str) -> str:
    core = folded.strip("。、.!?！？ｗw")
    for ending in COPULAS:
        if core.endswith(ending):
            return core[: -len(ending)]
    return core


def _romaji(kana: str) -> str:
    """The Hepburn-ish spelling a person types: べつかい -> betsukai."""
    return str(jaconv.kana2alphabet(kana)).replace("ou", "o")


def _near(stem: str, form: str) -> bool:
    """``stem`` appears in ``form`` with at most one letter wrong, added or missing."""
    size = len(stem)
    for width in (size - 1, size, size + 1):
        for start in range(0, max(0, len(form) - width) + 1):
            if Levenshtein.distance(stem, form[start : start + width], score_cutoff=1) <= 1:
                return True
    return False
