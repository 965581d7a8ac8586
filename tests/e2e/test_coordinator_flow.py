"""End to end in headless Chromium: a family writes on a phone, a coordinator answers from the queue.

Everything is real: ``madoguchi serve`` in a subprocess (with its outbox and
paging workers), its database, the pages and their scripts. The tests wait for
what a person would see (``expect``), and check the database where the page
alone could not tell (exactly one claim, exactly one message sent).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Locator, Page, expect
from sqlmodel import Session, col, select

from bot.web.auth import digest
from storage.models import Case, CaseEvent, Conversation, Direction, Message
from tests.e2e.conftest import KIMURA, ONCALL, SUZUKI, Account, CoordinatorPage, Site

pytestmark = pytest.mark.browser

URGENT = "母が倒れて救急車で運ばれました。弟がひとりです"
WAITING = "当番の 相談員に"
CLAIMED_NOTICE = "受けとりました"
FLASH_CLAIMED = "ケースを 受けました。"
FLASH_TAKEN = "ほかの 相談員が 先に 受けました。"
CHAT_COOKIE = "madoguchi_chat"
#: Long enough for a send to have reached the server and the page (both take well under 100 ms here).
NOTHING_HAPPENS_MS = 600

PhoneContext = Callable[[Site], BrowserContext]


# --- helpers: what a person does ---------------------------------------------------------------


def open_chat(context: BrowserContext) -> Page:
    """The chat page, ready: its script has run (it polls the transcript once at start)."""
    page = context.new_page()
    with page.expect_response(lambda response: "/chat/api/messages" in response.url):
        page.goto("/chat/")
    return page


def composer(page: Page) -> Locator:
    return page.locator("form#composer textarea")


def send_in_chat(page: Page, text: str) -> None:
    composer(page).fill(text)
    composer(page).press("Enter")
    expect(page.locator("#log .bubble.me").filter(has_text=text.splitlines()[0])).to_have_count(1)


def write_urgent(page: Page) -> None:
    """The family's urgent message; the first answer gives 119, then the honest waiting notice."""
    send_in_chat(page, URGENT)
    expect(page.locator("#log .bubble.bot").first).to_contain_text("119")
    waiting = page.locator("#log .bubble").filter(has_text=WAITING)
    expect(waiting).to_have_count(1)
    texts = page.locator("#log .bubble").all_inner_texts()
    first_bot = page.locator("#log .bubble.bot").first.inner_text()
    assert texts.index(first_bot) < texts.index(waiting.inner_text()), texts


def chat_conversation(site: Site, context: BrowserContext) -> int:
    """The database id of the conversation of this browser's chat (its cookie's SHA-256 is the address)."""
    token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == CHAT_COOKIE)
    with Session(site.engine) as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.channel == "web", Conversation.address == digest(token))
        ).one()
        assert conversation.id is not None
        return conversation.id


def chat_case(site: Site, context: BrowserContext) -> int:
    """The newest case opened from this browser's chat."""
    conversation_id = chat_conversation(site, context)
    with Session(site.engine) as session:
        case = session.exec(
            select(Case).where(Case.conversation_id == conversation_id).order_by(col(Case.id).desc())
        ).first()
        assert case is not None and case.id is not None
        return case.id


def messages(site: Site, conversation_id: int, direction: Direction) -> list[str]:
    with Session(site.engine) as session:
        rows = session.exec(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == direction)
            .order_by(col(Message.id))
        ).all()
        return [row.text or "" for row in rows]


def case_messages(site: Site, case_id: int, direction: Direction) -> list[str]:
    with Session(site.engine) as session:
        rows = session.exec(
            select(Message).where(Message.case_id == case_id, Message.direction == direction).order_by(col(Message.id))
        ).all()
        return [row.text or "" for row in rows]


def urgent_case(site: Site, phone_context: PhoneContext) -> tuple[Page, int]:
    """A family's chat with an urgent case waiting in the queue: the chat page and the case id."""
    context = phone_context(site)
    chat = open_chat(context)
    write_urgent(chat)
    return chat, chat_case(site, context)


def open_case(page: Page, case_id: int) -> None:
    page.goto(f"/coordinator/cases/{case_id}")
    expect(page.locator("h1")).to_contain_text(f"ケース #{case_id}")


def claim(page: Page, account: Account) -> None:
    with page.expect_navigation():
        page.locator("form[action$='/claim'] button").click()
    expect(page.locator(".flash")).to_have_text(FLASH_CLAIMED)
    assert page.locator("#reply-form").count() == 1, f"claim as {account.login}: the page shows the state before it"
    expect(page.locator("#status")).to_contain_text(f"{account.name} さんが 受けています")
    expect(page.locator("#reply-form textarea#reply")).to_be_visible()


def mark_page(page: Page) -> None:
    """Mark the document: the mark survives in-page updates, not a reload or a navigation."""
    page.evaluate("window.__e2eMark = 'still here'")


def still_marked(page: Page) -> bool:
    return bool(page.evaluate("window.__e2eMark === 'still here'"))


# --- 1 and 5: an urgent message reaches a coordinator and the answer reaches the family ---------


def urgent_message_is_answered(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage, reply: str
) -> None:
    queue = coordinator_page(site, ONCALL)
    # The queue page is open and listening before the family writes.
    with queue.expect_response(lambda response: response.url.endswith("/coordinator/stream")):
        queue.reload()
    mark_page(queue)

    chat, case_id = urgent_case(site, phone_context)

    # The queue shows the case and the page for this coordinator, without a reload.
    card = queue.locator(f'article.card[data-case="{case_id}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text("緊急")
    alert = queue.locator(".page-alert").filter(has=queue.locator(f'a[href="/coordinator/cases/{case_id}"]'))
    expect(alert).to_be_visible()
    assert still_marked(queue), "the queue page reloaded instead of updating in place"

    alert.locator("a").click()
    queue.wait_for_url(f"**/coordinator/cases/{case_id}")
    transcript = queue.locator(".transcript")
    expect(transcript.locator(".bubble.in")).to_contain_text(URGENT)
    expect(transcript.locator(".bubble.bot").first).to_contain_text("119")
    # Each bubble starts with its "who・when" line: no blank line above it (the bubble keeps white space).
    starts = transcript.locator(".bubble").evaluate_all("(bubbles) => bubbles.map((b) => b.firstChild.nodeName)")
    assert set(starts) == {"SPAN"}, starts
    summary = queue.locator("dl.summary")
    expect(summary).to_contain_text("地域・町")
    expect(summary).to_contain_text("根室圏域")
    expect(queue.locator("h1 .tag.urgent")).to_have_text("緊急")
    expect(queue.locator("#status")).to_contain_text("受付を 待っています")

    claim(queue, ONCALL)
    expect(chat.locator("#log .bubble").filter(has_text=CLAIMED_NOTICE)).to_have_count(1)

    box = queue.locator("#reply")
    box.fill(reply)
    box.press("Enter")
    expect(queue.locator(".flash")).to_contain_text("返事を 送りました")
    expect(chat.locator("#log .bubble.coordinator")).to_contain_text(reply)
    assert case_messages(site, case_id, Direction.COORDINATOR) == [reply]


def test_urgent_chat_reaches_the_on_call_queue_live_and_the_reply_reaches_the_phone(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    urgent_message_is_answered(site, phone_context, coordinator_page, "戸部です。いま 向かっています。")


def test_after_a_claim_the_bot_is_quiet_and_a_resolve_sends_the_closing_message(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    """Hand-over: the person hears once who reads now, the bot stops asking (what they write reaches the
    coordinator, nothing answers over them), and the resolve sends the closing message the coordinator kept."""
    page = coordinator_page(site, ONCALL)
    chat, case_id = urgent_case(site, phone_context)
    open_case(page, case_id)
    claim(page, ONCALL)
    notice = chat.locator("#log .bubble").filter(has_text=CLAIMED_NOTICE)
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text(ONCALL.name)  # named, as the claim form chose by default
    bot_bubbles = chat.locator("#log .bubble.bot").count()

    send_in_chat(chat, "いま妹は泣いています")
    expect(page.locator(".transcript .bubble.in").filter(has_text="いま妹は泣いています")).to_have_count(1)
    chat.wait_for_timeout(NOTHING_HAPPENS_MS)
    assert chat.locator("#log .bubble.bot").count() == bot_bubbles, "the bot talked over the coordinator"

    closing = page.locator("form[action$='/resolve'] textarea[name=closing]")
    page.locator("summary").filter(has_text="終わりにする").click()
    expect(closing).to_contain_text(ONCALL.name)  # the kind default, ready to edit
    closing.fill("鈴木です。今夜は ここまでに しますね。また いつでも 書いてください。")
    page.locator("select[name=outcome]").select_option("訪問・電話で対応した")  # no default: an explicit choice
    with page.expect_navigation():
        page.locator("form[action$='/resolve'] button").click()
    expect(chat.locator("#log .bubble.coordinator").last).to_contain_text("今夜は ここまでに しますね")

    send_in_chat(chat, "ありがとうございました")  # the person can come back: answered afresh
    expect(chat.locator("#log .bubble.bot").last).to_contain_text("また いつでも")


def test_a_second_emergency_mid_intake_is_acted_on_not_stored_as_the_answer(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    """Written while the bot waits for the town: the numbers come again, the coordinator is paged again
    with the news, the message is not taken as the town, and the intake goes on where it was."""
    chat, case_id = urgent_case(site, phone_context)
    expect(chat.locator("#log .bubble.bot").last).to_contain_text("町")  # the intake asks the town
    pages_before = len(case_pages(site, case_id))
    bot_before = chat.locator("#log .bubble.bot").count()

    send_in_chat(chat, "また父も具合が悪くて倒れそうです")
    expect(chat.locator("#log .bubble.bot").nth(bot_before)).to_contain_text("119")
    expect(chat.locator("#log .bubble.bot").last).to_contain_text("町")  # asked again, not answered by this
    pages = case_pages(site, case_id)
    assert len(pages) > pages_before and pages[-1].get("reason") == "news", pages

    page = coordinator_page(site, ONCALL)
    open_case(page, case_id)
    expect(page.locator(".transcript .bubble.in").filter(has_text="父も具合が悪くて")).to_have_count(1)
    expect(page.locator("dl.summary")).not_to_contain_text("ほかの町")


def case_pages(site: Site, case_id: int) -> list[dict[str, object]]:
    """What the case history says of each time a coordinator was paged about this case."""
    with Session(site.engine) as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "paged")
        return [event.detail for event in session.exec(query.order_by(col(CaseEvent.id))).all()]


CHECK_TEXT = "前は死にたいと思ってた時期もありました"  # a risk cue the context lowers to a check
CHECK_QUESTION = "死にたい 気持ちが ありますか"


def test_a_check_asks_in_the_chat_queues_quietly_and_pages_on_a_yes(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    queue = coordinator_page(site, ONCALL)
    with queue.expect_response(lambda response: response.url.endswith("/coordinator/stream")):
        queue.reload()
    context = phone_context(site)
    chat = open_chat(context)
    send_in_chat(chat, CHECK_TEXT)

    # The question comes at once, with its buttons; nobody is woken, but the case is in the queue.
    expect(chat.locator("#log .bubble.bot").last).to_contain_text(CHECK_QUESTION)
    buttons = chat.locator("#log .choices button")
    expect(buttons).to_have_text(["はい", "いいえ", "わからない"])
    case_id = chat_case(site, context)
    card = queue.locator(f'article.card[data-case="{case_id}"]')
    alert = queue.locator(".page-alert").filter(has=queue.locator(f'a[href="/coordinator/cases/{case_id}"]'))
    expect(card).to_be_visible()
    expect(card).not_to_contain_text("緊急")
    expect(alert).to_have_count(0)

    # A yes pages the coordinator on call, live, and the chat gets the numbers and the waiting notice.
    buttons.filter(has_text="はい").click()
    expect(chat.locator("#log .bubble.bot").filter(has_text="0120-279-338")).to_have_count(1)
    expect(chat.locator("#log .bubble").filter(has_text=WAITING)).to_have_count(1)
    expect(card).to_contain_text("緊急")
    expect(alert).to_be_visible()


def test_the_same_flow_works_on_postgresql(
    postgres_site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    assert postgres_site.engine.dialect.name == "postgresql"
    urgent_message_is_answered(postgres_site, phone_context, coordinator_page, "PostgreSQL から 返事です。")


# --- 2: two coordinators claim the same case at the same moment --------------------------------


def test_two_coordinators_claiming_at_once_only_one_gets_the_case(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    _, case_id = urgent_case(site, phone_context)
    pages = {account: coordinator_page(site, account) for account in (KIMURA, SUZUKI)}
    for page in pages.values():
        open_case(page, case_id)
        expect(page.locator("form[action$='/claim'] button")).to_be_visible()

    # Both pages submit their claim form at the same instant (one clock: the browser's).
    at = int(pages[KIMURA].evaluate("Date.now()")) + 500
    for page in pages.values():
        page.evaluate(
            """(at) => setTimeout(() => document.querySelector("form[action$='/claim']").requestSubmit(),
                                  Math.max(0, at - Date.now()))""",
            at,
        )
    flashes = {}
    for account, page in pages.items():
        page.wait_for_url(f"**/coordinator/cases/{case_id}?m=*")
        expect(page.locator(".flash")).to_be_visible()
        flashes[account] = page.locator(".flash").inner_text()
    assert sorted(flashes.values()) == sorted([FLASH_CLAIMED, FLASH_TAKEN]), flashes
    winner = next(account for account, text in flashes.items() if text == FLASH_CLAIMED)
    loser = KIMURA if winner == SUZUKI else SUZUKI
    expect(pages[loser].locator(".flash")).to_have_class(re.compile(r"\bbad\b"))
    expect(pages[loser].locator("#reply-form")).to_have_count(0)
    expect(pages[winner].locator("#reply-form")).to_have_count(1)

    winner_id = site.coordinator_id(winner)
    with Session(site.engine) as session:
        claims = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == "claimed")).all()
        case = session.get(Case, case_id)
    assert [event.coordinator_id for event in claims] == [winner_id]
    assert case is not None and case.status == "claimed" and case.claimed_by == winner_id
    notices = [text for text in case_messages(site, case_id, Direction.SYSTEM) if CLAIMED_NOTICE in text]
    assert len(notices) == 1, "the family must be told once that a coordinator has the case"


# --- 3: an input method's Enter never sends; Shift+Enter is a new line -------------------------


def compose_and_commit(page: Page, cdp: CDPSession, box: Locator, sent: Callable[[], int]) -> str:
    """Type two lines (Shift+Enter), then kana to convert, Enter while converting, commit: nothing sent.

    Returns the text the box then holds (to be sent by the next plain Enter).
    """
    box.focus()
    page.keyboard.type("一行目")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("二行目")
    expect(box).to_have_value("一行目\n二行目")

    # An input method starts converting かんじ; Enter confirms the conversion, it must not send.
    cdp.send("Input.imeSetComposition", {"text": "かんじ", "selectionStart": 3, "selectionEnd": 3})
    expect(box).to_have_value("一行目\n二行目かんじ")
    page.keyboard.press("Enter")
    page.wait_for_timeout(NOTHING_HAPPENS_MS)
    assert sent() == 0, "Enter during an input-method composition sent the message"
    assert box.input_value().startswith("一行目\n二行目かんじ")

    # The input method commits 漢字 (compositionend). Safari then reports the Enter as keyCode 229.
    cdp.send("Input.insertText", {"text": "漢字"})
    value = box.input_value()
    assert value.startswith("一行目\n二行目漢字") and "かんじ" not in value, value
    for kind in ("rawKeyDown", "keyUp"):
        cdp.send(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 229, "nativeVirtualKeyCode": 229},
        )
    page.wait_for_timeout(NOTHING_HAPPENS_MS)
    assert sent() == 0, "the Enter that ended a composition (keyCode 229) sent the message"
    assert box.input_value() == value
    return value


EXPECTED = "一行目\n二行目漢字"


def test_enter_while_converting_kana_does_not_send_from_the_chat(site: Site, phone_context: PhoneContext) -> None:
    context = phone_context(site)
    chat = open_chat(context)
    box = composer(chat)
    cdp = context.new_cdp_session(chat)
    mine = chat.locator("#log .bubble.me")

    def sent() -> int:
        return mine.count()

    compose_and_commit(chat, cdp, box, sent)
    box.press("Enter")
    expect(mine).to_have_count(1)
    expect(mine).to_have_text(EXPECTED)
    expect(box).to_have_value("")
    assert messages(site, chat_conversation(site, context), Direction.IN) == [EXPECTED]


def test_enter_while_converting_kana_does_not_send_a_coordinator_reply(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    chat, case_id = urgent_case(site, phone_context)
    page = coordinator_page(site, KIMURA)
    open_case(page, case_id)
    claim(page, KIMURA)
    mark_page(page)
    box = page.locator("#reply")
    cdp = page.context.new_cdp_session(page)

    def sent() -> int:
        assert still_marked(page), "the reply form was submitted"
        return len(case_messages(site, case_id, Direction.COORDINATOR))

    compose_and_commit(page, cdp, box, sent)
    box.press("Enter")
    expect(page.locator(".flash")).to_contain_text("返事を 送りました")
    # A form posts a textarea's line breaks as CRLF (HTML's rule), and the server keeps them as they come.
    assert [text.replace("\r\n", "\n") for text in case_messages(site, case_id, Direction.COORDINATOR)] == [EXPECTED]
    expect(page.locator(".transcript .bubble.coordinator")).to_contain_text(EXPECTED)
    expect(chat.locator("#log .bubble.coordinator")).to_contain_text(EXPECTED)


# --- the chat's quick-reply buttons ---------------------------------------------------------------


def test_quick_reply_buttons_stay_while_the_chat_polls_and_send_their_choice(
    site: Site, phone_context: PhoneContext
) -> None:
    context = phone_context(site)
    chat = open_chat(context)
    send_in_chat(chat, "こんにちは")
    buttons = chat.locator("#log .choices button")
    expect(buttons.first).to_be_visible()
    labels = buttons.all_inner_texts()
    assert "いま こまっている" in labels, labels
    # The page polls every 2 s; a poll with nothing new must leave the buttons in place.
    with chat.expect_response(lambda response: "/chat/api/messages?cursor=" in response.url):
        pass
    expect(buttons).to_have_text(labels)

    buttons.filter(has_text="いま こまっている").click()
    expect(chat.locator("#log .bubble.me")).to_have_text(["こんにちは", "いま こまっている"])
    expect(chat.locator("#log .bubble.bot").last).to_contain_text("なにが ありましたか")


# --- 4: phone layout ----------------------------------------------------------------------------


def assert_fits_the_phone(page: Page) -> None:
    scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    # Mobile Chrome zooms out to show content wider than the screen: the layout viewport then grows.
    assert inner_width == 390, f"{page.url} is wider than the phone: zoomed out to {inner_width} px"
    assert scroll_width <= inner_width, f"{page.url} scrolls sideways: {scroll_width} > {inner_width} px"


def assert_big_button(button: Locator) -> None:
    """At least 44 CSS pixels tall (Apple's and WCAG's tap target), with its label on one line."""
    box = button.bounding_box()
    assert box is not None, "the button is not shown"
    assert box["height"] >= 44, f"{button} is {box['height']} px tall"
    lines = button.evaluate(
        """(button) => { const range = document.createRange(); range.selectNodeContents(button);
                         return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size; }"""
    )
    assert lines == 1, f"the label of {button} wraps onto {lines} lines"


def test_phone_screens_do_not_scroll_sideways_and_send_buttons_are_big(
    site: Site, phone_context: PhoneContext, coordinator_page: CoordinatorPage
) -> None:
    chat, case_id = urgent_case(site, phone_context)
    # A long unbroken answer (a pasted address or number) must wrap, not widen the page.
    long_answer = "nakashibetsu-" + "0123456789" * 12
    send_in_chat(chat, long_answer)
    assert_fits_the_phone(chat)
    assert_big_button(chat.locator("form#composer button[type=submit]"))

    page = coordinator_page(site, ONCALL, phone=True)
    expect(page.locator(f'article.card[data-case="{case_id}"]')).to_be_visible()
    assert_fits_the_phone(page)
    assert_big_button(page.locator("form[action='/coordinator/claim-next'] button"))

    open_case(page, case_id)
    expect(page.locator(".transcript")).to_contain_text(long_answer[:20])
    assert_fits_the_phone(page)
    assert_big_button(page.locator("form[action$='/claim'] button"))
    claim(page, ONCALL)
    assert_fits_the_phone(page)
    assert_big_button(page.locator("#reply-form button[type=submit]"))


def test_forgetting_this_device_starts_an_empty_chat_and_the_hub_keeps_the_case(
    site: Site, phone_context: PhoneContext
) -> None:
    context = phone_context(site)
    page = open_chat(context)
    write_urgent(page)
    before = chat_conversation(site, context)
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="この 端末から 消す").click()
    expect(page.locator("#log .bubble")).to_have_count(0)
    page.wait_for_timeout(NOTHING_HAPPENS_MS)  # a poll or two: still nothing of the old chat
    expect(page.locator("#log .bubble")).to_have_count(0)
    with Session(site.engine) as session:
        assert session.get(Conversation, before) is not None
        assert session.exec(select(Case).where(Case.conversation_id == before)).first() is not None
