"""Taking a colleague's claimed case needs a reason, kept in its history; no free text from the URL on a page."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.desk.labels import PROBLEMS
from storage.models import Case, CaseEvent, row_id
from tests.bot.web.conftest import log_in
from tests.bot.web.test_coordinator_pages import _services, _urgent_case
from tests.builders import coordinator


def _claimed_by_first(app: FastAPI, client: TestClient) -> tuple[int, int]:
    """A case claimed by ``first``; ``second`` is then logged in. Returns (case id, second's id)."""
    engine = _services(app).engine
    coordinator(engine, "first", on_call=True)
    second = coordinator(engine, "second")
    case_id = _urgent_case(app)
    client.post(f"/coordinator/cases/{case_id}/claim", data={"csrf": log_in(client, "first")})
    client.cookies.clear()
    return case_id, row_id(second)


def test_taking_a_colleagues_case_without_a_reason_is_refused(app: FastAPI, client: TestClient) -> None:
    case_id, second = _claimed_by_first(app, client)
    csrf = log_in(client, "second")
    refused = client.post(f"/coordinator/cases/{case_id}/reassign", data={"csrf": csrf, "to": second})
    assert refused.headers["location"] == f"/coordinator/cases/{case_id}?e=reason_needed"
    assert PROBLEMS["reason_needed"] in client.get(refused.headers["location"]).text
    with Session(_services(app).engine) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.claimed_by != second


def test_the_reason_is_kept_in_the_case_history(app: FastAPI, client: TestClient) -> None:
    case_id, second = _claimed_by_first(app, client)
    csrf = log_in(client, "second")
    data = {"csrf": csrf, "to": second, "reason": "佐藤さんが 急に 休みに なったため"}
    done = client.post(f"/coordinator/cases/{case_id}/reassign", data=data)
    assert done.headers["location"].endswith("?m=reassigned")
    with Session(_services(app).engine) as session:
        event = session.exec(select(CaseEvent).where(CaseEvent.kind == "reassigned")).one()
    assert event.detail["reason"] == data["reason"] and event.detail["to"] == second
    assert data["reason"] in client.get(f"/coordinator/cases/{case_id}").text


def test_the_case_page_shows_no_text_from_the_url(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight", on_call=True)
    case_id = _urgent_case(app)
    log_in(client, "tonight")
    planted = "至急 この 番号に 電話して ください 0120-000-000"
    page = client.get(f"/coordinator/cases/{case_id}", params={"e": planted}).text
    assert planted not in page and "0120-000-000" not in page
    known = client.get(f"/coordinator/cases/{case_id}", params={"e": "claim_first"}).text
    assert PROBLEMS["claim_first"] in known
