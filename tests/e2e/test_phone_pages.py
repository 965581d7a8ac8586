"""The chat, the queue and the case page on a 390x844 phone, in headless Chromium with a Japanese font.

What a family and the one coordinator on call see at 2 a.m.: the newest chat message in view, the
welcome, the deletion confirmation, the sign that a coordinator joined, the title and the chime while
the tab is hidden; one page alert at the top, only while unclaimed; the first waiting card and the
claim button within the first screen; the reasons for urgency in Japanese; nothing under the header.
With ``MADOGUCHI_SCREENSHOTS`` set (``make screenshots``) the tests also save the README's screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect
from sqlmodel import Session

from storage.models import Conversation
from tests.e2e.conftest import KIMURA, ONCALL, PHONE, SUZUKI, CoordinatorPage, Site, shoot
from tests.e2e.test_coordinator_flow import (
    URGENT,
    chat_case,
    chat_conversation,
    claim,
    open_case,
    open_chat,
    send_in_chat,
    write_urgent,
)

pytestmark = pytest.mark.browser

PhoneContext = Callable[[Site], BrowserContext]
SCREEN_HEIGHT = PHONE["viewport"]["height"]
#: The classifier's identifiers, which a coordinator must never have to read.
IDENTIFIERS = re.compile(r"\brule [a-z_]+|\bmodel [a-z_]+ \d|[a-z]+_[a-z_]+")
#: Counts the chimes: every tone the page starts (set up before its scripts run).
COUNT_CHIMES = """
window.__chimes = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__chimes += 1; return start.apply(this, args); };
"""
LONG_STORY = (
    URGENT + "。" + "夜になっても 誰も来なくて、弟は 薬の 時間も わからないし、私も 仕事で 離れられません。" * 12
)


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def assert_newest_in_view(chat: Page) -> None:
    """The last thing in the chat (a bubble or its buttons) shows between the header and the composer."""
    newest = box(chat.locator("#log > *").last)
    top = box(chat.locator("header.bar"))["y"] + box(chat.locator("header.bar"))["height"]
    composer = box(chat.locator("form#composer"))["y"]
    bottom = newest["y"] + newest["height"]
    assert top - 1 <= bottom <= composer + 1, f"the newest message ends at {bottom} px, out of view ({top}-{composer})"


def assert_below_the_header(page: Page, *selectors: str) -> None:
    """The header keeps its own height (its buttons inside it) and nothing starts under it."""
    header = box(page.locator("header.bar"))
    bottom = header["y"] + header["height"]
    for button in page.locator("header.bar button").all():
        inner = box(button)
        assert inner["y"] + inner["height"] <= bottom + 1, f"{button} sticks out of the header on {page.url}"
    for selector in selectors:
        for element in page.locator(selector).all():
            assert box(element)["y"] >= bottom - 1, f"{selector} starts under the header on {page.url}"


def assert_in_first_screen(locator: Locator) -> None:
    found = box(locator)
    assert found["y"] + found["height"] <= SCREEN_HEIGHT, f"{locator} ends at {found['y'] + found['height']} px"


def hide_tab(page: Page, hidden: bool) -> None:
    """As a phone does when the person switches to another app (or back)."""
    page.evaluate(
        """(hidden) => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            const state = hidden ? "hidden" : "visible";
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


# --- the chat ---------------------------------------------------------------------------------


def test_the_chat_opens_with_a_welcome_and_keeps_the_newest_message_in_view(
    site: Site, phone_context: PhoneContext
) -> None:
    chat = open_chat(phone_context(site))
    welcome = chat.locator("#welcome")
    expect(welcome).to_be_visible()
    for words in ("相談員が 読んで", "当番の 相談員", "記録します", "「データを消して」", "119", "110", "0153-73-3178"):
        expect(welcome).to_contain_text(words)
    assert_below_the_header(chat, "#welcome")

    for text in ("こんにちは", "住まいを さがしています", "グループホームの 空きは ありますか", URGENT, "中標津町です"):
        send_in_chat(chat, text)
        assert_newest_in_view(chat)
    assert_newest_in_view(chat)
    shoot(chat, "chat")


def test_deleting_the_data_shows_a_confirmation(site: Site, phone_context: PhoneContext) -> None:
    context = phone_context(site)
    chat = open_chat(context)
    write_urgent(chat)
    conversation = chat_conversation(site, context)
    send_in_chat(chat, "データを消して")
    expect(chat.locator("#log .bubble.bot").last).to_contain_text("ぜんぶ 消しますか")
    chat.locator("#log .choices button").filter(has_text="消す").click()
    done = chat.locator("#forgotten")
    expect(done).to_be_visible()
    expect(done).to_contain_text("記録を 消しました")
    expect(chat.locator("#log .bubble")).to_have_count(0)  # nothing of the old chat stays on the screen
    found = box(done)
    assert found["y"] + found["height"] <= box(chat.locator("form#composer"))["y"] + 1
    with Session(site.engine) as session:
        assert session.get(Conversation, conversation) is None


def test_a_coordinator_joining_shows_a_sign_and_a_hidden_tab_hears_the_reply(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    context = phone_context(site)
    context.add_init_script(COUNT_CHIMES)
    chat = open_chat(context)
    write_urgent(chat)
    case_id = chat_case(site, context)
    expect(chat.locator("#joined")).to_be_hidden()

    page = coordinator_page(site, KIMURA, phone=True)
    open_case(page, case_id)
    claim(page, KIMURA)
    expect(chat.locator("#joined")).to_be_visible()
    expect(chat.locator("#joined")).to_contain_text("相談員が この チャットに 入りました")
    assert_newest_in_view(chat)

    title = chat.title()
    hide_tab(chat, True)
    page.locator("#reply").fill("木村です。いま 電話しますね。")
    page.locator("#reply").press("Enter")
    expect(chat.locator("#log .bubble.coordinator")).to_contain_text("いま 電話しますね")
    assert_newest_in_view(chat)
    expect(chat).to_have_title(re.compile("新しい 返事が あります"))
    assert chat.evaluate("window.__chimes") >= 1, "no sound when the reply came"
    hide_tab(chat, False)
    expect(chat).to_have_title(title)


# --- the queue and the case page ----------------------------------------------------------------


def test_one_page_alert_at_the_top_only_while_unclaimed_and_the_first_card_in_the_first_screen(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    first_chat = open_chat(phone_context(site))
    write_urgent(first_chat)
    second = phone_context(site)
    write_urgent(open_chat(second))
    newest = chat_case(site, second)

    queue = coordinator_page(site, ONCALL, phone=True)
    alerts = queue.locator(".page-alert")
    expect(alerts).to_have_count(1)
    expect(alerts).to_contain_text(f"ケース #{newest}")
    expect(alerts).to_contain_text("ほかに 未対応の 呼び出しが")
    card = queue.locator(f'article.card[data-case="{newest}"]')
    expect(card).to_contain_text("「母が倒れて救急車で運ばれました")  # what the person wrote
    expect(card).to_contain_text("分 待ち")
    expect(card).to_contain_text("緊急")
    assert_in_first_screen(queue.locator("article.card").first)
    assert box(alerts)["y"] < box(card)["y"]
    assert_below_the_header(queue, "h1", ".page-alert")
    shoot(queue, "queue")

    # Claimed cases call nobody any more: each claim takes its case out of the alert.
    waiting = queue.locator("article.card[data-case]").evaluate_all("(cards) => cards.map((c) => c.dataset.case)")
    for case_id in waiting:
        open_case(queue, int(case_id))
        claim(queue, ONCALL)
        assert_below_the_header(queue, "h1", ".flash")
    queue.goto("/coordinator/")
    expect(queue.locator("article.card").first).to_be_visible()
    expect(queue.locator(".page-alert")).to_have_count(0)


def test_the_case_page_leads_with_what_to_act_on_in_japanese_and_the_reply_box_stays_at_the_thumb(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    context = phone_context(site)
    chat = open_chat(context)
    send_in_chat(chat, LONG_STORY)
    expect(chat.locator("#log .bubble.bot").first).to_contain_text("119")
    case_id = chat_case(site, context)

    page = coordinator_page(site, SUZUKI, phone=True)
    open_case(page, case_id)
    facts = page.locator(".card.act")
    expect(facts).to_contain_text("介護者の 急病・入院")
    expect(facts).to_contain_text("母が倒れて")
    main = page.locator("main").inner_text()
    assert not IDENTIFIERS.search(main), f"an internal identifier on the case page: {IDENTIFIERS.search(main)}"
    claim_button = page.locator("form[action$='/claim'] button")
    assert_in_first_screen(claim_button)
    assert_in_first_screen(facts)
    assert_below_the_header(page, "h1", "#status")
    shoot(page, "case")

    claim(page, SUZUKI)
    assert_below_the_header(page, "h1", ".flash")
    shoot(page, "case-claimed")
    reply = page.locator("#reply-form")
    for where in ("0", "document.scrollingElement.scrollHeight"):
        page.evaluate(f"window.scrollTo(0, {where})")
        found = box(reply)
        assert abs(found["y"] + found["height"] - SCREEN_HEIGHT) <= 1, f"the reply box is not at the bottom: {found}"
    # The resolve outcome has no default: a coordinator must choose one.
    page.locator("summary").filter(has_text="終わりにする").click()
    expect(page.locator("select[name=outcome]")).to_have_value("")


def test_a_quick_reply_fills_the_box_to_be_edited_and_the_edited_text_reaches_the_person(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    context = phone_context(site)
    chat = open_chat(context)
    write_urgent(chat)
    case_id = chat_case(site, context)
    page = coordinator_page(site, KIMURA, phone=True)
    open_case(page, case_id)
    claim(page, KIMURA)

    chips = page.locator("#reply-form .quick-replies button")
    expect(chips.filter(has_text="電話して よいか")).to_have_count(1)
    expect(chips.filter(has_text="センターの 番号")).to_have_count(1)  # the region's hub phone is known
    reply_box = page.locator("#reply")
    chips.filter(has_text="電話して よいか").click()
    asked = f"相談員の {KIMURA.name}です。メッセージを 読みました。いま お電話しても よいですか？"
    expect(reply_box).to_have_value(asked)  # the name the person was told, filled in
    assert page.locator("#reply-form").count() == 1
    expect(chat.locator("#log .bubble.coordinator")).to_have_count(0)  # a tap never sends
    form, header = box(page.locator("#reply-form")), box(page.locator("header.bar"))
    assert form["y"] >= header["y"] + header["height"], "the reply box with its quick replies reaches the header"
    assert abs(form["y"] + form["height"] - SCREEN_HEIGHT) <= 1, f"the reply box is not at the bottom: {form}"
    for chip in chips.all()[:2]:
        found = box(chip)
        assert found["y"] + found["height"] <= box(reply_box)["y"] + 1, "a quick reply covers the reply box"
    shown = reply_box.evaluate("(box) => box.clientHeight >= box.scrollHeight")
    assert shown, "the reply box hides part of the quick reply: it should grow to show it all"
    shoot(page, "case-quick-replies")

    # Edited as any text, then a second quick reply goes under it on a new line.
    reply_box.press("End")
    reply_box.press_sequentially("（夜分に すみません）")
    chips.filter(has_text="番号を 聞く").click()
    edited = f"{asked}（夜分に すみません）\nお電話で お話ししたいです。つながる 電話番号を 教えてください。"
    expect(reply_box).to_have_value(edited)
    with page.expect_navigation():
        reply_box.press("Enter")
    expect(page.locator(".flash")).to_contain_text("返事を 送りました")
    bubble = chat.locator("#log .bubble.coordinator")
    expect(bubble).to_have_count(1)
    expect(bubble).to_contain_text("（夜分に すみません）")
    expect(bubble).to_contain_text("つながる 電話番号を 教えてください")
