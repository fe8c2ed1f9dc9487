"""The review page used with the keyboard alone and a screen reader, in both languages.

A reviewer who decides hundreds of cases a day keeps the hands on the keys: R opens the reject
dialog, and Tab to Cancel and Enter must cancel (it rejected the case instead, since Enter
anywhere in the dialog was taken as "confirm"). A screen reader names each control: the two
stills' buttons were both "Click to view full size" (which one?) and every case's checkbox in
the queue "Select for export" (which case?). The page is rendered by the real router; the API
answers are scripted in the cases API's shape."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

import harness

pytestmark = pytest.mark.browser

BASE = "http://review-keyboard.test"


def _case(n: int) -> dict:
    return {
        "id": f"J1-cam1-wrong_way-{n:08d}-1",
        "rule": "wrong_way",
        "state": "pending",
        "camera_id": "cam1",
        "start_time": "2026-12-05T01:30:12+00:00",
        "created_at": f"2026-12-05T01:30:{n:02d}+00:00",
        "integrity": {"ok": True},
        "evidence": {},
        "history": [],
    }


@pytest.fixture(params=["en-US", "zh-CN"])
def review(browser, request):
    """The review page with three pending cases; ``page.decisions`` lists the decisions sent."""
    yield from _review_page(browser, request.param, [_case(n) for n in (1, 2, 3)])


def _review_page(browser, locale: str, cases: list[dict]):  # noqa: ANN001
    decisions: list[str] = []
    listed: list[dict] = []  # the query of each GET /api/cases

    def answer(route) -> bool:  # noqa: ANN001
        path, method = urlsplit(route.request.url).path, route.request.method
        if path == "/api/me":
            harness.fulfil_json(route, {"username": "desk1", "role": "reviewer", "kind": "user"})
        elif path == "/api/cameras":
            harness.fulfil_json(route, [])
        elif path == "/api/cases" and method == "GET":
            q = parse_qs(urlsplit(route.request.url).query)
            listed.append(q)
            start, limit = int(q.get("offset", ["0"])[0]), int(q.get("limit", ["50"])[0])
            matching = cases
            if "plate" in q:  # a part of the plate in force, both sides without separators, as the API
                def key(text: str) -> str:
                    return "".join(ch for ch in text.upper() if ch.isalnum())

                matching = [c for c in cases if key(q["plate"][0]) in key((c.get("plate") or {}).get("text") or "")]
            if "after" in q:  # the page after that case, as GET /api/cases pages with after=
                start += 1 + next(i for i, c in enumerate(matching) if c["id"] == q["after"][0])
            harness.fulfil_json(route, {"cases": matching[start : start + limit], "total": len(matching)})
        elif method == "GET" and path.count("/") == 3 and path.startswith("/api/cases/"):
            harness.fulfil_json(route, next(c for c in cases if c["id"] == path.rsplit("/", 1)[1]))
        elif method == "POST" and path.startswith("/api/cases/"):
            decisions.append(path)
            decided = next(c for c in cases if c["id"] == path.split("/")[3])
            decided["state"] = "rejected" if path.endswith("/reject") else "approved"
            harness.fulfil_json(route, decided)
        else:
            return False
        return True

    context = browser.new_context(locale=locale)
    page = context.new_page()
    harness.serve_pages(page, BASE, locale, answer, undo_window_s=30)
    page.goto(f"{BASE}/review")
    harness.wait_js(page, "!!(CW.review && CW.review.current())", timeout=10_000)
    page.decisions, page.listed = decisions, listed
    yield page
    context.close()


def test_enter_on_cancel_in_the_reject_dialog_cancels(review) -> None:
    review.locator("#btn-reject").focus()
    review.keyboard.press("Enter")
    harness.wait_js(review, "CW.$('reject-dialog').open", timeout=5_000)
    review.keyboard.press("Tab")  # reason -> note
    review.keyboard.press("Tab")  # note -> Cancel
    assert review.evaluate("document.activeElement.id") == "reject-cancel"
    review.keyboard.press("Enter")
    harness.wait_js(review, "!CW.$('reject-dialog').open", timeout=5_000)
    review.wait_for_timeout(300)  # a decision would be on its way by now
    assert review.decisions == []
    assert review.evaluate("CW.$('case').getAttribute('data-case')") == _case(1)["id"]
    # focus goes back to the button that opened the dialog, not to the page's body
    assert review.evaluate("document.activeElement.id") == "btn-reject"
    # Enter from the reason list still confirms (the shortcut the dialog's hint promises)
    review.keyboard.press("r")
    harness.wait_js(review, "CW.$('reject-dialog').open", timeout=5_000)
    review.keyboard.press("Enter")
    harness.wait_js(review, "CW.review.queue().length === 2", timeout=5_000)
    assert review.decisions == [f"/api/cases/{_case(1)['id']}/reject"]


def test_stills_buttons_say_which_still_they_open(review) -> None:
    snapshot, crop = review.evaluate("[CW.t('review.snapshot'), CW.t('review.crop')]")
    assert review.get_by_role("button", name=snapshot, exact=True).count() == 1
    assert review.get_by_role("button", name=crop, exact=True).count() == 1


def test_each_queue_checkbox_names_its_case(review) -> None:
    names = review.evaluate(
        "Array.from(document.querySelectorAll('#queue-list input.pick')).map(b => b.getAttribute('aria-label'))"
    )
    assert len(names) == 3 and len(set(names)) == 3
    for n, name in zip((1, 2, 3), names):
        assert _case(n)["id"] in name
        assert review.get_by_role("checkbox", name=name, exact=True).count() == 1


def test_language_links_are_marked_with_their_language(review) -> None:
    """Each choice is named in its own language; marked so, a screen reader reads it in that voice."""
    links = review.evaluate(
        "Array.from(document.querySelectorAll('.langswitch a')).map(a => [a.dataset.lang, a.lang, a.textContent])"
    )
    assert {code for code, _, _ in links} == {"en", "zh-CN"}
    for code, lang, _ in links:
        assert lang == code
    assert review.evaluate("document.documentElement.lang") == review.evaluate("CW.lang")


def test_every_dialog_is_named_by_its_heading(review) -> None:
    """A screen reader names a dialog as it opens; the withdraw dialog's was empty."""
    for dialog in ("reject-dialog", "reopen-dialog", "withdraw-dialog"):
        review.evaluate("(id) => CW.$(id).showModal()", dialog)
        heading = review.locator(f"#{dialog} h2").inner_text()
        expect(review.get_by_role("dialog")).to_have_accessible_name(heading)
        review.keyboard.press("Escape")
        harness.wait_js(review, f"!CW.$('{dialog}').open", timeout=5_000)


def test_focus_stays_in_the_case_after_a_decision(review) -> None:
    """Approving with the keyboard on the Approve button: it stays there for the next case, and the
    last decision of the queue leaves focus on the message that says the queue is done, not on the
    page's body (where a screen reader starts again from the top)."""
    for n in (1, 2, 3):
        harness.wait_js(review, f"CW.$('case').getAttribute('data-case') === '{_case(n)['id']}'", timeout=5_000)
        review.locator("#btn-approve").focus()
        review.keyboard.press("Enter")
        harness.wait_js(review, f"CW.review.queue().length === {3 - n}", timeout=5_000)
        if n < 3:
            harness.wait_js(review, f"CW.$('case').getAttribute('data-case') === '{_case(n + 1)['id']}'", timeout=5_000)
            assert review.evaluate("document.activeElement.id") == "btn-approve"
    harness.wait_js(review, "CW.$('case').hidden", timeout=5_000)
    assert review.evaluate("document.activeElement.id") == "case-empty"


def test_focus_moves_to_the_next_step_when_the_decided_case_stays(review) -> None:
    """With every state listed, the approved case stays on show and its Approve button goes: focus
    moves to what comes next for it (Publish), not to the page's body."""
    review.evaluate("CW.review.queue()[0].stale = true")  # the list loaded for the old filter
    review.locator("#f-state").select_option("")
    harness.wait_js(review, "!CW.review.queue()[0].stale && !!CW.review.current()", timeout=5_000)
    review.keyboard.press("Escape")
    review.evaluate("document.activeElement.blur()")
    review.keyboard.press("j")
    review.keyboard.press("j")
    harness.wait_js(review, f"CW.$('case').getAttribute('data-case') === '{_case(3)['id']}'", timeout=5_000)
    review.locator("#btn-approve").focus()
    review.keyboard.press("Enter")
    harness.wait_js(review, "CW.$('case').getAttribute('data-state') === 'approved'", timeout=5_000)
    assert review.evaluate("document.activeElement.id") == "btn-publish"


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_keyboard_focus_stays_in_the_queue_as_it_grows(browser, locale) -> None:
    """Tabbing down the queue's checkboxes onto "more" (which loads the next page as it comes into
    view) dropped the focus to the page's body as the list was rebuilt; now the first case loaded
    has it, and a ticked case's checkbox keeps it through a rebuild."""
    page = next(gen := _review_page(browser, locale, [_case(n) for n in range(1, 54)]))
    try:
        assert page.evaluate("CW.review.queue().length") == 50
        page.locator("#queue-list li.queue-item").last.locator("input.pick").focus()
        page.keyboard.press("Space")
        page.keyboard.press("Tab")  # onto "more"
        harness.wait_js(page, "CW.review.queue().length === 53", timeout=5_000)
        assert page.evaluate("document.activeElement.closest('.queue-item').dataset.case") == _case(51)["id"]
        page.keyboard.press("Space")
        page.evaluate("CW.review.clearSelection()")  # a rebuild of the list with the focus on a checkbox
        assert page.evaluate("document.activeElement.closest('.queue-item').dataset.case") == _case(51)["id"]
    finally:
        gen.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_plate_search_from_the_keyboard(browser, locale) -> None:
    """A reviewer with a complaint ("my car 京A00001 was flagged") presses / and types part of the
    plate: the queue follows (Enter at once), a single character asks nothing and says why, no
    match says so, and the queue's later requests keep asking with the plate."""
    plates = {1: "京A00001", 2: "京A00002", 3: "沪B00003"}
    cases = [_case(n) | {"plate": {"read": None, "correction": None, "text": plates[n], "format_ok": True}}
             for n in (1, 2, 3)]
    page = next(gen := _review_page(browser, locale, cases))
    try:
        page.locator("#c-title").focus()
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "f-plate"
        label = page.evaluate("CW.t('review.filter.plate')")
        assert page.get_by_role("searchbox", name=label, exact=True).count() == 1  # its label (the / hint hidden)
        asked = len(page.listed)
        page.keyboard.type("a")  # one character: the queue stays, the field says why
        page.wait_for_timeout(500)
        assert page.evaluate("CW.$('f-plate').getAttribute('aria-invalid')") == "true"
        assert len(page.listed) == asked and page.evaluate("CW.review.queue().length") == 3
        page.keyboard.type("·0")
        page.keyboard.press("Enter")
        harness.wait_js(page, "CW.review.queue().length === 2", timeout=5_000)
        assert page.listed[-1]["plate"] == ["a·0"] and page.listed[-1]["state"] == ["pending"]
        assert page.evaluate("CW.$('f-plate').getAttribute('aria-invalid')") == "false"
        page.evaluate("CW.review.poll(false)")  # later requests ask with the plate too (awaited)
        assert all(q.get("plate") == ["a·0"] for q in page.listed[asked + 1:])
        page.fill("#f-plate", "粤Z")  # typed: followed after a pause
        harness.wait_js(page, "CW.review.queue().length === 0", timeout=5_000)
        empty = page.locator("#queue-list li.empty").text_content()
        assert empty == page.evaluate("CW.t('review.plate_none.filtered')")  # the state filter is on
        page.select_option("#f-state", "")
        harness.wait_js(page, "document.querySelector('#queue-list li.empty').textContent === "
                              "CW.t('review.plate_none')", timeout=5_000)
        page.locator("#f-plate").press("Escape")  # a search field's Esc clears it: the whole queue again
        harness.wait_js(page, "CW.review.queue().length === 3", timeout=5_000)
        assert "plate" not in page.listed[-1]
    finally:
        gen.close()
