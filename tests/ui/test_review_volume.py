"""A reviewer's shift in a real browser, on a queue of 53 cases (more than one page of 50): every
case is reachable and the true total is shown; after 50 decisions the queue says 3; a case that
arrives while the page is open is announced without moving the selection or the scroll; bulk
reject; undo; frame stepping moves the clip by exactly one frame; zoom, speed, the annotated
clip toggle and the case's history.

Two cases come from a real evidence folder (the real writer on the real Beijing overpass clip);
the other 51 are copies of one of their database rows (same evidence files, own ids), which is
all paging needs.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest

import harness
from tests.service.helpers import SCENE_YAML, SHORT_CLIP, make_run

pytestmark = pytest.mark.browser

TOTAL = 53
DUPLICATE = "Duplicate of another case"  # the reason list's label in English


def wait_current(page, state: str = "pending") -> None:
    """Until the page has the next case open (keys act on the open case only)."""
    harness.wait_js(page, f"CW.review.current() !== null && CW.review.current().state === '{state}'")


@pytest.fixture(scope="module")
def run_template(tmp_path_factory, footage_dir):
    tmp = tmp_path_factory.mktemp("volume-run")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE_YAML, encoding="utf-8")
    out = tmp / "run"
    assert len(make_run(footage_dir / SHORT_CLIP, out, scene_path)) == 2
    return out, scene_path


def add_copies(svc, template_id: str, n: int, tag: str) -> list[str]:
    """``n`` more pending cases like ``template_id``, created after every case so far, in order."""
    from service.db import session_scope
    from service.models import Case, utcnow

    ids = []
    with session_scope(svc.server.config.app.state.session_factory) as db:
        src = db.get(Case, template_id)
        cols = {c.key: getattr(src, c.key) for c in Case.__table__.columns}
        base = utcnow()
        for i in range(n):
            row = Case(**{**cols, "id": f"{tag}{i:03d}", "created_at": base + timedelta(milliseconds=i + 1),
                          "updated_at": base})
            db.add(row)
            ids.append(row.id)
    return ids


@pytest.fixture
def queue_service(tmp_path, run_template, footage_dir):
    template, scene_path = run_template
    source = footage_dir / SHORT_CLIP
    svc = harness.start_service(tmp_path / "data", runner="none", undo_window_s=30)
    try:
        harness.seed(svc, scene_path, harness.reference_frame(source, tmp_path / "reference.png"))
        job_id = harness.upload(svc, source)
        with harness.finished_job(svc, job_id, lambda out: shutil.copytree(template, out)) as done:
            real = [r.id for r in done.rows]
        copies = add_copies(svc, real[0], TOTAL - len(real), "copy-")
        svc.extra.update(real=real, ids=real + copies)
        yield svc
    finally:
        svc.stop()


def open_review(browser, svc, poll_ms: int | None = None, hold: tuple[re.Pattern, list] | None = None):
    """The review page, logged in; ``hold``: requests matching the pattern are kept (appended to
    the list) until the test lets them go on."""
    ctx = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    if poll_ms:
        ctx.add_init_script(f"window.CW_REVIEW_POLL_MS = {poll_ms};")
    if hold:
        ctx.route(hold[0], lambda route: hold[1].append(route))
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", "reviewer")
    page.fill("#password", harness.PASSWORDS["reviewer"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/review$"))
    page.wait_for_selector("#case:not([hidden])")
    return page


def queue_ids(page) -> list[str]:
    return page.eval_on_selector_all("#queue-list .queue-item", "els => els.map(e => e.dataset.case)")


def scroll_to_end(page) -> None:
    page.evaluate("() => { const l = document.querySelector('#queue-list'); l.scrollTop = l.scrollHeight; }")


def api_pending(svc) -> int:
    with svc.client("reviewer") as c:
        return c.get("/api/cases", params={"state": "pending"}).json()["total"]


def test_all_53_reachable_and_50_decisions_leave_3(browser, queue_service) -> None:
    svc = queue_service
    page = open_review(browser, svc)
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL}']")
    assert page.text_content("#queue-count") == f"{TOTAL} cases"
    assert len(queue_ids(page)) == 50  # one page, and a row to show more
    assert "50 of 53" in page.text_content("#queue-more")
    # every queue row has its thumbnail: the snapshot, small, loaded lazily
    thumb = page.get_attribute("#queue-list .queue-item .qi-thumb", "src")
    assert thumb.endswith("/evidence/snapshot?w=96") and page.get_attribute("#queue-list .qi-thumb", "loading") == "lazy"
    harness.wait_js(page, "() => { const i = document.querySelector('#queue-list .qi-thumb'); return i.complete && i.naturalWidth === 96; }")

    scroll_to_end(page)  # scrolling to the end loads the rest
    harness.wait_js(page, f"document.querySelectorAll('#queue-list .queue-item').length === {TOTAL}")
    assert sorted(queue_ids(page)) == sorted(svc.extra["ids"])
    assert page.query_selector("#queue-more") is None

    # a fresh page, not scrolled: deciding through the first 50 brings in the rest by itself
    page.reload()
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL}']")
    assert len(queue_ids(page)) == 50
    for done in range(1, 51):
        wait_current(page)
        page.keyboard.press("r")
        page.wait_for_selector("#reject-dialog[open]")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#queue-count[data-total='{TOTAL - done}']")
    assert page.text_content("#queue-count") == "3 cases"
    harness.wait_js(page, "document.querySelectorAll('#queue-list .queue-item').length === 3")
    assert api_pending(svc) == 3
    with svc.client("reviewer") as c:
        left = {x["id"] for x in c.get("/api/cases", params={"state": "pending"}).json()["items"]}
    assert set(queue_ids(page)) == left
    page.reload()
    page.wait_for_selector("#queue-count[data-total='3']")
    assert len(queue_ids(page)) == 3


def test_new_case_is_announced_without_moving_the_selection(browser, queue_service) -> None:
    svc = queue_service
    page = open_review(browser, svc, poll_ms=400)
    scroll_to_end(page)
    harness.wait_js(page, f"document.querySelectorAll('#queue-list .queue-item').length === {TOTAL}")
    page.click("#queue-list .queue-item >> nth=30")
    chosen = queue_ids(page)[30]
    page.wait_for_selector(f"#case[data-case='{chosen}']")
    page.evaluate("() => { document.querySelector('#queue-list').scrollTop = 400; }")
    scroll = page.evaluate("document.querySelector('#queue-list').scrollTop")
    assert scroll > 0

    [new] = add_copies(svc, svc.extra["real"][1], 1, "late-")
    page.wait_for_selector("#queue-news:not([hidden])")
    assert page.text_content("#queue-news") == "1 new case(s) added at the end of the queue."
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL + 1}']")
    assert queue_ids(page)[-1] == new
    assert page.get_attribute("#case", "data-case") == chosen
    assert page.get_attribute("#queue-list .queue-item.active", "data-case") == chosen
    assert page.evaluate("document.querySelector('#queue-list').scrollTop") == scroll
    page.wait_for_timeout(1200)  # later polls announce nothing new and move nothing
    assert page.get_attribute("#case", "data-case") == chosen and queue_ids(page).count(new) == 1


def test_the_second_page_is_not_announced_as_new_while_the_newest_case_is_asked_for(browser, queue_service) -> None:
    """The queue loads its first page, then asks for the list's last case to learn the newest one.
    A poll answered before that (a slow server, a short interval) took every case past the first
    page for a new one and announced "3 new case(s)" that nobody had added. Now polls wait for it."""
    svc = queue_service
    held: list = []
    page = open_review(browser, svc, poll_ms=200, hold=(re.compile(rf".*/api/cases\?.*offset={TOTAL - 1}.*"), held))
    harness.wait_js(page, f"document.querySelector('#queue-count').dataset.total === '{TOTAL}'")
    deadline = 100
    while not held and deadline:
        page.wait_for_timeout(50)
        deadline -= 1
    assert held, "the page never asked for the list's last case"
    page.wait_for_timeout(1200)  # six polls while the newest case is not known
    assert page.is_hidden("#queue-news")
    for route in held:
        route.continue_()
    page.wait_for_timeout(1200)  # polls after it: still nothing new
    assert page.is_hidden("#queue-news")
    [new] = add_copies(svc, svc.extra["real"][1], 1, "late-")  # a case that is new is announced
    page.wait_for_selector("#queue-news:not([hidden])")
    assert page.text_content("#queue-news") == "1 new case(s) added at the end of the queue."
    scroll_to_end(page)
    harness.wait_js(page, f"document.querySelectorAll('#queue-list .queue-item').length === {TOTAL + 1}")
    assert queue_ids(page).count(new) == 1


def test_bulk_reject_then_undo(browser, queue_service) -> None:
    svc = queue_service
    page = open_review(browser, svc)
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL}']")
    first = queue_ids(page)[0]
    picked = queue_ids(page)[1:4]
    for cid in picked:
        page.check(f"#queue-list .queue-item[data-case='{cid}'] .pick")
    page.wait_for_selector("#bulk-bar:not([hidden])")
    assert page.text_content("#bulk-count") == "3 selected:"
    page.click("#bulk-reject")
    page.wait_for_selector("#bulk-reject-dialog[open]")
    assert page.text_content("#bulk-reject-title") == "Reject 3 selected case(s)"
    page.select_option("#bulk-reject-reason", "duplicate")
    page.click("#bulk-reject-confirm")
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL - 3}']")
    assert not set(picked) & set(queue_ids(page))
    assert page.get_attribute("#case", "data-case") == first  # the open case stays open
    assert page.is_hidden("#bulk-bar")
    with svc.client("admin") as admin:
        for cid in picked:
            entries = admin.get("/api/audit", params={"object_id": cid, "action": "case.reject"}).json()["items"]
            assert [(e["actor"], e["details"]["reason_code"], e["details"]["reason"]) for e in entries] == [
                ("reviewer", "duplicate", None)]

    # a rejection by mistake: the undo bar takes it back, the case is in the queue again and open
    wait_current(page)
    page.keyboard.press("r")
    page.wait_for_selector("#reject-dialog[open]")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL - 4}']")
    page.wait_for_selector(f"#undo-bar[data-case='{first}']:not([hidden])")
    assert first not in queue_ids(page)
    page.click("#undo-btn")
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL - 3}']")
    page.wait_for_selector(f"#case[data-case='{first}'][data-state='pending']")
    assert queue_ids(page)[0] == first
    with svc.client("reviewer") as c:
        assert c.get(f"/api/cases/{first}").json()["state"] == "pending"
    # the case's history on the page: who rejected it, and the undo
    page.wait_for_selector("#c-history li[data-action='case.undo']")
    items = page.eval_on_selector_all("#c-history li", "els => els.map(e => e.dataset.action)")
    assert items == ["case.reject", "case.undo"]
    assert "reviewer" in page.text_content("#c-history")

    # a rejected case reopened with a reason: back to pending, and the history says so
    page.select_option("#f-state", "rejected")
    page.wait_for_selector("#queue-count[data-total='3']")
    target = queue_ids(page)[0]
    page.wait_for_selector(f"#case[data-case='{target}'][data-state='rejected']")
    page.click("#btn-reopen")
    page.wait_for_selector("#reopen-dialog[open]")
    page.fill("#reopen-note", "the plate is readable in the sheet")
    page.click("#reopen-confirm")
    page.wait_for_selector("#queue-count[data-total='2']")
    assert target not in queue_ids(page)
    with svc.client("reviewer") as c:
        shown = c.get(f"/api/cases/{target}").json()
    assert shown["state"] == "pending"
    assert [(h["actor"], h["action"]) for h in shown["history"]] == [("reviewer", "case.reject"), ("reviewer", "case.reopen")]
    assert shown["history"][1]["details"]["reason"] == "the plate is readable in the sheet"


def test_frame_stepping_speed_zoom_and_annotated_view(browser, queue_service) -> None:
    svc = queue_service
    real = svc.extra["real"][0]
    with svc.client("reviewer") as c:
        fps = c.get(f"/api/cases/{real}").json()["fps"]
    assert fps > 0
    page = open_review(browser, svc)
    page.wait_for_selector(f"#case[data-case='{real}']")
    harness.wait_js(page, "document.querySelector('#c-video').readyState >= 2")
    start = page.evaluate("document.querySelector('#c-video').currentTime")
    page.click("#c-title")  # focus on the page, not a form field
    page.keyboard.press(".")
    harness.wait_js(page, f"Math.abs(document.querySelector('#c-video').currentTime - {start + 1 / fps}) < 1e-4")
    assert page.evaluate("document.querySelector('#c-video').paused")
    page.keyboard.press(".")
    page.keyboard.press(",")
    harness.wait_js(page, f"Math.abs(document.querySelector('#c-video').currentTime - {start + 1 / fps}) < 1e-4")
    page.click("#btn-frame-back")
    harness.wait_js(page, f"Math.abs(document.querySelector('#c-video').currentTime - {start}) < 1e-4")

    page.select_option("#c-speed", "0.25")
    assert page.evaluate("document.querySelector('#c-video').playbackRate") == 0.25
    page.select_option("#c-speed", "2")
    assert page.evaluate("document.querySelector('#c-video').playbackRate") == 2

    # click-to-zoom on the snapshot and the close-up, in the sheet viewer
    for button, title in (("#c-snapshot-open", "Snapshot at the moment of the violation"), ("#c-crop-open", "Offender close-up")):
        page.click(button)
        page.wait_for_selector("#sheet-dialog[open]")
        assert page.text_content("#sheet-title") == title
        harness.wait_js(page, "document.querySelector('#sheet-full').naturalWidth > 0")
        page.keyboard.press("z")
        page.wait_for_selector("#sheet-dialog[data-zoom='full']")
        page.keyboard.press("Escape")
        page.wait_for_selector("#sheet-dialog", state="hidden")

    # the annotated clip: rendered on demand, then toggled with the original at the same moment
    page.click("#btn-annotated")
    page.wait_for_selector("#btn-view-annotated:not([hidden])", timeout=120_000)
    page.keyboard.press(".")
    at = page.evaluate("document.querySelector('#c-video').currentTime")
    page.click("#btn-view-annotated")
    page.wait_for_selector("#c-video[data-view='annotated']")
    assert "/evidence/annotated" in page.get_attribute("#c-video", "src")
    harness.wait_js(page, f"Math.abs(document.querySelector('#c-video').currentTime - {at}) < 1e-4")
    assert page.is_hidden("#c-overlay")
    page.click("#btn-view-annotated")
    page.wait_for_selector("#c-video[data-view='original']")
    assert "/evidence/clip" in page.get_attribute("#c-video", "src")


def api_state(svc, case_id: str) -> str:
    with svc.client("reviewer") as c:
        return c.get(f"/api/cases/{case_id}").json()["state"]


def test_decision_answered_after_moving_on_changes_the_decided_case_only(browser, queue_service) -> None:
    """A reviewer rejects a case, then presses J before the server answers: the rejected case leaves the
    queue and the undo bar names it; the case moved to stays pending, in the queue and open. (The page
    took the answer for the case open when it arrived: the next one left the queue as if rejected, the
    undo bar offered to undo it, and the rejected case stayed listed as pending.)"""
    svc = queue_service
    page = open_review(browser, svc)
    page.wait_for_selector(f"#queue-count[data-total='{TOTAL}']")
    wait_current(page)
    first, second = queue_ids(page)[:2]
    assert page.get_attribute("#case", "data-case") == first
    # the queue's first thumbnails are made on first sight: let them come before timing anything
    harness.wait_js(page, "Array.from(document.querySelectorAll('#queue-list img.qi-thumb')).slice(0, 6)"
                          ".every(i => i.complete && i.naturalWidth > 0)", timeout=120_000)
    held = []
    page.route(re.compile(r".*/api/cases/[^/]+/reject$"), lambda route: held.append(route))
    page.keyboard.press("r")
    page.wait_for_selector("#reject-dialog[open]")
    page.select_option("#reject-reason", label=DUPLICATE)
    page.click("#reject-confirm")
    deadline = 100
    while not held and deadline:
        page.wait_for_timeout(50)
        deadline -= 1
    assert len(held) == 1
    page.keyboard.press("j")  # on to the next case while the rejection is on its way
    harness.wait_js(page, f"CW.review.current() && CW.review.current().id === '{second}'", timeout=60_000)
    held[0].continue_()
    page.wait_for_selector(f"#undo-bar[data-case='{first}']:not([hidden])")

    assert api_state(svc, first) == "rejected" and api_state(svc, second) == "pending"
    ids = queue_ids(page)
    assert first not in ids and second in ids
    assert page.get_attribute("#case", "data-case") == second
    assert page.evaluate("CW.review.current().id") == second
    assert page.get_attribute(f"#queue-list .queue-item[data-case='{second}']", "class").split().count("active") == 1
    assert page.text_content("#queue-count") == f"{TOTAL - 1} cases"
