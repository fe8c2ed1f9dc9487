"""The sign-in page goes back where the person came from (``/login?next=...``) only when that is a
page of this site. It checked the first two characters (a ``/``, then not a second ``/``), but a
browser reads ``/\\evil.example`` and ``/<tab>/evil.example`` as ``//evil.example``: a link to the
real sign-in page sent a reviewer, once signed in, to any site (a look-alike asking for the
password again). The page is rendered by the real router in a real browser; the API is scripted.
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://signin-page.test"
FOREIGN = "http://evil.example"


def _sign_in(browser, next_value: str) -> str:  # noqa: ANN001
    """Open ``/login?next=<next_value>``, sign in, and return the address the page went to."""
    signed_in = {"yes": False}

    def answer(route) -> bool:
        path = urlsplit(route.request.url).path
        if path == "/api/auth/login":
            signed_in["yes"] = True
            harness.fulfil_json(route, {"username": "rita", "role": "reviewer"})
        elif path == "/api/me":
            if signed_in["yes"]:
                harness.fulfil_json(route, {"username": "rita", "role": "reviewer", "kind": "user"})
            else:
                harness.fulfil_json(route, {"detail": "login required", "code": "login_required"}, 401)
        else:
            return False
        return True

    context = browser.new_context()
    page = context.new_page()
    try:
        harness.serve_pages(page, BASE, "en-US", answer, undo_window_s=30)
        page.route(f"{FOREIGN}/**", lambda route: route.fulfill(status=200, content_type="text/html", body="elsewhere"))
        page.goto(f"{BASE}/login?next={quote(next_value, safe='')}")
        went: list[str] = []  # the first address after the sign-in page (the start page may move on)
        page.on("framenavigated", lambda frame: went.append(frame.url) if frame == page.main_frame else None)
        page.fill("#username", "rita")
        page.fill("#password", "review-desk-481")
        page.click("#login-submit")
        deadline = time.monotonic() + 10
        while not [u for u in went if "/login" not in u]:
            assert time.monotonic() < deadline, f"sign-in went nowhere: {went}"
            page.wait_for_timeout(50)
        return next(u for u in went if "/login" not in u)
    finally:
        context.close()


@pytest.mark.parametrize("next_value", ["/\\evil.example/review", "/\t/evil.example/review", "/\\/evil.example/"])
def test_a_next_that_a_browser_reads_as_another_site_is_not_followed(browser, next_value: str) -> None:
    went = urlsplit(_sign_in(browser, next_value))
    assert f"{went.scheme}://{went.netloc}" == BASE, went.geturl()
    assert went.path == "/review"  # the reviewer's start page instead


def test_a_page_of_this_site_is_still_where_sign_in_goes_back_to(browser) -> None:
    assert _sign_in(browser, "/review?case=J3-cam-1") == f"{BASE}/review?case=J3-cam-1"
