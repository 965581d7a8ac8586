"""Dialogues with the real engine, classifier and knowledge base: what a family at night,
a young person and a supporter would live through."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from bot.conversation import (
    AwaitAnswer,
    Context,
    Escalate,
    ForgetMe,
    Inbound,
    Kind,
    OpenCase,
    PersonState,
    Phase,
    RecordConsent,
    Slot,
    UpdateCase,
    respond,
)
from bot.conversation.engine import close, join
from bot.conversation.texts import Say
from tests.bot.dialogue import Dialogue

NOW = dt.datetime(2026, 11, 22, 17, 0, tzinfo=dt.UTC)


def test_an_urgent_message_gets_the_number_first_and_pages_at_once(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("夜分にすみません。母が倒れて救急車で運ばれました。知的障がいの弟が家に一人です")
    first = out.replies[0].text
    assert "119" in first and "0153-73-3178" in first
    assert first.index("119") < first.index("0153-73-3178")  # life first, then the hub
    kinds = [type(e) for e in out.effects]
    assert kinds == [OpenCase, Escalate]
    escalate = d.effects_of(Escalate)[0]
    assert isinstance(escalate, Escalate) and escalate.urgent and escalate.reasons
    assert d.state.asking == Slot.TOWN and out.replies[-1].choices  # then a short intake, with buttons


def test_the_urgent_intake_collects_what_a_coordinator_needs(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました。知的障がいの弟が家に一人です")
    d.press("中標津町")
    # 「弟が家に一人です」 said who is with him and that a family member writes: neither is asked.
    assert d.state.phase == Phase.CONSENT  # asked before any health detail is kept
    d.press("はい")
    d.say("胃ろうがあります")
    d.press("電話が ほしい")
    d.say("090-1234-5678")
    summary = d.effects_of(UpdateCase)[-1].summary  # type: ignore[union-attr]
    answers = dict(summary.answers)
    assert answers["町"] == "中標津町" and answers["そばにいる人"] == "ひとり" and answers["書いた人"] == "家族"
    assert answers["医療的ケア・薬"] == "胃ろうがあります" and answers["電話番号"] == "09012345678"
    assert summary.urgent and summary.consent is True and summary.opening
    assert d.state.phase == Phase.IDLE
    assert len(d.effects_of(Escalate)) == 1  # paged once, not again at the end


def test_without_consent_health_details_are_not_asked_or_kept(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が入院して弟を見る人がいません")
    d.press("スキップ")  # town
    d.press("スキップ")  # others (a family member writes: 「母が」「弟を」, so who writes is not asked)
    d.press("いいえ")  # consent
    assert RecordConsent(False) in d.effects
    assert d.state.asking == Slot.CONTACT  # the medical question was skipped
    summary = d.effects_of(UpdateCase)[-1].summary  # type: ignore[union-attr]
    assert "医療的ケア・薬" not in dict(summary.answers)
    assert "記録への同意: なし（健康・障がいの情報は記録していません）" in summary.lines()


def test_a_person_in_crisis_is_asked_who_is_with_them_first(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("しにたい")
    assert "119" in out.text and "0120-279-338" in out.text
    assert d.state.asking == Slot.OTHERS


def test_an_urgent_message_is_never_swallowed_as_an_answer(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("体験入居してみたいです")
    d.press("はい")
    assert d.state.asking == Slot.ROLE
    out = d.say("いま母が倒れました！弟がひとりです")
    assert d.effects_of(Escalate) and d.effects_of(Escalate)[-1].urgent  # type: ignore[union-attr]
    assert "119" in out.text


def test_a_question_is_answered_from_the_knowledge_base(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("夜中でも電話つながる？")
    assert "0153-73-3178" in out.text and not d.effects


def test_a_question_it_cannot_answer_is_offered_to_a_person(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("障害年金っていくらもらえるの？")
    if d.state.phase == Phase.OFFER_HUMAN:  # when the classifier reads it as a question
        assert "担当の人に つなぎましょうか" in out.text
        d.press("つないで ほしい")
        escalate = d.effects_of(Escalate)[-1]
        assert isinstance(escalate, Escalate) and not escalate.urgent
    else:
        assert out.replies[-1].choices  # still a next step


def test_a_topic_is_explained_and_intake_offered(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("グループホームの体験入居をしてみたいです")
    assert d.state.phase == Phase.OFFER_INTAKE and [c.label for c in out.replies[-1].choices] == ["はい", "いまは いい"]
    d.press("いまは いい")
    assert d.state.phase == Phase.IDLE and not d.effects_of(OpenCase)


def test_a_question_while_consent_is_asked_is_answered_and_consent_asked_again(ctx: Context) -> None:
    cost = ctx.faq("nemuro").answer("cost")
    assert cost is not None
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました。弟がひとりです")
    while d.state.phase != Phase.CONSENT:  # the intake's first answers, skipped, up to the consent question
        d.say("スキップ")
    out = d.say("ちなみに相談ってお金かかるんですか？")
    assert cost.text in out.text
    assert out.replies[-1].text.endswith(ctx.texts.say(Say.CONSENT, "nemuro").strip().splitlines()[-1])
    assert d.state.phase == Phase.CONSENT


def test_never_mind_to_an_offer_ends_it_kindly_instead_of_offering_again(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("グループホームの体験入居をしてみたいです")
    assert d.state.phase == Phase.OFFER_INTAKE
    out = d.say("うーん、やっぱもういいや。また今度にする")
    assert out.text == ctx.texts.say(Say.OFFER_DECLINED, "nemuro")
    assert d.state.phase == Phase.IDLE and not d.effects_of(OpenCase)


def test_a_topic_question_with_an_entry_of_its_own_gets_that_entry_not_the_general_text(ctx: Context) -> None:
    guarantor = ctx.faq("nemuro").answer("guarantor")
    general = ctx.faq("nemuro").answer(ctx.texts.spec.topic_answers["housing_search"])
    assert guarantor is not None and general is not None
    out = Dialogue(ctx).say("アパート借りたいけど保証人になってくれる人がいないんです")
    assert guarantor.text in out.text and general.text not in out.text
    assert out.replies[-1].choices  # the intake is still offered


def test_a_topic_question_nobody_can_answer_here_is_said_so_and_offered_to_a_person(ctx: Context) -> None:
    general = ctx.faq("nemuro").answer(ctx.texts.spec.topic_answers["housing_search"])
    assert general is not None
    d = Dialogue(ctx)
    out = d.say("アパートを探してるんですが、ペット可の物件ってありますか")
    answers = [answer.text for answer in ctx.faq("nemuro").answers() if answer.text in out.text]
    assert answers == []  # neither the general text nor a neighbouring entry
    assert ctx.texts.say(Say.TOPIC_UNANSWERED, "nemuro").strip() in out.text
    assert d.state.phase == Phase.OFFER_INTAKE


def test_the_normal_intake_asks_consent_before_what_happened_and_queues_the_case(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("アパートを探しています")
    d.press("はい")
    d.press("本人です")
    d.press("別海町")
    assert d.state.phase == Phase.CONSENT and d.state.asking == Slot.WHAT
    d.press("はい")
    d.say("来月までに部屋を出ないといけません")
    out = d.press("このチャットで")
    escalate = d.effects_of(Escalate)[-1]
    assert isinstance(escalate, Escalate) and not escalate.urgent
    assert "つぎの 平日" in out.text  # honest about when someone will answer


def test_every_question_can_be_skipped_and_no_name_is_asked(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("借金のことで相談したいです")
    d.press("はい")
    while d.state.phase in (Phase.INTAKE, Phase.CONSENT):
        labels = [c.label for c in d.outcomes[-1].replies[-1].choices]
        d.press("スキップ" if "スキップ" in labels else "いいえ")
    assert d.state.phase == Phase.IDLE
    for outcome in d.outcomes:
        assert "名前を" not in outcome.text and "お名前" not in outcome.text


def test_the_person_can_stop_the_questions(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("アパートを探しています")
    d.press("はい")
    out = d.say("やめる")
    assert d.state.phase == Phase.IDLE and "担当の人に 伝えます" in out.text


def test_forget_me_asks_once_then_forgets(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れました")
    d.say("データを消して")
    assert d.state.phase == Phase.CONFIRM_FORGET
    d.press("消す")
    assert ForgetMe() in d.effects
    assert d.state.case_open is False and d.state.facts.opening is None


def test_forget_me_can_be_cancelled(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("記録を消してください")
    out = d.press("やめる")
    assert ForgetMe() not in d.effects and "消さずに" in out.text


def test_small_talk_gets_a_greeting_and_a_menu(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("こんにちは")
    assert len(out.replies[-1].choices) == 4 and not d.effects
    d.press("住まいを さがしたい")
    assert d.state.phase == Phase.OFFER_INTAKE


def test_a_region_without_a_confirmed_phone_still_gives_national_numbers(ctx: Context) -> None:
    d = Dialogue(ctx, region="shiroi")
    out = d.say("母が倒れて救急車で運ばれた。弟がひとり")
    assert "119" in out.text
    assert "に 電話してください。" not in out.text  # the call-this line went with the missing number
    assert "{" not in out.text and "None" not in out.text


@pytest.mark.parametrize(
    "message",
    [
        "こんにちは",
        "しにたい",
        "電話番号は？",
        "体験入居したい",
        "借金がやばい",
        "今夜寝るところがない",
        "???",
        "テスト",
    ],
)
def test_no_reply_is_a_dead_end(ctx: Context, message: str) -> None:
    d = Dialogue(ctx)
    out = d.say(message)
    last = out.replies[-1]
    assert last.choices or re.search(r"(書いて|ください|へ。|聞きたい|ですか|ますか)", last.text), last.text


def test_quick_reply_labels_fit_the_platforms(ctx: Context) -> None:
    texts = ctx.texts
    labels = [
        c.label
        for name in ("menu", "role", "others", "medical", "contact", "yes_no", "offer", "human", "forget", "check")
        for c in texts.choices(name)
    ]
    labels += ctx.kb.region("nemuro").towns
    assert all(len(label) <= 20 for label in labels)  # LINE quick reply labels: 20 characters
    assert all(len(c.value.encode()) <= 64 for name in ("menu", "role") for c in texts.choices(name))  # Telegram


def test_an_urgent_case_is_paged_once_and_answers_are_kept(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました。弟がひとりです")
    d.press("中標津町")
    d.say("弟ひとりです。母は救急車で運ばれました")  # urgent-sounding, but the answer to "who is there?"
    assert len(d.effects_of(Escalate)) == 1
    summary = d.effects_of(UpdateCase)[-1].summary  # type: ignore[union-attr]
    assert dict(summary.answers)["そばにいる人"] == "ひとり"  # read as the answer it is


def test_new_urgent_news_pages_again(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました。弟がひとりです")
    out = d.say("もう死にたい")
    escalations = d.effects_of(Escalate)
    assert len(escalations) == 2 and "0120-279-338" in out.text


# --- the check: a risk the bot is unsure of is asked about at once, and a human hears either way ----


def test_a_risk_cue_in_the_past_is_asked_about_directly_and_queued(ctx: Context) -> None:
    d = Dialogue(ctx)
    out = d.say("前は死にたいと思ってた時期もありました")
    assert "死にたい 気持ちが ありますか" in out.replies[-1].text  # asked the way counsellors are taught to
    assert [c.label for c in out.replies[-1].choices] == ["はい", "いいえ", "わからない"]
    escalate = d.effects_of(Escalate)[0]
    assert isinstance(escalate, Escalate) and not escalate.urgent  # in the queue, nobody woken yet
    assert d.effects_of(AwaitAnswer) == [AwaitAnswer(page_on_silence=True)]  # silence after a risk cue pages
    assert d.state.phase == Phase.CHECK


@pytest.mark.parametrize("answer", ["はい", "わからない", "うーん…どうだろ"])
def test_a_yes_or_anything_unclear_to_the_check_pages_with_the_numbers(ctx: Context, answer: str) -> None:
    d = Dialogue(ctx)
    d.say("前は死にたいと思ってた時期もありました")
    out = d.press(answer) if answer in {"はい", "わからない"} else d.say(answer)
    urgent = [e for e in d.effects_of(Escalate) if isinstance(e, Escalate) and e.urgent]
    assert len(urgent) == 1 and "0120-279-338" in out.text  # よりそいホットライン
    assert d.state.facts.urgent and d.state.phase != Phase.CHECK
    assert d.state.asking == Slot.OTHERS  # a person at risk is asked first whether anyone is with them


def test_a_person_at_risk_who_says_enough_keeps_the_number_and_an_open_door(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("もう死にたい")
    out = d.say("もういい")
    assert "0120-279-338" in out.text and "いつでも 書いて" in out.text
    assert d.state.facts.urgent and len([e for e in d.effects if isinstance(e, Escalate) and e.urgent]) == 1


def test_a_sticker_for_an_answer_to_the_check_is_unclear_and_pages(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("前は死にたいと思ってた時期もありました")
    out = respond(d.state, Inbound("（スタンプ）", NOW, kind=Kind.MEDIA), ctx)
    assert any(isinstance(e, Escalate) and e.urgent for e in out.effects) and "0120-279-338" in out.text


def test_a_no_to_the_check_is_thanked_and_pages_nobody(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("5年前に元夫から暴力を受けていました")
    assert "暴力" in d.outcomes[-1].replies[-1].text
    out = d.press("いいえ")
    assert "おしえてくれて ありがとう" in out.text
    assert not any(isinstance(e, Escalate) and e.urgent for e in d.effects)
    assert d.state.phase == Phase.IDLE and not d.state.facts.urgent


def test_urgent_news_while_the_check_waits_pages_at_once(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("闇金から借りてしまって毎日電話がきます")
    assert "取り立て" in d.outcomes[-1].text  # lenders: asked about threats, not about suicide
    out = d.say("家に来て殺すぞって言われた")
    assert any(isinstance(e, Escalate) and e.urgent for e in out.effects)
    assert "110" in out.text and "#8008" not in out.text  # the police and 法テラス, not the DV line


# --- the right words for the situation ---------------------------------------------------------------


def test_someone_elses_emergency_gets_the_ambulance_not_a_suicide_template(ctx: Context) -> None:
    out = Dialogue(ctx).say("ばあちゃん息してない")
    first = out.replies[0].text
    assert first.startswith("すぐに 救急車") and "119" in first
    assert "あなたの いのち" not in out.text and "0120-279-338" not in first


def test_a_supporter_asking_for_a_bed_tonight_gets_short_stay_facts_in_a_professional_register(
    ctx: Context,
) -> None:
    out = Dialogue(ctx).say(
        "相談支援専門員です。利用者さんの母親が倒れて入院しました。今夜から短期入所の空床はありますか"
    )
    first = out.replies[0].text
    assert first.startswith("ご連絡ありがとうございます") and "短期入所" in first and "0153-73-3178" in first


def test_a_question_about_deleting_is_answered_not_taken_as_a_request(ctx: Context) -> None:
    out = Dialogue(ctx).say("書いた記録って、あとからデータ削除とかもできるんでしょうか？")
    assert "データを消して" in out.text and not any(isinstance(e, ForgetMe) for e in out.effects)


# --- things that are not words (channels translate stickers, follows and groups into these kinds) ----


def test_a_sticker_gets_a_kind_reply_and_the_pending_question_again(ctx: Context) -> None:
    first = respond(PersonState.new("nemuro"), Inbound("母が倒れて救急車で運ばれた。弟がひとり", NOW), ctx)
    asked = first.replies[-1].text
    sticker = respond(first.state, Inbound("（スタンプ）", NOW, kind=Kind.MEDIA), ctx)
    assert "ことばで 書いて" in sticker.replies[0].text
    assert sticker.replies[-1].text == asked and sticker.replies[-1].choices  # the same question, same buttons
    assert sticker.state.asking == first.state.asking
    assert [type(effect).__name__ for effect in sticker.effects] == ["NoteReceived"]


def test_a_follow_greets_and_says_what_is_kept_and_how_to_delete(ctx: Context) -> None:
    outcome = respond(PersonState.new("nemuro"), Inbound("", NOW, kind=Kind.FOLLOW), ctx)
    text = outcome.text
    assert "データを消して" in text and "いいと 言われたときだけ" in text
    assert outcome.replies[-1].choices == ctx.texts.choices("menu")
    assert outcome.effects == ()


def test_a_group_message_is_told_consultations_are_one_to_one_and_nothing_is_opened(ctx: Context) -> None:
    outcome = respond(PersonState.new("nemuro"), Inbound("母が倒れた", NOW, kind=Kind.GROUP), ctx)
    assert "1対1" in outcome.text and outcome.effects == () and not outcome.state.case_open


# --- issue 9: a conversation that listens (the cases the issue reported) ----------------------------


def test_a_second_emergency_mid_intake_is_news_not_the_town(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました")
    assert d.state.asking == Slot.TOWN
    out = d.say("また父も具合が悪くて倒れそうです")
    news = [e for e in out.effects if isinstance(e, Escalate)]
    assert news and news[0].urgent and news[0].news and "119" in out.text
    assert d.state.intake.get(Slot.TOWN) is None and d.state.asking == Slot.TOWN


@pytest.mark.parametrize(
    ("said", "town"),
    [("べつかいです", "別海町"), ("nakashibetsu", "中標津町"), ("ラウス", "羅臼町"),
     ("弟は自閉症です。根室市です", "根室市"), ("なかしべず", "中標津町"), ("わかんない", "わからない")],
)  # fmt: skip
def test_a_town_is_read_in_any_script_and_unknown_is_unknown(ctx: Context, said: str, town: str) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました")
    out = d.say(said)
    assert d.state.intake.get(Slot.TOWN) == town
    assert not out.text.startswith(ctx.texts.say(Say.ASK_OTHERS, "nemuro"))  # acknowledged first


def test_who_writes_is_not_taken_for_who_is_with_them(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("もう死にたい")
    assert d.state.asking == Slot.OTHERS
    d.say("私は姉です")
    assert d.state.intake.get(Slot.OTHERS) is None and d.state.asking == Slot.OTHERS
    out = d.say("ひとり")
    assert out.text.startswith("ひとりなんですね。") and d.state.intake.get(Slot.OTHERS) == "ひとり"


def test_after_a_claim_the_bot_is_quiet_and_a_close_starts_afresh(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました")
    joined = join(d.state, ctx, "佐藤")
    assert "佐藤" in joined.text and joined.state.asking is None
    d.state = joined.state
    assert not d.say("いま妹は泣いています").replies
    assert not d.say("ありがとうございます").replies
    d.state = close(d.state)
    assert d.say("ありがとうございました").replies  # they can always come back


def test_short_messages_get_a_different_answer_each_time_and_no_menu_loop(ctx: Context) -> None:
    d = Dialogue(ctx)
    texts = [d.say(text).text for text in ("😢", "😢", "…", "…")]
    assert all(a != b for a, b in itertools.pairwise(texts))
    assert ctx.texts.say(Say.GREETING, "nemuro") not in texts


@pytest.mark.parametrize(
    ("story", "town"),
    [
        ("釧路市に住んでいます。そちらは根室の窓口ですよね、釧路だと相談できないんでしょうか", "釧路市"),
        ("中標津町に住んでます。根室市の病院に通っています", "中標津町"),
        ("娘たちは北海道の東のほうに住んでおりまして、町の名前は、、ごめんなさい、わからないです", "わからない"),
    ],
)
def test_where_the_writer_lives_outweighs_other_places_named(ctx: Context, story: str, town: str) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました")
    d.say(story)
    assert d.state.intake.get(Slot.TOWN) == town


@pytest.mark.parametrize(
    ("story", "others"),
    [
        ("ご家族の息子さんが、お母様の入院によりご自宅でおひとりになっています", "ひとり"),
        ("部屋に弟とにげてかぎかけた", "家族がいる"),
        ("息子から私に「行くところがない」とLINEがきています", None),  # a LINE arriving is nobody being there
    ],
)
def test_who_is_with_them_is_read_from_a_story(ctx: Context, story: str, others: str | None) -> None:
    d = Dialogue(ctx)
    d.say("母が倒れて救急車で運ばれました")
    d.say("羅臼町です")
    d.say(story)
    assert d.state.intake.get(Slot.OTHERS) == others


def test_a_carer_alone_with_the_person_is_who_is_with_them(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("かあさんが先週から入院してて、おれひとりで息子みてるんだけど、なんもかんもゆるくなくてさ")
    assert d.state.intake.get(Slot.ROLE) == "家族" and d.state.intake.get(Slot.OTHERS) == "家族がいる"


def test_the_first_message_saying_mou_ii_is_still_read_for_risk(ctx: Context) -> None:
    d = Dialogue(ctx)
    d.say("もういい、つかれた")
    assert d.state.phase in {Phase.CHECK, Phase.INTAKE, Phase.CONSENT} and d.effects_of(Escalate)
