"""What fools keyword matching, as a table: the rule must fire, or be set aside for the right reason.

Written against unidic-lite 1.0.8 and the shipped lexicon. Each row: message, rule id,
whether it should be active, and the modifier that sets it aside when it is not.
"""

from __future__ import annotations

import pytest

from intents import Classifier

ACTIVE = [
    ("母が入院しちゃって弟がひとりです", "carer_taken_ill"),
    ("ははがにゅーいんしちゃって", "carer_taken_ill"),
    ("haha ga kyuukyuusha de hakobareta", "carer_taken_ill"),
    ("父が脳梗塞で運ばれて、自閉症の兄が家で待ってる", "nobody_to_care_after_illness"),
    ("しにたい", "suicidal_words"),
    ("モウ ツカレタ。キエタイ。", "suicidal_words"),
    ("死にたいわけじゃないけど消えたい", "suicidal_words"),  # one reading negated, the other meant
    ("生きてる意味ないっしょ", "suicidal_words"),  # the cue itself is a negation
    ("薬たくさん飲んだ", "self_harm_or_overdose"),  # particles dropped
    ("親に年金とられてる", "money_taken"),
    ("虐待じゃないかと思う", "violence_or_abuse"),  # a suspicion, not a denial
    ("家追い出されて今夜ねるとこない", "nowhere_to_sleep"),
    ("今晩泊まるとこないんだわ", "nowhere_to_sleep"),
    ("息子が夕方から帰ってきません。外は吹雪です", "missing_in_danger"),
    ("今夜のためにロープを用意した", "method_prepared"),
    ("しぬ", "bare_death_word"),
    ("もう限界 今夜は妹みれない", "carer_at_limit"),
    # a hedge is not an if: か・も・しれ・ない holds the letters of もし
    ("息子の世話してるけど、もう限界かもしれない", "carer_worn_out"),
    ("ひとりで娘をみてて、もう限界かもしんない", "carer_worn_out"),
    ("家出されて 今日家帰れない", "nowhere_to_sleep"),  # 家 read as 屋 with the particle dropped
]

SET_ASIDE = [
    ("虐待はされていません", "violence_or_abuse", "negated"),
    ("暴力とかそういうのは全然ないです", "violence_or_abuse", "negated"),
    ("死にたいとか、そういうことではないんです", "suicidal_words", "negated"),
    ("施設の職員さんに怒鳴られたことは一度もないです", "violence_or_abuse", "negated"),
    ("去年母が入院したときは大変でした", "carer_taken_ill", "past"),
    ("以前、DVで逃げたときにお世話になりました", "violence_or_abuse", "past"),
    ("前はリスカしてたけど今はしてない", "self_harm_or_overdose", "resolved"),
    ("母が先週入院しましたが、もう退院して元気です", "carer_taken_ill", "resolved"),
    ("虐待のニュースを見て不安になりました", "violence_or_abuse", "reported"),
    ("もし私が倒れたら、知的障がいの息子はどうなりますか", "self_carer_taken_ill", "hypothetical"),
    ("母が倒れたら弟はどうなるの", "carer_taken_ill", "hypothetical"),
    ("施設で虐待を見かけたら、どこに連絡すればいいですか", "violence_or_abuse", "hypothetical"),
    ("母の入院が来年の春に予定されています", "carer_taken_ill", "future"),
    ("ODってどういう意味？", "self_harm_or_overdose", "mention"),
    ("虐待の相談もできますか", "violence_or_abuse", "mention"),
    ("闇金ウシジマくん読んだ", "debt", "other_sense"),
    ("ボクシングジムのスパーで殴られまくった", "violence_or_abuse", "other_sense"),
    ("給料ぜんぶ税金にとられる", "money_taken", "other_sense"),
]

NOT_FOUND = [
    ("死ぬほど笑った", "suicidal_words"),  # hyperbole
    ("課題多すぎて死ぬｗ", "suicidal_words"),
    ("大学の体験入学に行きました", "trial_stay_words"),  # another sense of 体験
    ("まずお試しで泊まれるとこないべか", "nowhere_to_sleep"),  # asking for a place, not having none
    ("今日は家に帰りたくない気分", "nowhere_to_sleep"),  # does not want to, not cannot
    ("昼食代がどうなるのか教えて", "violence_or_abuse"),  # どうなる is not 怒鳴る
    ("ショートステイと短期入所は同じもの？分からなくなって", "nobody_to_care_after_illness"),
    # 一人になる with its particle dropped leaves ひとり+な: not the な of the next word, a town's name
    ("いまひとり なかしべつに住んでて 親が入院中", "nobody_to_care_after_illness"),
]


def hits(classifier: Classifier, text: str, rule_id: str) -> list[tuple[bool, frozenset[str]]]:
    return [(hit.active, hit.modifiers) for hit in classifier.analyse(text).hits if hit.rule.id == rule_id]


@pytest.mark.parametrize(("text", "rule_id"), ACTIVE)
def test_it_fires(classifier: Classifier, text: str, rule_id: str) -> None:
    assert any(active for active, _ in hits(classifier, text, rule_id)), classifier.classify(text).to_json()


@pytest.mark.parametrize(("text", "rule_id", "modifier"), SET_ASIDE)
def test_it_sets_aside(classifier: Classifier, text: str, rule_id: str, modifier: str) -> None:
    found = hits(classifier, text, rule_id)
    assert found, f"{rule_id} did not match at all"
    assert not any(active for active, _ in found)
    assert any(modifier in modifiers for _, modifiers in found)


@pytest.mark.parametrize(("text", "rule_id"), NOT_FOUND)
def test_it_does_not_match(classifier: Classifier, text: str, rule_id: str) -> None:
    assert not any(active for active, _ in hits(classifier, text, rule_id))
