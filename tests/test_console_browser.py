"""The console and the API docs in a real browser: Playwright for Python driving Debian's chromium.

The test opens the console, makes an API call itself, sees it appear live, follows it to the entity,
and resets; then it tries a call from a docs page with the demo token Swagger UI was given. It skips
when chromium or Playwright is missing, except in CI (CI=true), where both must be there.
"""

from __future__ import annotations

import os
import shutil

import httpx
import pytest

from contracts.serving import serve_in_thread
from mockserver.engine.app import MockConfig, create_app

CHROMIUM = os.environ.get("EPILOT_MOCK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ORG = {"Authorization": "Bearer demo-org-token"}


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must have it: .ci/run installs chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python is not installed (pip install playwright; never `playwright install`)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _missing(f"no chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server():
    with serve_in_thread(create_app(MockConfig(validate_responses=True))) as url:
        yield url


@pytest.mark.network
def test_console_shows_a_call_live_follows_it_to_the_entity_and_resets(browser, server):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{server}/__admin/ui")
    page.wait_for_selector("#live.on", timeout=15_000)  # the feed is connected

    created = httpx.post(f"{server}/v1/entity/contact", headers=ORG,
                         json={"first_name": "Konsole", "last_name": "Live"}).json()
    row = page.locator('#request-table tbody tr[data-operation="createEntity"]')
    row.first.wait_for(timeout=15_000)  # it appears without a reload
    row.first.click()
    detail = page.get_by_test_id("request-detail")
    assert "Konsole" in detail.inner_text() and "Bearer ***" in detail.inner_text()  # body shown, token masked
    page.get_by_test_id("entity-link").filter(has_text=created["_id"]).click()
    page.get_by_test_id("entity-title").filter(has_text="Konsole Live").wait_for(timeout=10_000)
    assert created["_id"] in page.get_by_test_id("entity-json").inner_text()

    page.locator('#tabs button[data-tab="tokens"]').click()
    page.get_by_test_id("tokens").get_by_text("demo-org-token", exact=True).wait_for()
    page.locator('#tabs button[data-tab="deliveries"]').wait_for()  # the epilot plugin offers deliveries

    httpx.post(f"{server}/__admin/overrides", json={
        "id": "checkout-down", "match": {"operation_id": "$checkoutCart"}, "sequence": [{"status": 503}]})
    page.locator('#tabs button[data-tab="overrides"]').click()
    row = page.locator('#override-table tr[data-override="checkout-down"]')
    row.wait_for(timeout=10_000)
    assert "$checkoutCart" in row.inner_text()
    row.get_by_role("button", name="Remove").click()
    page.get_by_text("No overrides").wait_for(timeout=10_000)
    assert httpx.get(f"{server}/__admin/overrides").json()["count"] == 0

    page.get_by_test_id("reset").click()
    page.get_by_text("The world is back at its seed.").wait_for(timeout=10_000)
    assert httpx.get(f"{server}/v1/entity/contact/{created['_id']}", headers=ORG).status_code == 404
    page.locator('#tabs button[data-tab="world"]').click()
    page.get_by_test_id("world-search").fill("Konsole")
    page.get_by_test_id("world-search").press("Enter")
    page.locator("#entity-pager").get_by_text("0\u20130 of 0").wait_for(timeout=10_000)
    assert not errors, errors
    page.close()


@pytest.mark.network
def test_docs_page_tries_a_call_against_the_mock_with_a_demo_token(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/__docs")
    page.get_by_role("link", name="customer-portal").click()
    page.locator("#tokens button.active, #tokens button").first.wait_for(timeout=20_000)
    operation = page.locator("#operations-Contact-getContact, [id$='-getContact']").first
    operation.wait_for(timeout=20_000)
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=20_000)
    assert status.inner_text().strip().startswith("200")  # the demo token went into "Authorize"
    page.close()


@pytest.mark.network
def test_console_behind_an_admin_token_asks_for_it_once(browser):
    token = "console-admin-secret"
    with serve_in_thread(create_app(MockConfig(admin_token=token))) as url:
        assert httpx.get(f"{url}/__admin/requests").status_code == 401
        page = browser.new_page()
        asked: list[str] = []

        def answer(dialog) -> None:  # type: ignore[no-untyped-def]
            asked.append(dialog.message)
            dialog.accept(token)

        page.on("dialog", answer)
        page.goto(f"{url}/__admin/ui")  # the page itself is open; its data is not
        page.wait_for_selector("#live.on", timeout=15_000)  # the live feed took the token too
        httpx.get(f"{url}/v1/entity/schemas", headers=ORG)
        page.locator('#request-table tbody tr[data-operation="listSchemas"]').first.wait_for(timeout=15_000)
        page.locator('#tabs button[data-tab="tokens"]').click()
        page.get_by_test_id("tokens").get_by_text("demo-org-token", exact=True).wait_for()
        assert len(asked) == 1 and "admin token" in asked[0]
        page.close()
