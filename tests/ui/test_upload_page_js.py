"""The upload page. A file uploaded before is refused naming the job that holds it (one's own), or
saying someone else uploaded it: the page said only "this file has already been uploaded", and an
operator could not tell where its analysis was. The camera list names each camera's place in the page's language: an English
page listed a drone camera whose scene names its place in both languages with the Chinese one
("hohhot-drone-1 · 呼和浩特路口"), where the camera pages already said "Hohhot junction". The
page is rendered by the real router; the API answer has the cameras API's shape."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://upload-page.test"
CAMERAS = [
    {"camera_id": "hohhot-drone-1", "kind": "drone", "timezone": "Asia/Shanghai", "place": "呼和浩特路口",
     "place_names": {"zh-CN": "呼和浩特路口", "en": "Hohhot junction"}},
    {"camera_id": "gate-2", "kind": "fixed", "timezone": "Asia/Shanghai", "place": "北门", "place_names": None},
]


def _upload_page(browser, lang: str, answers: dict):  # noqa: ANN001
    def answer(route) -> bool:
        path = urlsplit(route.request.url).path
        if path in answers:
            status, body = answers[path] if isinstance(answers[path], tuple) else (200, answers[path])
            harness.fulfil_json(route, body, status)
        return path in answers

    context = browser.new_context(locale=lang)
    page = context.new_page()
    harness.serve_pages(page, BASE, lang, answer, max_upload_bytes=0)
    page.goto(f"{BASE}/upload")
    harness.wait_js(page, "document.querySelectorAll('#camera option').length === 3", timeout=10_000)
    return context, page


@pytest.mark.parametrize("lang, own, other", [
    ("en-US", "already uploaded (as flight-b.mp4): its analysis is job #3", "uploaded by someone else"),
    ("zh-CN", "任务 #3", "其他人上传"),
])
def test_a_duplicate_names_the_job_that_holds_the_file(browser, lang, own, other) -> None:
    answers = {"/api/me": {"username": "pilot1", "role": "operator", "kind": "user"}, "/api/cameras": CAMERAS,
               "/api/jobs": [], "/api/uploads/sessions": (409, {
                   "detail": "this file was already uploaded as upload 3 (flight-b.mp4)", "code": "duplicate_upload",
                   "upload_id": 3, "job_id": 3, "filename": "flight-b.mp4"})}
    context, page = _upload_page(browser, lang, answers)
    try:
        for expected in (own, other):
            page.select_option("#camera", "hohhot-drone-1")
            page.set_input_files("#file", files=[{"name": "flight.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 4096}])
            page.click("#upload-submit")
            page.wait_for_selector("#upload-error:not([hidden])")
            harness.wait_js(page, f"document.getElementById('upload-error').textContent.includes({json.dumps(expected)})",
                            timeout=10_000)
            # someone else's file: the API names no upload, job or file
            answers["/api/uploads/sessions"] = (409, {"detail": "this file has already been uploaded by someone else; "
                                                                "an administrator can find its job",
                                                      "code": "duplicate_upload"})
    finally:
        context.close()


@pytest.mark.parametrize("lang, drone, fixed", [
    ("en-US", "hohhot-drone-1 · Hohhot junction (Drone)", "gate-2 · 北门"),
    ("zh-CN", "hohhot-drone-1 · 呼和浩特路口 (无人机)", "gate-2 · 北门"),
])
def test_the_camera_list_names_places_in_the_pages_language(browser, lang, drone, fixed) -> None:
    answers = {"/api/me": {"username": "pilot1", "role": "operator", "kind": "user"}, "/api/cameras": CAMERAS,
               "/api/jobs": []}
    context, page = _upload_page(browser, lang, answers)
    try:
        names = page.evaluate("Array.from(document.querySelectorAll('#camera option')).map(o => o.textContent)")
        assert names[1:] == [drone, fixed]
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en-US", "zh-CN"])
def test_the_progress_bar_is_one_to_a_screen_reader(browser, lang) -> None:
    """The bar was a coloured box alone: a screen reader had no progress bar to report, only the
    percentage text somewhere after it. Now it is a named progressbar with its value."""
    answers = {"/api/me": {"username": "pilot1", "role": "operator", "kind": "user"}, "/api/cameras": CAMERAS,
               "/api/jobs": [], "/api/uploads/sessions": (503, {"detail": "try later", "code": "unavailable"})}
    context, page = _upload_page(browser, lang, answers)
    try:
        page.select_option("#camera", "gate-2")
        page.set_input_files("#file", files=[{"name": "flight.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 4096}])
        page.click("#upload-submit")
        page.wait_for_selector("#upload-error:not([hidden])")
        bar = page.get_by_role("progressbar")
        assert bar.get_attribute("aria-valuenow") == "100"  # the file was hashed before the server refused
        assert bar.evaluate("b => b.getAttribute('aria-labelledby')") == "upload-phase"
        assert page.locator("#upload-phase").inner_text().strip()
    finally:
        context.close()
