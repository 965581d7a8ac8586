"""Security headers on every page, no-store where personal data is shown, and what is no longer public."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.conversation import Context
from bot.settings import Settings
from bot.web.app import Services, create_app
from tests.bot.web.conftest import log_in
from tests.builders import coordinator

TEMPLATES = Path(__file__).resolve().parents[3] / "bot" / "web" / "templates"


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.mark.parametrize("path", ["/chat/", "/coordinator/login", "/healthz", "/static/app.css", "/nowhere"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_pages_with_personal_data_are_not_stored_but_static_files_may_be(app: FastAPI, client: TestClient) -> None:
    coordinator(_services(app).engine, "tonight")
    log_in(client, "tonight")
    for path in ("/coordinator/", "/api/queue", "/chat/"):
        assert client.get(path).headers["cache-control"] == "no-store", path
    assert client.get("/static/app.css").headers.get("cache-control") != "no-store"


def test_no_template_has_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "style=" not in text and "<style" not in text, template.name
        assert "<script" not in text or all('src="/static/' in tag for tag in text.split("<script")[1:]), template.name


def test_the_openapi_document_and_docs_are_off(client: TestClient) -> None:
    for path in ("/api/openapi.json", "/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 404, path


def test_metrics_are_served_only_to_this_machine_without_a_token(app: FastAPI, client: TestClient) -> None:
    assert client.get("/metrics").status_code == 403  # the test client's address is not loopback
    local = TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 200


def test_metrics_want_the_bearer_token_when_one_is_set(database_url: str, ctx: Context) -> None:
    settings = Settings(**{"MADOGUCHI_DATABASE_URL": database_url, "MADOGUCHI_METRICS_TOKEN": "s3cret-token"})
    app = create_app(settings, ctx=ctx, workers=False)
    local = TestClient(app, base_url="https://testserver", client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 403  # with a token set, even this machine needs it
    assert local.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = local.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and "madoguchi_" in ok.text
