"""How a page reaches a coordinator: self-service linking with a one-time code sent to the bot, the order
LINE → Telegram → Web Push → the queue page, a page passed on when a channel fails, and LINE's monthly limit.

Real SDKs against the fake LINE, Telegram and push services; the code is read off the settings page and
sent through the webhooks, as a coordinator's phone sends it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.desk import linking
from bot.runtime.dispatcher import Dispatcher
from storage import links
from storage.db import session_scope
from storage.models import Case, Conversation, Coordinator, LinkCode, Outbox, OutboxStatus, PageLink, Person
from storage.types import utcnow
from tests.bot.channels.conftest import Platforms, PushService, log_in_as, urgent_case, with_push
from tests.bot.web.conftest import CSRF
from tests.builders import coordinator
from tests.fakes.events import line_body, line_postback, line_text, telegram_message

PHONE_LINE = "U" + "5a" * 16
PHONE_TELEGRAM = 5550001
CODE = re.compile(r"(\d{4}) (\d{4})")
LINKED = "通知の 連絡先に 登録しました"


def _code(platforms: Platforms, csrf: str) -> str:
    """Press 番号を 出す on 「通知の 設定」 and read the code off the page."""
    page = platforms.client.post("/coordinator/notify/code", data={"csrf": csrf})
    assert page.status_code == 200
    found = CODE.search(page.text)
    assert found is not None, "no code on the page"
    return f"{found[1]} {found[2]}"


def _count(platforms: Platforms, table: Any) -> int:
    with Session(platforms.services.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_a_code_sent_on_line_links_that_account_and_never_reaches_the_conversation(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "sato", on_call=True)
    csrf = log_in_as(platforms, "sato")
    code = _code(platforms, csrf)

    assert platforms.post_line(line_body(line_text(code, user=PHONE_LINE))).status_code == 200
    platforms.settle()

    assert any(LINKED in text and "LINE" in text for text in platforms.line.texts()), platforms.line.texts()
    assert _count(platforms, Person) == 0 and _count(platforms, Conversation) == 0 and _count(platforms, Case) == 0
    settings = platforms.client.get("/coordinator/notify").text
    assert 'data-link="line"' in settings

    # The same code again, now from Telegram: used, so answered as unusable, and nothing is linked there.
    platforms.post_telegram(telegram_message(code.replace(" ", ""), chat=PHONE_TELEGRAM))
    platforms.settle()
    assert any("使えません" in text for text in platforms.telegram.texts(PHONE_TELEGRAM))
    assert 'data-link="telegram"' not in platforms.client.get("/coordinator/notify").text
    assert _count(platforms, Person) == 0


def test_a_linked_line_account_gets_the_page_and_claims_from_it(platforms: Platforms) -> None:
    engine = platforms.services.engine
    sato = coordinator(engine, "sato", on_call=True)
    csrf = log_in_as(platforms, "sato")
    platforms.post_line(line_body(line_text(_code(platforms, csrf), user=PHONE_LINE)))
    platforms.settle()
    case_id = urgent_case(platforms)
    platforms.settle()

    pages = [text for text in platforms.line.texts(PHONE_LINE) if f"ケース #{case_id}" in text]
    assert pages, platforms.line.texts()
    platforms.post_line(line_body(line_postback(f"claim:{case_id}", user=PHONE_LINE)))
    platforms.settle()
    with Session(engine) as session:
        assert session.get(Case, case_id).claimed_by == sato.id  # type: ignore[union-attr]


def test_unlinking_on_the_settings_page_stops_pages_there(platforms: Platforms) -> None:
    sato = coordinator(platforms.services.engine, "sato", on_call=True)
    csrf = log_in_as(platforms, "sato")
    platforms.post_telegram(telegram_message(_code(platforms, csrf), chat=PHONE_TELEGRAM))
    platforms.settle()
    assert any(LINKED in text for text in platforms.telegram.texts(PHONE_TELEGRAM))
    with Session(platforms.services.engine) as session:
        link = session.exec(select(PageLink)).one()
    page = platforms.client.get("/coordinator/notify").text
    csrf = CSRF.findall(page)[-1]
    answer = platforms.client.post("/coordinator/notify/unlink", data={"csrf": csrf, "link_id": link.id})
    assert answer.status_code == 303
    assert "解除しました" in platforms.client.get(answer.headers["location"]).text
    with Session(platforms.services.engine) as session:
        assert linking.routes(session, session.get(Coordinator, sato.id)) == [  # type: ignore[arg-type]
            linking.Route("web", str(sato.id), {})
        ]


def test_an_expired_code_is_refused_and_eight_digits_nobody_was_given_are_an_ordinary_message(
    platforms: Platforms,
) -> None:
    sato = coordinator(platforms.services.engine, "sato")
    with session_scope(platforms.services.engine) as session:
        old = linking.new_code(session, session.get(Coordinator, sato.id), utcnow() - dt.timedelta(minutes=11))  # type: ignore[arg-type]
    platforms.post_line(line_body(line_text(old, user=PHONE_LINE)))
    platforms.settle()
    assert any("使えません" in text for text in platforms.line.texts()), platforms.line.texts()
    assert _count(platforms, PageLink) == 0 and _count(platforms, Person) == 0

    stranger = "12345678" if old != "12345678" else "87654321"
    platforms.post_line(line_body(line_text(stranger, user="U" + "77" * 16)))
    platforms.settle()
    assert _count(platforms, Person) == 1 and _count(platforms, PageLink) == 0  # the bot talked to a person


def test_codes_are_kept_only_as_hashes(platforms: Platforms) -> None:
    coordinator(platforms.services.engine, "sato")
    code = _code(platforms, log_in_as(platforms, "sato")).replace(" ", "")
    with Session(platforms.services.engine) as session:
        stored = session.exec(select(LinkCode)).one()
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    assert stored.expires_at - stored.created_at == linking.CODE_LIFE


def _link_all(platforms: Platforms, person: Coordinator, push: PushService) -> dict[str, Any]:
    """LINE, Telegram and this browser, linked (as the codes and the button link them)."""
    subscription = push.fake.subscribe(push.base_url)
    with session_scope(platforms.services.engine) as session:
        person_id = person.id or 0
        links.link(
            session=session,
            coordinator_id=person_id,
            channel="webpush",
            address=subscription["endpoint"],
            at=utcnow(),
            keys=subscription["keys"],
        )
        links.link(
            session=session,
            coordinator_id=person_id,
            channel="telegram",
            address=str(PHONE_TELEGRAM),
            at=utcnow(),
            keys=None,
        )
        links.link(
            session=session, coordinator_id=person_id, channel="line", address=PHONE_LINE, at=utcnow(), keys=None
        )
    return subscription


def test_at_lines_monthly_limit_the_page_goes_out_on_telegram_at_once_and_the_queue_says_so(
    platforms: Platforms, push_service: PushService
) -> None:
    sato = coordinator(platforms.services.engine, "sato", on_call=True)
    _link_all(platforms, sato, push_service)
    platforms.line.monthly_limit = True
    case_id = urgent_case(platforms)
    dispatcher = Dispatcher(platforms.services.engine, with_push(platforms), platforms.services.desk)
    for _ in range(3):
        platforms.client.portal.call(dispatcher.run_once)  # type: ignore[union-attr]

    assert [call.answer for call in platforms.line.script.to("/message/push")] == [429]  # tried once, not retried
    assert any(f"ケース #{case_id}" in text for text in platforms.telegram.texts(PHONE_TELEGRAM))
    with Session(platforms.services.engine) as session:
        line_row = session.exec(select(Outbox).where(Outbox.channel == "line")).one()
        assert line_row.status == OutboxStatus.PASSED and "monthly_limit" in (line_row.last_error or "")
    log_in_as(platforms, "sato")
    queue = platforms.client.get("/coordinator/").text
    assert "data-line-limit" in queue and "上限に 達しました" in queue


def test_a_page_failing_on_telegram_goes_to_the_browser_within_the_fallback_time(
    platforms: Platforms, push_service: PushService
) -> None:
    sato = coordinator(platforms.services.engine, "sato", on_call=True)
    subscription = _link_all(platforms, sato, push_service)
    with session_scope(platforms.services.engine) as session:
        links.unlink(session=session, coordinator_id=sato.id or 0, link_id=_link_id(session, "line"))
    platforms.telegram.script.fail(500, times=1000)  # Telegram is down for the night
    case_id = urgent_case(platforms)
    clock = [utcnow()]
    start = clock[0]
    dispatcher = Dispatcher(platforms.services.engine, with_push(platforms), platforms.services.desk, lambda: clock[0])
    for _ in range(100):
        platforms.client.portal.call(dispatcher.run_once)  # type: ignore[union-attr]
        if push_service.fake.to(subscription):
            break
        with Session(platforms.services.engine) as session:
            due = session.exec(
                select(func.min(Outbox.next_attempt_at)).where(Outbox.status == OutboxStatus.PENDING)
            ).one()
        assert due is not None, "the page was dropped"
        clock[0] = max(clock[0], due)
    shown = push_service.fake.to(subscription)
    assert shown and shown[0]["url"] == f"/coordinator/cases/{case_id}"
    waited = clock[0] - start
    fallback = platforms.services.desk.page_fallback
    assert fallback <= waited <= 3 * fallback, waited  # not the outbox's 36 hours
    with Session(platforms.services.engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(col(Outbox.id))).all()
        assert [(row.channel, row.status) for row in rows] == [
            ("telegram", OutboxStatus.PASSED),
            ("webpush", OutboxStatus.SENT),
        ]


def _link_id(session: Session, channel: str) -> int:
    return int(session.exec(select(PageLink.id).where(PageLink.channel == channel)).one() or 0)
