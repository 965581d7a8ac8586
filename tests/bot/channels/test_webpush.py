"""Web Push end to end: a coordinator links this browser on 「通知の 設定」, an urgent case pages them, and the
fake push service (``tests/fakes/push_service.py``) checks the VAPID signature and decrypts the aes128gcm body
with the subscriber's own private key and auth secret, as the phone's browser would.

The subscription is made as ``push.js`` makes it: with the VAPID public key the page hands the browser.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.channels.webpush import new_private_key, public_key_of
from bot.desk import linking
from bot.runtime.dispatcher import Dispatcher
from storage.models import CaseEvent, Outbox, OutboxStatus, PageLink
from tests.bot.channels.conftest import Platforms, PushService, log_in_as, urgent_case, with_push
from tests.bot.web.conftest import CSRF
from tests.builders import coordinator

KEY = re.compile(r'data-push-key="([A-Za-z0-9_-]+)"')


def _dispatch(platforms: Platforms, rounds: int = 3) -> None:
    dispatcher = Dispatcher(platforms.services.engine, with_push(platforms), platforms.services.desk)
    for _ in range(rounds):
        platforms.client.portal.call(dispatcher.run_once)  # type: ignore[union-attr]


def _subscribe(platforms: Platforms, push: PushService, login: str, server_key: str | None = None) -> dict[str, Any]:
    """Log in, read the page's VAPID key, subscribe at the fake service as a browser would, and link it."""
    csrf = log_in_as(platforms, login)
    page = platforms.client.get("/coordinator/notify")
    found = KEY.search(page.text)
    assert found is not None, "the settings page hands the browser no VAPID key"
    subscription = push.fake.subscribe(push.base_url, server_key or found[1])
    response = platforms.client.post("/coordinator/notify/webpush", json=subscription, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    return subscription


def test_a_page_reaches_the_subscribed_browser_signed_and_encrypted(
    platforms: Platforms, push_service: PushService
) -> None:
    coordinator(platforms.services.engine, "sato", on_call=True)
    subscription = _subscribe(platforms, push_service, "sato")
    assert "Web Push" in platforms.client.get("/coordinator/notify").text
    case_id = urgent_case(platforms)
    _dispatch(platforms)

    shown = push_service.fake.to(subscription)
    assert len(shown) == 1, push_service.fake.refused
    assert shown[0]["title"].startswith(f"【緊急】まどぐち ケース #{case_id}")
    assert "母が倒れて救急車で運ばれました" in shown[0]["body"]  # the person's first words, as on LINE
    assert shown[0]["url"] == f"/coordinator/cases/{case_id}"  # a tap opens the case, with its claim button
    received = push_service.fake.received[0]
    assert received.headers["urgency"] == "high"
    assert received.claims["sub"].startswith(("mailto:", "https:"))


def test_a_push_signed_with_another_key_is_refused_and_the_page_goes_to_the_queue_page(
    platforms: Platforms, push_service: PushService
) -> None:
    person = coordinator(platforms.services.engine, "sato", on_call=True)
    other = public_key_of(new_private_key())  # the browser subscribed with a key this server does not hold
    subscription = _subscribe(platforms, push_service, "sato", server_key=other)
    case_id = urgent_case(platforms)
    _dispatch(platforms)

    assert push_service.fake.to(subscription) == []
    assert push_service.fake.refused and "wrong key" in push_service.fake.refused[0][1]
    with Session(platforms.services.engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "page").order_by(Outbox.id)).all()  # type: ignore[arg-type]
        assert [(row.channel, row.status) for row in rows] == [
            ("webpush", OutboxStatus.PASSED),
            ("web", OutboxStatus.SENT),
        ]
        assert rows[1].address == str(person.id)
        passed = session.exec(select(CaseEvent).where(CaseEvent.kind == "page_passed")).one()
        assert passed.case_id == case_id and passed.detail == {"failed_on": "webpush", "passed_to": "web"}
    assert "data-page-alert" in platforms.client.get("/coordinator/").text


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_says_is_gone_is_unlinked(
    platforms: Platforms, push_service: PushService, status: int
) -> None:
    coordinator(platforms.services.engine, "sato", on_call=True)
    subscription = _subscribe(platforms, push_service, "sato")
    sid = subscription["endpoint"].rsplit("/", 1)[-1]
    if status == 410:
        push_service.fake.gone.add(sid)
    else:
        del push_service.fake.subscribers[sid]
    urgent_case(platforms)
    _dispatch(platforms)

    with Session(platforms.services.engine) as session:
        assert session.exec(select(PageLink)).all() == []
        sent = session.exec(select(Outbox).where(Outbox.kind == "page", Outbox.status == OutboxStatus.SENT)).all()
        assert [row.channel for row in sent] == ["web"]


def test_linking_a_browser_needs_the_sessions_csrf_token(platforms: Platforms, push_service: PushService) -> None:
    coordinator(platforms.services.engine, "sato")
    log_in_as(platforms, "sato")
    subscription = push_service.fake.subscribe(push_service.base_url)
    response = platforms.client.post("/coordinator/notify/webpush", json=subscription, headers={"X-CSRF-Token": "x"})
    assert response.status_code == 403
    with Session(platforms.services.engine) as session:
        assert session.exec(select(PageLink)).all() == []


def test_the_vapid_key_is_made_once_and_kept(platforms: Platforms) -> None:
    services = platforms.services
    first = linking.ensure_vapid(services.engine, services.desk)
    assert linking.ensure_vapid(services.engine, services.desk) == first
    page_key = KEY.search(_settings_page(platforms))
    assert page_key is not None and page_key[1] == public_key_of(first)


def _settings_page(platforms: Platforms) -> str:
    coordinator(platforms.services.engine, "sato")
    log_in_as(platforms, "sato")
    return platforms.client.get("/coordinator/notify").text


def test_a_test_page_from_the_settings_page_reaches_the_browser(
    platforms: Platforms, push_service: PushService
) -> None:
    coordinator(platforms.services.engine, "sato")
    subscription = _subscribe(platforms, push_service, "sato")
    page = platforms.client.get("/coordinator/notify").text
    csrf = CSRF.findall(page)[-1]
    answer = platforms.client.post("/coordinator/notify/test", data={"csrf": csrf})
    assert (
        answer.status_code == 303
        and "試験の 呼び出しを 送りました" in platforms.client.get(answer.headers["location"]).text
    )
    _dispatch(platforms)
    shown = push_service.fake.to(subscription)
    assert [one["title"] for one in shown] == ["【試験】まどぐち 通知の 試験です"]
    assert shown[0]["url"] == "/coordinator/"
