"""The whole product in a browser: an operator uploads the demo clip and watches the job finish,
a reviewer approves one case and rejects another with the keyboard, and the exposure screen
then shows the approved case only. Screenshots of every page are taken on the way.

The flow needs three cases, which the demo's first 30 s hold (the parked car, the pedestrian on
red, the wrong-way cyclist): the job analyses that part of the demo, really, as uploaded. Its
approved cases are redacted with no region finder (the real code's fallback: blur all but the
offender): what is blurred is tests/service's and test_display_publication's business, and the
finders took minutes here. ``scripts/screenshots.py`` (CIVICWATCH_SCREENSHOTS set) runs the whole
demo with the real finders and lets each page settle, as the committed screenshots show."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.browser

JOB_TIMEOUT_MS = 240_000
FLOW_CLIP_S = 30.0  # the demo's first three violations are flagged by 28 s


def _docs_run() -> bool:
    """True when scripts/screenshots.py runs this file to refresh the committed screenshots."""
    return bool(os.environ.get("CIVICWATCH_SCREENSHOTS"))


def first_seconds(src: Path, dst: Path, seconds: float) -> Path:
    """The video ``src`` up to its first key frame at or after ``seconds``, its packets copied
    unchanged (no re-encoding), so the analysis sees exactly the demo's own first frames."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            if packet.is_keyframe and packet.pts * stream.time_base >= seconds:
                break
            packet.stream = copy
            out.mux(packet)
    return dst


@pytest.fixture(scope="module")
def flow_clip(demo_footage, tmp_path_factory) -> Path:
    """What the operator uploads: the demo's first ``FLOW_CLIP_S`` seconds (the whole demo for the docs)."""
    if _docs_run():
        return demo_footage.video
    return first_seconds(demo_footage.video, tmp_path_factory.mktemp("flow-clip") / "demo-30s.mp4", FLOW_CLIP_S)


@pytest.fixture
def flow_redaction(monkeypatch) -> None:
    """Published media made with no region finder (tests/service's ``fast_redaction``), except for the docs."""
    if not _docs_run():
        import service.redaction as redaction

        monkeypatch.setattr(redaction, "default_finders", lambda: [])


def _login(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")


def _shot(page, folder: Path, name: str, settle_ms: int = 300) -> None:
    if _docs_run():
        page.wait_for_timeout(settle_ms)  # let images and fonts settle for the committed pictures
    page.screenshot(path=str(folder / f"{name}.png"))


def test_upload_review_display(browser, live_service, flow_clip, flow_redaction, screenshot_dir) -> None:
    base = live_service.base_url
    view = {"viewport": {"width": 1440, "height": 900}}

    # ---- login page, then the operator uploads the demo clip through the page -----------------
    op_ctx = browser.new_context(locale="zh-CN", **view)
    page = op_ctx.new_page()
    page.goto(f"{base}/login")
    _shot(page, screenshot_dir, "login-zh")
    page.fill("#username", "operator")
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "密码" in page.inner_text("#login-error")
    page.fill("#password", harness.PASSWORDS["operator"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/upload$"))
    page.wait_for_selector(f"#camera option[value='{live_service.camera_id}']", state="attached")
    page.select_option("#camera", live_service.camera_id)
    page.set_input_files("#file", str(flow_clip))
    page.fill("#drone_id", "DJI-M30-07")
    page.fill("#pilot", "王警官")
    page.fill("#place", "演示路口")
    page.fill("#started_at", "2024-05-01T08:00:00")
    page.click("#upload-submit")
    page.wait_for_selector("#upload-ok:not([hidden])", timeout=60_000)
    job_id = re.search(r"#(\d+)", page.inner_text("#upload-ok")).group(1)
    row = f"#jobs-body tr[data-job='{job_id}']"
    page.wait_for_selector(row)
    _shot(page, screenshot_dir, "upload-zh")
    page.wait_for_selector(f"{row}[data-state='done']", timeout=JOB_TIMEOUT_MS)
    cases_found = int(page.inner_text(f"{row} .job-cases"))
    assert cases_found >= 2, "the demo clip has several planted violations"
    page.goto(f"{base}/jobs")
    page.wait_for_selector(f"{row}[data-state='done']")
    _shot(page, screenshot_dir, "jobs-zh")
    with live_service.client("operator") as api:
        upload = api.get("/api/uploads").json()[0]
    assert upload["drone_id"] == "DJI-M30-07" and upload["place"] == "演示路口"
    assert upload["started_at"].startswith("2024-05-01T00:00:00")  # 08:00 Shanghai time, stored as UTC
    op_ctx.close()

    # ---- the reviewer decides two cases with the keyboard ---------------------------------------
    rv_ctx = browser.new_context(locale="zh-CN", **view)
    page = rv_ctx.new_page()
    _login(page, base, "reviewer")
    page.wait_for_url(re.compile(r"/review$"))
    page.wait_for_selector("#case[data-case]")
    items = page.locator(".queue-item")
    assert items.count() == cases_found
    harness.wait_js(page, "document.querySelector('#c-map svg') !== null")
    _shot(page, screenshot_dir, "review-zh")

    first = page.get_attribute("#case", "data-case")
    page.keyboard.press("j")
    harness.wait_js(page, f"document.querySelector('#case').dataset.case !== '{first}'")
    second = page.get_attribute("#case", "data-case")
    page.keyboard.press("k")
    harness.wait_js(page, f"document.querySelector('#case').dataset.case === '{first}'")

    # Reject the first case (the demo's parked car: its clip runs to the end of the video) and
    # approve the second (the pedestrian on red, a 13 s clip).
    page.keyboard.press("r")
    page.wait_for_selector("#reject-dialog[open]")
    page.select_option("#reject-reason", "not_identifiable")
    page.keyboard.press("Enter")  # the next case opens by itself
    harness.wait_js(page, f"document.querySelector('#case').dataset.case === '{second}'", timeout=120_000)
    rejected = first
    page.keyboard.press("a")
    harness.wait_js(page, f"document.querySelector('#case') && document.querySelector('#case').dataset.case !== '{second}' "
                           f"|| !document.querySelector('#case-empty').hidden")
    approved = second
    assert page.locator(".queue-item").count() == cases_found - 2

    with live_service.client("reviewer") as api:
        a = api.get(f"/api/cases/{approved}").json()
        r = api.get(f"/api/cases/{rejected}").json()
    assert a["state"] == "approved"  # its public media are made on the publication queue
    assert (r["state"], r["reason_code"], r["reason"]) == ("rejected", "not_identifiable", None)  # the code, no note

    # English review page with the approved case open
    page.goto(f"{base}/lang/en?next=/review")
    page.select_option("#f-state", "approved")
    page.wait_for_selector(f"#case[data-case='{approved}']")
    harness.wait_js(page, "document.querySelector('#c-map svg') !== null")
    assert page.inner_text("#btn-publish").startswith("Publish")
    _shot(page, screenshot_dir, "review-en")
    page.goto(f"{base}/lang/zh-CN?next=/cameras/{live_service.camera_id}")
    page.wait_for_selector("#cam-zones tr")
    harness.wait_js(page, "document.querySelector('#cam-map svg image') !== null")
    _shot(page, screenshot_dir, "camera-zh")
    rv_ctx.close()

    # ---- admin pages ---------------------------------------------------------------------------
    ad_ctx = browser.new_context(locale="en-US", **view)
    page = ad_ctx.new_page()
    _login(page, base, "admin")
    page.wait_for_url(re.compile(r"/admin"))
    page.wait_for_selector("#users-body tr")
    _shot(page, screenshot_dir, "admin-en")
    page.click(".tab[data-tab='audit']")
    page.wait_for_selector("#audit-body tr code")
    assert "case.approve" in page.inner_text("#audit-body")
    _shot(page, screenshot_dir, "audit-en")
    page.goto(f"{base}/cameras")
    page.wait_for_selector(".camera-card svg")
    _shot(page, screenshot_dir, "cameras-en")
    ad_ctx.close()

    # ---- the exposure screen: approval is not publication; a paired screen shows published cases
    with live_service.client("reviewer") as api:
        _publish_when_ready(api, approved)
        number = api.get(f"/api/cases/{approved}").json()["public_number"]
    ds_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 900})
    ds_ctx.add_init_script("window.CW_DISPLAY_POLL_MS = 500;")
    page = ds_ctx.new_page()
    page.goto(f"{base}/display/{harness.SCREEN}")
    page.wait_for_selector("#d-pair:not([hidden])")  # not paired yet: not authorised
    page.fill("#d-pair-token", live_service.display_token)
    page.click("#d-pair-submit")
    page.wait_for_selector(f"#display[data-showing='{number}']", timeout=30_000)
    assert "token" not in page.url and page.evaluate("JSON.stringify(localStorage)") == "{}"
    shown = page.evaluate("CW.display.cases().map(function (c) { return c.number; })")
    assert shown == [number]
    page.wait_for_selector("#d-media video, #d-media img")
    _shot(page, screenshot_dir, "display-zh", settle_ms=1500)
    # a reload keeps the pairing (the cookie)
    page.goto(f"{base}/display/{harness.SCREEN}")
    page.wait_for_selector(f"#display[data-showing='{number}']", timeout=30_000)

    # a case published meanwhile appears without a reload
    with live_service.client("reviewer") as api:
        pending = api.get("/api/cases", params={"state": "pending"}).json()["items"]
        third = pending[0]["id"]
        assert api.post(f"/api/cases/{third}/approve").status_code == 200
        _publish_when_ready(api, third)
        third_number = api.get(f"/api/cases/{third}").json()["public_number"]
    harness.wait_js(page,
        f"CW.display.cases().map(function (c) {{ return c.number; }}).indexOf('{third_number}') >= 0", timeout=60_000)

    # the server goes away: the screen says so and keeps showing what it has
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    page.wait_for_selector("#d-dot.offline", timeout=15_000)
    page.wait_for_timeout(1250)  # two and a half polls that fail: the screen keeps what it has
    assert sorted(page.evaluate("CW.display.cases().map(function (c) { return c.number; })")) == sorted([number, third_number])
    assert page.get_attribute("#display", "data-showing") in (number, third_number)
    assert page.locator("#d-media video, #d-media img").count() == 1
    ds_ctx.close()


def _publish_when_ready(api, case_id: str, timeout_s: float = 300.0) -> None:  # noqa: ANN001
    """Publish once the publication queue has made the case's redacted media (409 not_ready until then)."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = api.post(f"/api/cases/{case_id}/publish")
        if r.status_code == 200:
            return
        assert r.status_code == 409 and r.json()["code"] == "not_ready", r.text
        assert time.monotonic() < deadline, f"media of {case_id} not made within {timeout_s:g} s"
        time.sleep(0.2)


def test_interrupted_upload_resumes_from_the_server_offset(browser, live_service, footage_dir) -> None:
    """A chunk that never arrives (the connection reset): the page tries again by itself, asks the
    server for its offset and finishes, with no press of Resume; the server's SHA-256 check passes,
    so no byte was lost or sent twice."""
    import hashlib

    clip = footage_dir / "beijing-intersection" / "uadetrac_overpass_short.mp4"
    base = live_service.base_url
    ctx = browser.new_context(locale="en-US")
    ctx.add_init_script("window.CW_UPLOAD_CHUNK = 64 * 1024; window.CW_UPLOAD_RETRY_MS = 300;")
    page = ctx.new_page()
    patches = {"n": 0}

    def drop_second_chunk(route) -> None:
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] == 2:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/api/uploads/sessions/*", drop_second_chunk)
    _login(page, base, "operator")
    page.wait_for_url(re.compile(r"/upload$"))
    page.wait_for_selector(f"#camera option[value='{live_service.camera_id}']", state="attached")
    page.select_option("#camera", live_service.camera_id)
    page.set_input_files("#file", str(clip))
    page.click("#upload-submit")
    page.wait_for_selector("#upload-ok:not([hidden])", timeout=60_000)
    assert patches["n"] > 3
    chunks = -(-clip.stat().st_size // (64 * 1024))
    assert patches["n"] == chunks + 1  # every chunk once, and the one cut off once more
    job_id = int(re.search(r"#(\d+)", page.inner_text("#upload-ok")).group(1))
    with live_service.client("operator") as api:
        api.post(f"/api/jobs/{job_id}/cancel")  # the clip does not belong to this camera's scene
        uploads = api.get("/api/uploads").json()
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    assert any(u["sha256"] == sha and u["size"] == clip.stat().st_size for u in uploads)
    ctx.close()
