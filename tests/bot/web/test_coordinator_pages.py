"""The coordinator pages over HTTP: login, sessions, CSRF, regions, and the case actions."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.channels.web import WebSender
from bot.desk import paging
from bot.desk.inbox import deliver
from bot.runtime.dispatcher import Dispatcher
from bot.web.app import Services
from storage.db import session_scope
from storage.models import Case, CaseEvent, Outbox
from tests.bot.web.conftest import CSRF, log_in
from tests.builders import PASSWORD, URGENT_TEXT, arrival, coordinator


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def _urgent_case(app: FastAPI) -> int:
    """An urgent case that arrives now: the queue shows pages of the last 24 hours, whatever today's date."""
    svc = _services(app)
    handled = deliver(svc.engine, svc.desk, arrival(URGENT_TEXT, at=dt.datetime.now(dt.UTC)))
    assert handled.case_id is not None
    return handled.case_id


def _urgent_case_of(app: FastAPI, address: str) -> int:
    """Another person's urgent case, arriving now."""
    svc = _services(app)
    handled = deliver(svc.engine, svc.desk, arrival(URGENT_TEXT, at=dt.datetime.now(dt.UTC), address=address))
    assert handled.case_id is not None
    return handled.case_id


def test_a_wrong_password_does_not_log_in(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight")
    token = CSRF.search(client.get("/coordinator/login").text)
    assert token is not None
    response = client.post("/coordinator/login", data={"csrf": token[1], "login": "tonight", "password": "nope" * 3})
    assert response.headers["location"] == "/coordinator/login?m=login"
    assert "madoguchi_session" not in response.cookies
    assert client.get("/coordinator/").headers["location"] == "/coordinator/login"


def test_the_login_form_needs_its_csrf_token(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight")
    client.get("/coordinator/login")
    response = client.post("/coordinator/login", data={"csrf": "forged", "login": "tonight", "password": "x" * 12})
    assert response.status_code == 403


def test_the_session_cookie_is_secure_httponly_and_samesite(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight")
    token = CSRF.search(client.get("/coordinator/login").text)
    assert token is not None
    response = client.post("/coordinator/login", data={"csrf": token[1], "login": "tonight", "password": PASSWORD})
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "madoguchi_session" in v)
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie


def test_the_queue_shows_the_urgent_case_and_the_page(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    log_in(client, "tonight")
    svc = _services(app)
    asyncio.run(Dispatcher(svc.engine, {"web": WebSender()}, svc.desk).run_once())
    page = client.get("/coordinator/live/queue").text
    assert f'data-case="{case_id}"' in page and "緊急" in page
    assert re.search(rf'class="page-alert".*?/coordinator/cases/{case_id}', page, re.S)


def test_one_page_alert_for_the_newest_unclaimed_page_and_none_once_claimed(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    first, second = _urgent_case(app), _urgent_case_of(app, "other-person")
    csrf = log_in(client, "tonight")
    svc = _services(app)
    while asyncio.run(Dispatcher(svc.engine, {"web": WebSender()}, svc.desk).run_once()):
        pass
    page = client.get("/coordinator/live/queue").text
    assert page.count('class="page-alert"') == 1
    assert re.search(rf'class="page-alert".*?/coordinator/cases/{second}.*?ほかに 未対応の 呼び出しが 1件', page, re.S)
    assert "「" + URGENT_TEXT[:10] in page  # the card's preview of what the person wrote
    for case_id in (second, first):
        client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf})
    assert 'class="page-alert"' not in client.get("/coordinator/live/queue").text


def test_news_for_my_claimed_case_shows_until_i_open_it(app: FastAPI, client: TestClient) -> None:
    svc = _services(app)
    coordinator(svc.engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    csrf = log_in(client, "tonight")
    client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf})
    with session_scope(svc.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        paging.page_claimer(session=session, case=case, at=dt.datetime.now(dt.UTC))
    while asyncio.run(Dispatcher(svc.engine, {"web": WebSender()}, svc.desk).run_once()):
        pass
    assert "あなたの ケースに 新しい 知らせ" in client.get("/coordinator/live/queue").text
    client.get(f"/coordinator/cases/{case_id}")
    assert 'class="page-alert"' not in client.get("/coordinator/live/queue").text


def test_a_resolve_without_an_outcome_is_refused_with_a_clear_message(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    csrf = log_in(client, "tonight")
    page = client.get(f"/coordinator/cases/{case_id}").text
    assert '<select name="outcome" required><option value="" selected>' in page  # nothing chosen for them
    response = client.post(f"/coordinator/cases/{case_id}/resolve", data={"csrf": csrf, "closing": ""})
    assert response.headers["location"] == f"/coordinator/cases/{case_id}?e=no_outcome"
    assert "結果を 選んでください。" in client.get(response.headers["location"]).text
    with Session(_services(app).engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status != "resolved"


def test_the_case_page_gives_the_reasons_in_japanese(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    log_in(client, "tonight")
    page = client.get(f"/coordinator/cases/{case_id}").text
    assert "介護者の 急病・入院（ことば:" in page
    assert not re.search(r"\brule [a-z_]+|\bmodel [a-z_]+ \d", page)


def test_a_form_without_the_session_csrf_token_is_refused(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    log_in(client, "tonight")
    assert client.post(f"/coordinator/cases/{case_id}/claim", data={}).status_code == 403
    assert client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": "forged"}).status_code == 403
    with Session(_services(app).engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.claimed_by is None


def test_claim_then_a_colleague_is_told_it_was_taken(app: FastAPI, client: TestClient) -> None:
    engine = _services(app).engine
    coordinator(engine, "first", on_call=True)
    coordinator(engine, "second")
    case_id = _urgent_case(app)
    csrf = log_in(client, "first")
    response = client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf})
    assert response.headers["location"] == f"/coordinator/cases/{case_id}?m=claimed"
    client.cookies.clear()
    csrf = log_in(client, "second")
    response = client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf})
    assert response.headers["location"] == f"/coordinator/cases/{case_id}?m=taken"
    assert "ほかの 相談員が 先に 受けました" in client.get(response.headers["location"]).text


def test_the_case_page_shows_what_the_bot_learned_and_records_the_view(app: FastAPI, client: TestClient) -> None:
    engine = _services(app).engine
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    log_in(client, "tonight")
    page = client.get(f"/coordinator/cases/{case_id}")
    assert page.status_code == 200
    assert URGENT_TEXT in page.text and "介護者の 急病" in page.text and "緊急と 判断した 理由" in page.text
    with Session(engine) as session:
        views = session.exec(select(CaseEvent).where(CaseEvent.kind == "viewed")).all()
        assert [view.case_id for view in views] == [case_id]


def test_a_coordinator_sees_only_their_regions(app: FastAPI, client: TestClient) -> None:
    engine = _services(app).engine
    coordinator(engine, "shiroi-staff", regions=("shiroi",))
    case_id = _urgent_case(app)
    csrf = log_in(client, "shiroi-staff")
    assert f'data-case="{case_id}"' not in client.get("/coordinator/live/queue").text
    assert client.get(f"/coordinator/cases/{case_id}").status_code == 404
    assert client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf}).status_code == 404
    assert client.get("/api/queue").json() == []


def test_reply_reaches_the_outbox_and_errors_come_back_as_a_message(app: FastAPI, client: TestClient) -> None:
    engine = _services(app).engine
    coordinator(engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    csrf = log_in(client, "tonight")
    early = client.post(f"/coordinator/cases/{case_id}/reply", data={"csrf": csrf, "text": "まだ 受けていない"})
    assert "?e=" in early.headers["location"]
    client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf})
    sent = client.post(f"/coordinator/cases/{case_id}/reply", data={"csrf": csrf, "text": "いま 向かっています"})
    assert sent.headers["location"].endswith("?m=sent")
    with Session(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "reply")).all()
        texts = [row.payload["messages"][0]["text"] for row in rows]
    assert texts == ["いま 向かっています"]


def test_logging_out_ends_the_session(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight")
    csrf = log_in(client, "tonight")
    cookie = client.cookies.get("madoguchi_session")
    assert client.post("/coordinator/logout", data={"csrf": csrf}).status_code == 303
    client.cookies.set("madoguchi_session", cookie or "", domain="testserver")
    assert client.get("/coordinator/").headers["location"] == "/coordinator/login"


def test_households_are_saved_and_shown_on_their_cases(app: FastAPI, client: TestClient) -> None:
    engine = _services(app).engine
    coordinator(engine, "tonight", on_call=True)
    csrf = log_in(client, "tonight")
    saved = client.post(
        "/coordinator/households",
        data={
            "csrf": csrf,
            "region": "nemuro",
            "label": "中標津 A さん宅",
            "town": "中標津町",
            "flags": ["独居", "医療的ケア"],
            "assessment": "本人は 在宅酸素。母が 主な 介護者。",
        },
    )
    assert saved.status_code == 303
    form = client.get(saved.headers["location"]).text
    code = re.search(r"/chat/\?h=([\w-]+)", form)
    assert code is not None
    svc = _services(app)
    handled = deliver(svc.engine, svc.desk, arrival(URGENT_TEXT, household=code[1]))
    page = client.get(f"/coordinator/cases/{handled.case_id}").text
    assert "登録世帯: 中標津 A さん宅" in page and "在宅酸素" in page


def test_health_and_metrics(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    assert client.get("/healthz").json()["status"] == "ok"
    _urgent_case(app)
    metrics = TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000)).get("/metrics").text
    assert 'madoguchi_queue_depth{urgency="urgent"} 1.0' in metrics
    assert 'madoguchi_messages_in_total{channel="web"} 1.0' in metrics
    assert 'madoguchi_pages_total{level="0"} 1.0' in metrics
    assert "母が" not in metrics
