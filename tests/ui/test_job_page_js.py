"""The jobs page as a drone operator sees it. A job's warnings say their numbers in the page's
language, and what to do; the cases a job found are named, not linked to the reviewers' page.

Before, a drone flight whose every frame but a few failed to register (uploaded to the wrong
camera, or a reference frame from another height) read exactly like one with two blurred frames,
"some drone frames could not be registered", with the counts only in a hover title a phone cannot
show; and a warning of a kind the page has no sentence for read "the analysis reported a problem"
with nothing said about which. An operator's case links led to the review page, which sent them
straight back to the upload page. The page is rendered by the real router; the API answers are the
jobs API's shape (``service.job_report.warning_items``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import harness
from service.job_report import warning_items
from service.jobs.stall import stalled_error

pytestmark = pytest.mark.browser

BASE = "http://jobs-warnings.test"
DRONE = ("drone frames could not be registered: 93 of 104 analysis frames do not match the scene's reference "
         "image (too little overlap, blur or another place); they produced no cases; nothing was judged "
         "3.0-9.0 s (60 frames), 20.0-21.5 s (15 frames)")
STRETCHED = "the scene's frame_size is 4:3 but the video is 16:9: zones are stretched"
JOB = {"id": 7, "upload_id": 7, "camera_id": "hohhot-drone-1", "filename": "flight.mp4", "state": "done",
       "progress": 100.0, "error": None, "attempts": 1, "cases_found": 1, "cancel_requested": False,
       "created_at": "2026-12-05T01:30:00+00:00", "timezone": "Asia/Shanghai",
       "cases": [{"id": "J7-hohhot-drone-1-illegal_parking-00012800-8", "rule": "illegal_parking", "state": "pending",
                  "start_time": "2026-12-05T01:30:12+00:00", "url": "/review?case=J7-hohhot-drone-1-illegal_parking-00012800-8"}], "segments": [],
       "zone_names": {}, "seen": {"frames_decoded": 300, "duration_s": 10.3, "tracks": {}, "tracks_per_zone": {}},
       "warnings": warning_items([DRONE, STRETCHED])}
CANCELLED = {**JOB, "id": 8, "upload_id": 8, "state": "cancelled", "progress": 2.0, "cases_found": None, "cases": [],
             "warnings": [], "seen": None}
# a failure whose words have no space to break at (a file named by its SHA-256)
FAILED = {**CANCELLED, "id": 9, "upload_id": 9, "filename": "DJI_20261205093000_0001_V.MP4", "state": "failed",
          "error": "VideoOpenError: 7b16caf4b302e1746aa2f5cab39bfbd7f37e15f471a31d3ac343b82593e679f3.mp4: no such file"}
# a failure the service names by a code the pages have a sentence for
STALLED = {**FAILED, "id": 10, "upload_id": 10, "filename": "stuck.mp4", "error": stalled_error(1805, 1800)}


@pytest.fixture(scope="module", params=["en-US", "zh-CN"])
def page(browser, request):
    answers = {"/api/me": {"username": "pilot1", "role": "operator", "kind": "user"}, "/api/jobs": [STALLED, FAILED, CANCELLED, JOB]}
    retried: list[str] = []

    def answer(route) -> bool:
        path = urlsplit(route.request.url).path
        if route.request.method == "POST" and path == "/api/jobs/8/retry":
            retried.append(path)
            answers["/api/jobs"] = [STALLED, FAILED, {**CANCELLED, "state": "queued", "progress": 0.0}, JOB]
            harness.fulfil_json(route, answers["/api/jobs"][1])
        elif path in answers:
            harness.fulfil_json(route, answers[path])
        else:
            return False
        return True

    context = browser.new_context(locale=request.param, viewport={"width": 390, "height": 844})
    p = context.new_page()
    harness.serve_pages(p, BASE, request.param, answer, max_upload_bytes=0)
    p.goto(f"{BASE}/jobs")
    harness.wait_js(p, "document.querySelectorAll('li.job-warning').length === 2", timeout=10_000)
    p.retried = retried
    yield p
    context.close()


def _warnings(page) -> list[str]:  # noqa: ANN001
    return page.evaluate("Array.from(document.querySelectorAll('li.job-warning')).map(e => e.textContent)")


def test_unregistered_frames_are_counted_and_the_operator_told_what_to_check(page) -> None:
    drone = _warnings(page)[0]
    assert "93" in drone and "104" in drone
    if page.evaluate("CW.lang") == "zh-CN":
        assert "点位" in drone and "参考图" in drone and "registered" not in drone
    else:
        assert drone.startswith("93 of 104") and "wrong camera" in drone and "reference frame" in drone


def test_the_periods_nothing_was_judged_in_are_said_with_how_long_and_how_many_frames(page) -> None:
    """The warning counted the frames but never said when: the operator could not tell whether the
    loss was scattered blur or the one minute the offences were in."""
    drone = _warnings(page)[0]
    if page.evaluate("CW.lang") == "zh-CN":
        assert "未作任何判定：3.0–9.0 秒（6.0 秒，60 个画面）；20.0–21.5 秒（1.5 秒，15 个画面）。" in drone
    else:
        assert drone.endswith(" Nothing was judged during 3.0–9.0 s (6.0 s, 60 frames); 20.0–21.5 s (1.5 s, 15 frames).")


def test_a_warning_without_a_sentence_of_its_own_shows_what_the_analysis_said(page) -> None:
    other = _warnings(page)[1]
    assert STRETCHED in other


def test_an_operator_sees_the_cases_named_not_linked_to_the_review_page(page) -> None:
    assert page.locator("a.job-case-link").count() == 0
    named = page.locator("span.job-case-link")
    assert named.count() == 1 and named.get_attribute("data-case") == JOB["cases"][0]["id"]
    assert ("违法停车" if page.evaluate("CW.lang") == "zh-CN" else "Illegal parking") in named.inner_text()


def test_a_cancelled_job_can_be_retried_from_the_page(page) -> None:
    """The API let an operator retry a cancelled or failed job; the page had only Cancel, and the
    same file uploaded again is refused as a duplicate, so a cancelled flight was stuck."""
    done = page.locator('tr.job-row[data-job="7"]')
    assert done.locator("button").count() == 0  # a finished job offers neither
    retry = page.locator('tr.job-row[data-job="8"] button.job-retry')
    assert retry.inner_text() == ("重试" if page.evaluate("CW.lang") == "zh-CN" else "Retry")
    retry.click()
    page.locator('tr.job-row[data-job="8"][data-state="queued"]').wait_for(timeout=10_000)
    assert page.retried == ["/api/jobs/8/retry"]
    assert page.locator('tr.job-row[data-job="8"] button.job-retry').count() == 0


def test_a_coded_failure_is_said_in_the_pages_language(page) -> None:
    """A stalled job's error starts with its code (``job_stalled: ...``); the page said only the
    English words after "the analysis reported". Now the catalogue's sentence comes first, the
    details after it; an error without a known code keeps the analysis's words (the row above)."""
    said = page.locator('tr.job-row[data-job="10"] .job-error').inner_text()
    if page.evaluate("CW.lang") == "zh-CN":
        assert said.startswith("分析长时间没有进展"), said
    else:
        assert said.startswith("The analysis stopped making progress"), said
    assert "no progress for 1805 s" in said and "job_stalled:" not in said
    plain = page.locator('tr.job-row[data-job="9"] .job-error').inner_text()
    assert "VideoOpenError: 7b16caf4" in plain


def test_a_long_error_wraps_inside_the_phone_screen(page) -> None:
    """On a phone a failed job's error with a long unbroken word (the stored file's hash) ran past
    the screen's edge, and the column it sat in squeezed the file name to "fli…"."""
    row = page.locator('tr.job-row[data-job="9"]')
    error = row.locator(".job-error")
    assert "7b16caf4" in error.inner_text() and "no such file" in error.inner_text()
    viewport = page.viewport_size["width"]
    for part in (error, row.locator(".job-file"), row.locator("button.job-retry")):
        box = part.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport + 0.5, box
    assert page.evaluate("document.scrollingElement.scrollWidth") <= viewport
    assert row.locator(".job-file").bounding_box()["width"] >= 100  # the file's name is readable (was 33 px)


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_keyboard_focus_survives_the_lists_refresh(browser, lang) -> None:
    """The list is rebuilt every 1.5 s while a job runs. An operator who tabbed to a running job's
    Cancel lost the focus to the page's body at the next refresh, before Enter could press it; after
    Retry, the focus went to the body as well. Now the control (or, when it is gone, its job's row)
    keeps it."""
    running = {**CANCELLED, "id": 10, "upload_id": 10, "state": "running", "progress": 40.0}
    answers = {"/api/me": {"username": "pilot1", "role": "operator", "kind": "user"}, "/api/jobs": [running, CANCELLED]}
    sent: list[str] = []

    def answer(route) -> bool:  # noqa: ANN001
        path = urlsplit(route.request.url).path
        if route.request.method == "POST":
            sent.append(path)
            if path == "/api/jobs/8/retry":
                answers["/api/jobs"] = [running, {**CANCELLED, "state": "queued", "progress": 0.0}]
            harness.fulfil_json(route, {})
        elif path in answers:
            harness.fulfil_json(route, answers[path])
        else:
            return False
        return True

    context = browser.new_context(locale=lang)
    p = context.new_page()
    harness.serve_pages(p, BASE, lang, answer, max_upload_bytes=0)
    try:
        p.goto(f"{BASE}/jobs")
        cancel = p.evaluate("CW.t('jobs.cancel')")
        harness.wait_js(p, "!!document.querySelector('tr[data-job=\"10\"] button')", timeout=10_000)
        p.locator("tr[data-job='10']").get_by_role("button", name=cancel).focus()
        p.wait_for_timeout(3500)  # two refreshes of a list with a running job
        assert p.evaluate("!!document.activeElement.closest('tr[data-job=\"10\"]')")
        assert p.evaluate("document.activeElement.textContent") == cancel
        p.locator("tr[data-job='8'] button.job-retry").focus()
        p.keyboard.press("Enter")
        harness.wait_js(p, "!!document.querySelector('tr[data-job=\"8\"][data-state=queued]')", timeout=5_000)
        # Retry is gone from the queued job: its row has the focus, not the page's body
        assert p.evaluate("document.activeElement.matches('tr[data-job=\"8\"]')")
        p.keyboard.press("Tab")  # and the next Tab goes on from there: the queued job's Cancel
        assert p.evaluate("!!document.activeElement.closest('tr[data-job=\"8\"]')")
        assert p.evaluate("document.activeElement.textContent") == cancel
        assert sent == ["/api/jobs/8/retry"]
    finally:
        context.close()
