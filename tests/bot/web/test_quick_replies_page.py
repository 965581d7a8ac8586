"""The case page's quick replies over HTTP: only for the one who holds the case, named as the person was told."""

from __future__ import annotations

import datetime as dt
import html
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.desk.inbox import deliver
from bot.web.services import Services
from tests.bot.web.conftest import log_in
from tests.builders import URGENT_TEXT, arrival, coordinator

CHIP = re.compile(r'<button type="button" class="chip" data-text="([^"]*)"[^>]*>([^<]*)</button>')


def _case(app: FastAPI) -> int:
    svc: Services = app.state.services
    handled = deliver(svc.engine, svc.desk, arrival(URGENT_TEXT, at=dt.datetime.now(dt.UTC)))
    assert handled.case_id is not None
    return handled.case_id


def _chips(client: TestClient, case_id: int) -> dict[str, str]:
    page = client.get(f"/coordinator/cases/{case_id}")
    assert page.status_code == 200
    return {html.unescape(label): html.unescape(text) for text, label in CHIP.findall(page.text)}


def test_quick_replies_show_only_to_the_holder_with_the_name_they_gave(app: FastAPI, client: TestClient) -> None:
    svc: Services = app.state.services
    coordinator(svc.engine, "sato", name="佐藤")
    case_id = _case(app)
    csrf = log_in(client, "sato")
    assert _chips(client, case_id) == {}  # nothing to reply with before the claim
    client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf, "shown_as": "name"})
    chips = _chips(client, case_id)
    assert 6 <= len(chips) <= 8
    assert chips["電話して よいか"].startswith("相談員の 佐藤です。")
    assert "0153-73-3178" in chips["センターの 番号"]


def test_a_coordinator_named_by_role_only_gets_the_words_without_a_name(app: FastAPI, client: TestClient) -> None:
    svc: Services = app.state.services
    coordinator(svc.engine, "sato", name="佐藤")
    case_id = _case(app)
    csrf = log_in(client, "sato")
    client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": csrf, "shown_as": "role"})
    chips = _chips(client, case_id)
    assert chips["電話して よいか"].startswith("相談員です。")
    assert not any("佐藤" in text for text in chips.values())
