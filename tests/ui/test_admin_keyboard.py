"""The admin page with a screen reader, in both languages.

The rows that add a person or a token have no visible labels (a placeholder each): the role
lists had no name at all ("combo box, Reviewer": the role of what?), and a refusal (a name
already taken) appeared in a paragraph no screen reader announced, so the admin heard nothing
after pressing Add. The tabs said none of them was the open one (no aria-selected). The page is rendered by the
real router against a scripted API."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

import harness

pytestmark = pytest.mark.browser

BASE = "http://admin-keyboard.test"


@pytest.fixture(params=["en-US", "zh-CN"])
def admin(browser, request):
    def answer(route) -> bool:  # noqa: ANN001
        path, method = urlsplit(route.request.url).path, route.request.method
        if path == "/api/me":
            harness.fulfil_json(route, {"username": "admin", "role": "admin", "kind": "user"})
        elif path == "/api/users" and method == "POST":
            harness.fulfil_json(route, {"detail": "user exists", "code": "user_exists"}, status=409)
        elif path in ("/api/users", "/api/tokens"):
            harness.fulfil_json(route, [])
        else:
            return False
        return True

    context = browser.new_context(locale=request.param)
    page = context.new_page()
    harness.serve_pages(page, BASE, request.param, answer, undo_window_s=30, max_upload_bytes=0)
    page.goto(f"{BASE}/admin")
    harness.wait_js(page, "!!CW.me", timeout=10_000)
    yield page
    context.close()


def test_add_rows_fields_are_named(admin) -> None:
    named = {
        "new-user": "admin.user.name",
        "new-user-role": "admin.user.role",
        "new-user-password": "login.password",
        "new-token-name": "admin.token.name",
        "new-token-role": "admin.token.role",
        "new-token-screen": "admin.token.screen",
    }
    for field, key in named.items():
        if field == "new-token-name":  # the tokens' row is on its own tab
            admin.locator(".tab[data-tab=tokens]").click()
        expect(admin.locator(f"#{field}")).to_have_accessible_name(admin.evaluate("(k) => CW.t(k)", key))


def test_a_refused_new_user_is_announced(admin) -> None:
    admin.locator("#new-user").fill("desk1")
    admin.locator("#new-user-password").fill("review-desk-481")
    admin.locator("#new-user-password").press("Enter")
    # the form's own error (the page's toast region is an alert as well, and may say it too)
    alert = admin.locator("#tab-users").get_by_role("alert")
    alert.wait_for(timeout=5_000)
    assert alert.inner_text().strip()


def test_the_open_tab_is_the_selected_one(admin) -> None:
    audit = admin.evaluate("CW.t('admin.audit')")
    admin.get_by_role("tab", name=audit).click()
    expect(admin.get_by_role("tab", selected=True)).to_have_accessible_name(audit)
    expect(admin.get_by_role("tabpanel")).to_have_id("tab-audit")


@pytest.mark.parametrize("width", [640, 390])
def test_add_rows_fit_at_200_percent_zoom(admin, width) -> None:
    """A 1280 px desktop at 200 % zoom is 640 px wide; a phone 390. The add-a-person row ran past
    its card there (the Add button cut off, the card scrolling sideways); now it wraps."""
    admin.set_viewport_size({"width": width, "height": 800})
    for tab, form in (("users", "user-form"), ("tokens", "token-form")):
        admin.locator(f".tab[data-tab={tab}]").click()
        fits = admin.evaluate(
            """(form) => {
                const card = document.getElementById(form).closest('.card').getBoundingClientRect();
                return Array.from(document.getElementById(form).children).every(e => {
                    const r = e.getBoundingClientRect();
                    return r.width > 0 && r.left >= card.left && r.right <= card.right;
                });
            }""",
            form,
        )
        assert fits, f"{form} runs out of its card at {width} px"
