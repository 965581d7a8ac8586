"""Text normalisation: make the many ways people type one word look alike.

People write 入院 as にゅういん, ニューイン or にゅーいん, shout with ！！！ and ｗｗｗ,
and end sentences with emoji. This module folds those variants before tokenising,
so the lexicon and the model see one form. It is pure and fast: no tagger here
(see ``tokens``), and the emoji table comes from the lexicon data.

Steps, in order: NFKC (full/half width, compatibility characters), lower-case
Latin, romaji words to hiragana (haha ga taoreta -> はは が たおれた; jaconv,
only for words that parse as romaji, so od, dv and help stay as they are), a
message written only in katakana to hiragana (モウ ツカレタ), emoji to words or
to a sentence break, long runs of one character cut to one, the long-vowel mark
folded inside hiragana words and dropped at their end, line breaks to sentence
breaks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import jaconv

# Hiragana by the vowel they end in; the small ya/yu/yo take the vowel of their row.
VOWEL_OF: dict[str, str] = {}
for _vowel, _row in {
    "あ": "あかさたなはまやらわがざだばぱぁゃゎ",
    "い": "いきしちにひみりぎじぢびぴぃ",
    "う": "うくすつぬふむゆるぐずづぶぷぅゅゔ",
    "え": "えけせてねへめれげぜでべぺぇ",
    "お": "おこそとのほもよろをごぞどぼぽぉょ",
}.items():
    for _kana in _row:
        VOWEL_OF[_kana] = _vowel

#: The spelling a long-vowel mark stands for after each vowel (ニュー -> にゅう, せんせー -> せんせい).
_LONG_VOWEL_SPELLING = {"あ": "あ", "い": "い", "う": "う", "え": "い", "お": "う"}

_LONG_MARKS = "ー〜~"
_PICTOGRAPH_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2B00, 0x2BFF),
    (0x1F900, 0x1F9FF),
)
_INVISIBLE = {"\u200d", "\ufe0f", "\ufe0e", "\u20e3"}
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_RUN = re.compile(r"(\D)\1{2,}")
_DOUBLE_MARK = re.compile(r"([ー~!?。、…・])\1+")
_SPACES = re.compile(r"[ \t\u3000]+")


def is_hiragana(char: str) -> bool:
    return "\u3041" <= char <= "\u309f"


_EMOJI_LIKE = re.compile(
    "["
    + "".join(f"{chr(low)}-{chr(high)}" for low, high in _PICTOGRAPH_RANGES)
    + "".join(_INVISIBLE)
    + f"{chr(_SKIN_TONES.start)}-{chr(_SKIN_TONES.stop - 1)}"
    + "]+"
)


def _is_pictograph(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _PICTOGRAPH_RANGES)


def replace_emoji(text: str, emoji_words: Mapping[str, str]) -> str:
    """Known emoji become words (💊 -> 薬); other pictographs become a sentence break."""

    def replace(match: re.Match[str]) -> str:
        out: list[str] = []
        for char in match.group(0):
            word = emoji_words.get(char)
            if word is not None:
                out.append(word)
            elif _is_pictograph(char) and (not out or out[-1] != "。"):
                out.append("。")
        return "".join(out)

    return _EMOJI_LIKE.sub(replace, text)


def fold_long_vowels(text: str) -> str:
    """Inside a hiragana word the long-vowel mark is spelled out; at the word's end it is dropped.

    ``にゅーいん`` becomes ``にゅういん`` (the dictionary form), ``たすけてー`` becomes
    ``たすけて``. Marks after katakana (グループホーム) are left alone.
    """
    out: list[str] = []
    for i, char in enumerate(text):
        if char not in _LONG_MARKS:
            out.append(char)
            continue
        previous = out[-1] if out else ""
        following = text[i + 1] if i + 1 < len(text) else ""
        if previous and is_hiragana(previous):
            if following and is_hiragana(following):
                vowel = VOWEL_OF.get(previous)
                if vowel is not None:
                    out.append(_LONG_VOWEL_SPELLING[vowel])
            continue  # emphatic mark at a word's end: drop it
        if char == "ー":
            out.append(char)
    return "".join(out)


# One romaji syllable: a consonant cluster and a vowel, a lone n, or the first of a doubled consonant (kitte).
_ROMAJI = re.compile(r"^(?:(?:[kgsztdnhbpmrwfjv]y?|sh|ch|ts|y)?[aiueo]|n'?|(?:[kstpgzdbcmrjfh])(?=[kstpgzdbcmrjfh]))+$")
_LATIN_WORD = re.compile(r"[a-z']+")


def romaji_to_kana(text: str) -> str:
    """A message written in romaji becomes hiragana; English words and abbreviations stay.

    Only when most Latin words in the message parse as romaji ("help me" stays
    English, "kare ni nagurareta" does not), and only those words.
    """
    words = [word for word in _LATIN_WORD.findall(text) if len(word) >= 2]
    if not words or sum(1 for word in words if _ROMAJI.match(word)) * 5 < len(words) * 3:
        return text

    def convert(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < 2 or not _ROMAJI.match(word):
            return word
        kana: str = jaconv.alphabet2kana(word.replace("'", ""))
        return kana if not any("a" <= char <= "z" for char in kana) else word

    return _LATIN_WORD.sub(convert, text)


_KATAKANA_WORD = re.compile(r"[\u30a1-\u30fa\u30fc]+")


def _katakana_only(text: str) -> bool:
    letters = [char for char in text if unicodedata.category(char).startswith("L")]
    return bool(letters) and all("\u30a0" <= char <= "\u30ff" for char in letters)


def katakana_to_hiragana(text: str) -> str:
    """A message typed all in katakana (ハハ タオレタ, シニタイ): its Japanese words become hiragana.

    Words with a long-vowel mark are loanwords (ショートステイ) and stay as they are.
    """
    return _KATAKANA_WORD.sub(lambda m: m.group(0) if "ー" in m.group(0) else jaconv.kata2hira(m.group(0)), text)


_PAUSE = re.compile(r"[、,]{2,}")


def normalize(text: str, emoji_words: Mapping[str, str] | None = None, *, message: bool = True) -> str:
    """Return the canonical form of ``text`` that the tokeniser and the lexicon work on.

    ``message=False`` for lexicon phrases: a single katakana word there is a loanword, never a
    sentence typed in katakana.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = romaji_to_kana(text)
    if message and _katakana_only(text):
        text = katakana_to_hiragana(text)
    text = replace_emoji(text, emoji_words or {})
    text = _PAUSE.sub("。", text)  # 「つらい、、死にたい」: a run of commas is how chat ends a sentence
    text = _RUN.sub(r"\1", text)
    text = _DOUBLE_MARK.sub(r"\1", text)
    text = fold_long_vowels(text)
    text = text.replace("\r", "\n")
    text = re.sub(r"\n+", "\n", text).strip()
    text = re.sub(r"([^。！？!?、\n])\n", r"\1。", text).replace("\n", "")
    return _SPACES.sub(" ", text).strip()
