"""Times and names on the admin and camera pages, against a scripted API (no service behind it; the real pages
and scripts come from the pages router):

- the admin page's people and tokens were created at a time shown in the installation's zone (the
  ``timezone`` setting), as its audit log is, not always Shanghai's;
- a live camera's last segment and outage start are shown in the camera's zone, not the browser's,
  and its lag behind live in the page's language (秒 / 分钟 on a Chinese page, not "s" / "min");
- a camera whose scene names its place per language is shown by the English name on an English
  cameras list and camera page, not by the scene's first (Chinese) text.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://pages.test"
WHEN = "2024-05-01T20:30:00+00:00"  # 22:30 in Rome, 16:30 in New York, 04:30 next day in Shanghai


def _page(browser, path: str, zone: str, api: dict, locale: str = "en-US", browser_zone: str = "Asia/Shanghai"):
    def answer(route) -> bool:
        path = urlsplit(route.request.url).path
        if path in api:
            harness.fulfil_json(route, api[path])
        return path in api

    context = browser.new_context(locale=locale, timezone_id=browser_zone)
    page = context.new_page()
    harness.serve_pages(page, BASE, locale, answer, timezone=zone, undo_window_s=30, max_upload_bytes=0)
    page.goto(f"{BASE}{path}")
    return context, page


def test_admin_people_and_tokens_are_in_the_installations_zone(browser) -> None:
    api = {
        "/api/me": {"username": "admin", "role": "admin", "kind": "user"},
        "/api/users": [{"id": 1, "username": "rita", "role": "reviewer", "active": True, "created_at": WHEN}],
        "/api/tokens": [{"id": 2, "name": "lobby", "role": "display", "screen": "lobby", "created_at": WHEN}],
    }
    context, page = _page(browser, "/admin", "Europe/Rome", api)
    try:
        harness.wait_js(page, "document.querySelectorAll('#users-body tr').length === 1", timeout=10_000)
        rome = page.evaluate(f"CW.formatTime({WHEN!r}, 'Europe/Rome')")
        assert "22:30:00" in rome
        assert page.text_content("#users-body tr td:nth-child(4)") == rome
        page.click(".tab[data-tab=tokens]")
        harness.wait_js(page, "document.querySelectorAll('#tokens-body tr').length === 1", timeout=10_000)
        assert page.text_content("#tokens-body tr td:nth-child(4)") == rome
    finally:
        context.close()


def test_live_camera_health_in_the_cameras_zone_and_the_pages_language(browser) -> None:
    api = {
        "/api/me": {"username": "rita", "role": "reviewer", "kind": "user"},
        "/api/cameras": [{"camera_id": "via-roma", "kind": "fixed", "place": "Via Roma", "timezone": "Europe/Rome",
                          "has_reference": False, "frame_size": [640, 360], "zones": [], "signals": []}],
        "/api/live/health": [{"camera_id": "via-roma", "online": False, "last_segment_end": WHEN, "gaps": 1,
                              "gap_seconds": 40, "gap_open_since": WHEN, "recording_lag_s": 30,
                              "analysis_lag_s": 600}],
    }
    # the browser is in New York; the camera in Rome
    context, page = _page(browser, "/cameras", "Asia/Shanghai", api, locale="zh-CN", browser_zone="America/New_York")
    try:
        harness.wait_js(page, "!!document.querySelector('.camera-health')", timeout=10_000)
        text = page.text_content(".camera-health")
        rome = page.evaluate(f"CW.formatTime({WHEN!r}, 'Europe/Rome')")
        assert "22:30:00" in rome
        assert f"最近片段 {rome}" in text and f"自 {rome} 起中断" in text, text
        assert "录制 30 秒" in text and "分析 10 分钟" in text, text
        assert " min" not in text and " s，" not in text, text
    finally:
        context.close()


def test_camera_place_in_the_pages_language(browser) -> None:
    cam = {"camera_id": "bj-overpass", "kind": "fixed", "place": "北京 立交桥", "timezone": "Asia/Shanghai",
           "place_names": {"zh-CN": "北京 立交桥", "en": "Beijing overpass"}, "has_reference": False,
           "frame_size": [960, 540], "zones": [], "signals": [], "scene_yaml": "camera: bj-overpass\n"}
    api = {"/api/me": {"username": "rita", "role": "reviewer", "kind": "user"}, "/api/cameras": [cam],
           "/api/live/health": [], "/api/cameras/bj-overpass": cam,
           "/api/cameras/bj-overpass/versions": {"camera_id": "bj-overpass", "current": 1, "items": []}}
    for path, selector in (("/cameras", ".camera-card-body"), ("/cameras/bj-overpass", "#cam-summary")):
        context, page = _page(browser, path, "Asia/Shanghai", api)
        try:
            harness.wait_js(page, f"(document.querySelector({selector!r}) || {{}}).textContent"
                                  "&& document.querySelector(" + repr(selector) + ").textContent.indexOf('·') >= 0",
                            timeout=10_000)
            text = page.text_content(selector)
            assert "Beijing overpass" in text and "北京" not in text, (path, text)
        finally:
            context.close()


@pytest.mark.parametrize(("locale", "title"), [("en-US", "Motor vehicle driving against traffic · Code 1301"),
                                               ("zh-CN", "机动车逆向行驶 · 违法代码 1301")])
def test_review_title_names_the_offence_as_the_sheet_does(browser, locale, title) -> None:
    from service.api.common import offence_view

    case = {"id": "J1-a", "pipeline_id": "a", "job_id": 1, "camera_id": "bj-overpass", "rule": "wrong_way",
            "offence": offence_view("wrong_way", "car"), "zone": "near-lanes", "start_s": 1.0, "end_s": 2.0,
            "start_time": WHEN, "start_time_local": None, "object_class": "car", "track_ids": [3],
            "confidence": 0.9, "explanation": "", "explanation_zh": None, "state": "pending", "reason": None,
            "reviewer": None, "decided_at": None, "created_at": WHEN, "snapshot_url": None, "plate": None,
            "zone_names": None, "timezone": "Asia/Shanghai"}
    api = {"/api/me": {"username": "rita", "role": "reviewer", "kind": "user"},
           "/api/cases": {"items": [case], "total": 1, "limit": 50, "offset": 0},
           "/api/cases/J1-a": {**case, "evidence": {}, "integrity": {"ok": True, "problems": []}, "history": []},
           "/api/cameras": []}
    context, page = _page(browser, "/review", "Asia/Shanghai", api, locale=locale)
    try:
        harness.wait_js(page, "document.getElementById('c-title').textContent.length > 0", timeout=10_000)
        assert page.text_content("#c-title") == title
    finally:
        context.close()


def test_upload_sends_the_typed_start_in_the_cameras_zone(browser) -> None:
    """The upload form's recording start, typed as the camera's wall clock on the morning New York
    moves its clocks forward, goes to the server with the offset in force then (-04:00)."""
    api = {"/api/me": {"username": "otto", "role": "operator", "kind": "user"},
           "/api/cameras": [{"camera_id": "nyc-5th", "kind": "fixed", "place": "5th Ave", "timezone": "America/New_York"}]}
    sent: list = []
    context, page = _page(browser, "/upload", "Asia/Shanghai", api)
    try:
        def session(route) -> None:
            sent.append(json.loads(route.request.post_data or "{}"))
            route.fulfill(status=409, content_type="application/json", body='{"detail": "stop here", "code": "conflict"}')

        page.route(f"{BASE}/api/uploads/sessions", session)
        page.wait_for_selector("#camera option[value='nyc-5th']", state="attached")
        page.select_option("#camera", "nyc-5th")
        page.set_input_files("#file", files=[{"name": "clip.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 64}])
        page.fill("#started_at", "2024-03-10T03:30:00")
        page.click("#upload-submit")
        harness.wait_js(page, "!document.getElementById('upload-error').hidden", timeout=10_000)
        assert [s.get("started_at") for s in sent] == ["2024-03-10T03:30:00-04:00"]
    finally:
        context.close()


def _case_without_clock() -> dict:
    from service.api.common import offence_view

    return {"id": "J2-b", "pipeline_id": "b", "job_id": 2, "camera_id": "bj-overpass", "rule": "wrong_way",
            "offence": offence_view("wrong_way", "car"), "zone": "near-lanes", "start_s": 1.0, "end_s": 2.0,
            "start_time": None, "start_time_local": None, "object_class": "car", "track_ids": [3],
            "confidence": 0.9, "explanation": "", "explanation_zh": None, "state": "pending", "reason": None,
            "reviewer": None, "decided_at": None, "created_at": WHEN, "snapshot_url": None, "plate": None,
            "zone_names": None, "timezone": "Asia/Shanghai"}


def test_review_gives_no_offence_time_for_footage_without_a_clock(browser) -> None:
    """The review page showed the time the case was analysed (created_at) as the offence's time,
    beside the line saying no wall-clock time is known."""
    case = _case_without_clock()
    api = {"/api/me": {"username": "rita", "role": "reviewer", "kind": "user"},
           "/api/cases": {"items": [case], "total": 1, "limit": 50, "offset": 0},
           "/api/cases/J2-b": {**case, "evidence": {}, "integrity": {"ok": True, "problems": []}, "history": [],
                               "clock": {"source": None, "warning": "no wall-clock time known"}},
           "/api/cameras": []}
    context, page = _page(browser, "/review", "Asia/Shanghai", api)
    try:
        harness.wait_js(page, "document.getElementById('c-clock').textContent.length > 0", timeout=10_000)
        assert page.text_content("#c-clock") == "No wall-clock time known: times are seconds into the video"
        assert page.text_content("#c-time") == "—"
        assert "04:30" not in page.text_content("#queue-list")  # created_at in Shanghai: not the offence's time
    finally:
        context.close()


@pytest.mark.parametrize(("locale", "expected"), [
    ("en-US", "time of the offence not known; published 2024-05-02 04:30:00"),
    ("zh-CN", "违法时间未知；发布于 2024-05-02 04:30:00")])
def test_screen_does_not_give_the_publication_time_as_the_offences(browser, locale, expected) -> None:
    record = {"number": "20240502-0001", "rule": "wrong_way", "object_class": "car", "place": "p",
              "place_names": None, "zone_names": None, "start_time": None, "start_time_local": None,
              "timezone": "Asia/Shanghai", "published_at": WHEN, "offender_marked": True,
              "media": {"video": None, "image": "/img.png", "sheet": None}}
    api = {"/api/public/cases": {"items": [record], "screen": "lobby", "server_time": WHEN}}
    context, page = _page(browser, "/display/lobby", "Asia/Shanghai", api, locale=locale)
    try:
        harness.wait_js(page, "document.getElementById('d-time').textContent.length > 0", timeout=10_000)
        assert page.text_content("#d-time") == expected
    finally:
        context.close()


@pytest.mark.parametrize(("locale", "lead"), [("zh-CN", "原因（分析程序的原始报告，英文）："),
                                              ("en-US", "Reason, as the analysis reported it: ")])
def test_a_failed_jobs_error_is_led_in_the_pages_language(browser, locale, lead) -> None:
    """A failed job's error is the worker's English sentence; a Chinese page showed it alone."""
    error = "gave up after 3 attempts (the process stopped during each run)"
    job = {"id": 5, "upload_id": 5, "camera_id": "bj-overpass", "filename": "a.mp4", "state": "failed",
           "progress": 40, "error": error, "attempts": 3, "cases_found": None, "created_at": WHEN,
           "timezone": "Asia/Shanghai", "warnings": [], "cases": [], "segments": []}
    api = {"/api/me": {"username": "otto", "role": "operator", "kind": "user"},
           "/api/jobs": {"items": [job], "total": 1, "limit": 50, "offset": 0}}
    context, page = _page(browser, "/jobs", "Asia/Shanghai", api, locale=locale)
    try:
        harness.wait_js(page, "!!document.querySelector('.job-error')", timeout=10_000)
        assert page.text_content(".job-error") == lead + error
    finally:
        context.close()


def test_bulk_decision_failures_are_said_in_the_pages_language(browser) -> None:
    """A bulk approval's cases that could not be decided are listed with why: a Chinese page gave
    the API's English sentence ("cannot approve a case that is approved ...")."""
    case = _case_without_clock()
    api = {"/api/me": {"username": "rita", "role": "reviewer", "kind": "user"},
           "/api/cases": {"items": [case], "total": 1, "limit": 50, "offset": 0},
           "/api/cases/J2-b": {**case, "evidence": {}, "integrity": {"ok": True, "problems": []}, "history": []},
           "/api/cameras": [],
           "/api/cases/bulk": {"action": "approve", "done": 0, "failed": 1, "results": [
               {"id": "J2-b", "ok": False, "state": "approved", "status": 409, "code": "invalid_transition",
                "message": "cannot approve a case that is approved (allowed from: pending)"}]}}
    context, page = _page(browser, "/review", "Asia/Shanghai", api, locale="zh-CN")
    try:
        page.wait_for_selector(".queue-item[data-case='J2-b'] input.pick")
        page.check(".queue-item[data-case='J2-b'] input.pick")
        page.click("#bulk-approve")
        harness.wait_js(page, "!document.getElementById('toast').hidden", timeout=10_000)
        toast = page.text_content("#toast")
        assert "#J2-b: 案件当前状态不允许此操作。" in toast and "cannot approve" not in toast, toast
    finally:
        context.close()
