"""Two reviewers on one case, as the review page sees it, in both languages.

Rita has a pending case open while a colleague rejects it (or corrects its plate). The page sent
its approval without saying which version of the case it was looking at, so the service could
not tell a decision made on what the reviewer saw from one made on a case changed under her; and
when a decision was refused (409), the page said only that the state did not allow it and went on
showing the case as pending. Now every decision carries the version on show; a refusal for a
changed case says so in the page's language and the case is shown as it is now (a queue of
pending cases drops it). The page is rendered by the real router; the API answers are scripted.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

import harness
from service.web import i18n

pytestmark = pytest.mark.browser

BASE = "http://review-conflict.test"


def _case(n: int) -> dict:
    return {"id": f"J1-cam1-wrong_way-{n:08d}-1", "rule": "wrong_way", "state": "pending", "camera_id": "cam1",
            "start_time": "2026-12-05T01:30:12+00:00", "created_at": f"2026-12-05T01:30:{n:02d}+00:00",
            "integrity": {"ok": True}, "evidence": {}, "history": [], "version": f"17000000000000{n:02d}"}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_decision_on_a_case_changed_meanwhile_says_so_and_shows_the_case_as_it_is(browser, locale) -> None:
    cases = [_case(1), _case(2)]
    sent: list[dict] = []

    def answer(route) -> bool:  # noqa: ANN001
        path, method = urlsplit(route.request.url).path, route.request.method
        if path == "/api/me":
            harness.fulfil_json(route, {"username": "rita", "role": "reviewer", "kind": "user"})
        elif path == "/api/cameras":
            harness.fulfil_json(route, [])
        elif path == "/api/cases" and method == "GET":
            pending = [c for c in cases if c["state"] == "pending"]
            harness.fulfil_json(route, {"cases": pending, "total": len(pending)})
        elif method == "GET" and path.startswith("/api/cases/") and path.count("/") == 3:
            harness.fulfil_json(route, next(c for c in cases if c["id"] == path.rsplit("/", 1)[1]))
        elif method == "POST" and path.endswith("/approve"):
            sent.append(json.loads(route.request.post_data or "{}"))
            case = next(c for c in cases if c["id"] == path.split("/")[3])
            # a colleague rejected it after this page loaded it: the service's answer to a stale version
            case.update(state="rejected", reviewer="rosa", version="1700000000009999")
            harness.fulfil_json(route, {"detail": "the case changed since you opened it (now rejected, by rosa); "
                                                  "reload it and decide again", "code": "case_changed",
                                        "state": "rejected", "reviewer": "rosa", "version": case["version"]},
                                status=409)
        else:
            return False
        return True

    context = browser.new_context(locale=locale)
    page = context.new_page()
    harness.serve_pages(page, BASE, locale, answer, undo_window_s=30)
    page.goto(f"{BASE}/review")
    harness.wait_js(page, "!!(CW.review && CW.review.current())", timeout=10_000)
    assert page.evaluate("CW.review.current().version") == cases[0]["version"]
    page.locator("#btn-approve").click()
    harness.wait_js(page, "CW.review.queue().length === 1", timeout=5_000)
    # the version the page showed went with the decision
    assert sent == [{"version": _case(1)["version"]}]
    # said in the page's language, not "the state does not allow this"
    lang = "zh-CN" if locale == "zh-CN" else "en"
    assert page.locator("#toast").text_content() == i18n.catalogue(lang)["error.case_changed"]
    # the pending queue no longer holds it; the case on show is the next one, as the server has it
    harness.wait_js(page, f"CW.$('case').getAttribute('data-case') === '{_case(2)['id']}'", timeout=5_000)
    context.close()
