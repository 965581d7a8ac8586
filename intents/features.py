"""Features for the linear model, from one analysed message.

The model sees the same analysis the rules produced, so it can learn how far to
trust each rule and each context modifier, and it sees the words themselves so
it can catch what no rule names:

* ``w:`` lemma unigrams and ``b:`` lemma bigrams (入院, 母|入院)
* ``c:`` character 2- and 3-grams of the normalised text (typos, unknown words)
* ``k:`` 3-grams of the kana key (hiragana-only messages)
* ``t:`` lexicon terms found, ``r:`` rule hits with their modifiers
* ``len:`` a length bucket, ``q:`` a question mark or question particle at the end
"""

from __future__ import annotations

import itertools

from intents.matcher import Analysis

_LENGTH_BUCKETS = ((8, "xs"), (20, "s"), (60, "m"), (150, "l"))


def _length_bucket(length: int) -> str:
    for limit, name in _LENGTH_BUCKETS:
        if length <= limit:
            return name
    return "xl"


def extract(analysis: Analysis) -> set[str]:
    feats: set[str] = set()
    lemmas = [token.lemma for token in analysis.tokens if not token.is_punct]
    feats.update(f"w:{lemma}" for lemma in lemmas)
    feats.update(f"b:{a}|{b}" for a, b in itertools.pairwise(lemmas))
    text = analysis.text.replace(" ", "")
    feats.update(f"c:{text[i : i + 2]}" for i in range(len(text) - 1))
    feats.update(f"c:{text[i : i + 3]}" for i in range(len(text) - 2))
    key = analysis.key.text
    feats.update(f"k:{key[i : i + 3]}" for i in range(len(key) - 2))
    for term, matches in analysis.matches.items():
        exact = any(match.how != "fuzzy" for match in matches)
        feats.add(f"t:{term}" if exact else f"tf:{term}")
    for hit in analysis.hits:
        if hit.active:
            feats.add(f"r:{hit.rule.id}")
            feats.add(f"ri:{hit.rule.intent}")
        else:
            feats.update(f"rx:{hit.rule.id}:{modifier}" for modifier in hit.modifiers)
            feats.add(f"rb:{hit.rule.intent}")
    feats.add(f"len:{_length_bucket(len(text))}")
    if text.endswith(("?", "か", "の", "かな")) or "?" in text:
        feats.add("q:")
    return feats
