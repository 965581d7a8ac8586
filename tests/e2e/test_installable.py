"""The coordinator pages as a small installable app, in Chromium: the manifest is served and valid (as
Chromium itself reads it), the service worker registers on the coordinator's page with the scope of every
coordinator page, and a push message handed to it shows the page text and leads to the case.

A real push subscription cannot be made here: ``PushManager.subscribe`` in Chromium asks Google's push
service (FCM) for an endpoint, and this machine reaches no such server. The subscription, its encryption
and the VAPID signature are tested against a local push service instead
(``tests/bot/channels/test_webpush.py``); here the DevTools protocol delivers a push message straight to
the registered worker (``ServiceWorker.deliverPushMessage``), as the push service would.
"""

from __future__ import annotations

import json
import re
import struct

from playwright.sync_api import Page

from tests.e2e.conftest import ONCALL, CoordinatorPage, Site, shoot

PNG = b"\x89PNG\r\n\x1a\n"
#: The notification the worker shows now, as the page's own script reads it (null while there is none).
SHOWN = """async () => {
    const registration = await navigator.serviceWorker.ready;
    const shown = await registration.getNotifications();
    return shown.length ? {title: shown[0].title, body: shown[0].body, url: shown[0].data.url} : null;
}"""


def _worker_scope(page: Page) -> str:
    return str(page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)"))


def test_the_manifest_is_served_and_valid_and_its_icons_exist(site: Site, coordinator_page: CoordinatorPage) -> None:
    page = coordinator_page(site, ONCALL, phone=True)
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/coordinator/manifest.webmanifest")
    assert manifest["errors"] == [], manifest["errors"]
    data = json.loads(manifest["data"])
    assert data["display"] == "standalone" and data["start_url"] == "/coordinator/" and data["lang"] == "ja"
    for icon in data["icons"]:
        answer = page.request.get(icon["src"])
        assert answer.ok and answer.body().startswith(PNG)
        width, height = struct.unpack(">II", answer.body()[16:24])  # the IHDR chunk
        assert f"{width}x{height}" == icon["sizes"]
    assert {icon["sizes"] for icon in data["icons"]} >= {"192x192", "512x512"}  # what Chromium asks to install


def test_the_service_worker_registers_and_a_push_shows_the_page_with_the_way_to_its_case(
    site: Site, coordinator_page: CoordinatorPage
) -> None:
    page = coordinator_page(site, ONCALL, phone=True)
    page.context.grant_permissions(["notifications"], origin=site.base_url)
    assert _worker_scope(page) == f"{site.base_url}/coordinator/"

    cdp = page.context.new_cdp_session(page)
    registrations: list[dict[str, object]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    ours: list[dict[str, object]] = []
    for _ in range(50):  # the enable call reports the registrations as events: look for ours, at most 5 s
        ours = [r for r in registrations if str(r.get("scopeURL")) == f"{site.base_url}/coordinator/"]
        if ours:
            break
        page.wait_for_timeout(100)
    assert ours, registrations
    pushed = {
        "title": "【緊急】まどぐち ケース #7（当番）",
        "body": "町: 中標津町",
        "url": "/coordinator/cases/7",
        "tag": "case-7",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": site.base_url, "registrationId": ours[0]["registrationId"], "data": json.dumps(pushed)},
    )
    shown = None
    for _ in range(50):  # the worker shows it asynchronously: look every 0.1 s, for at most 5 s
        shown = page.evaluate(SHOWN)
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown == {"title": pushed["title"], "body": pushed["body"], "url": "/coordinator/cases/7"}


def test_the_settings_page_offers_the_push_button_with_the_servers_key(
    site: Site, coordinator_page: CoordinatorPage
) -> None:
    page = coordinator_page(site, ONCALL, phone=True)
    page.get_by_role("link", name="通知の 設定").click()
    page.wait_for_url("**/coordinator/notify")
    key = page.locator("[data-push-key]").get_attribute("data-push-key") or ""
    assert len(key) == 87  # base64url of a 65-byte uncompressed P-256 point
    assert page.evaluate("'PushManager' in window")
    page.get_by_role("button", name="番号を 出す").click()
    code = page.locator("[data-code]")
    assert re.search(r"\d{4} \d{4} を LINE か Telegram で", code.inner_text())
    shoot(page, "notify")
