"""Publication in a real browser: the reviewer previews and publishes, the paired street screen
shows only published cases with their public number and the offender outlined, a screen with a
bad token says it is not authorised, and a withdrawn case leaves the screen within a poll.

Cases are written by the real evidence writer from a real CCPD photo of a parked car (filmed as a
still H.264 video) and ingested as the worker would; the parked car's published media, the ones
the screen is checked against, are made by the real redaction (CenterFace, the object detector and
its verification pass). The walker's, which only the phone layout shows, are made with no region
finder (the real code's fallback, as tests/service's ``fast_redaction``): the finders took well
over half of this module's time on that clip, for nothing the phone test looks at.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import harness
from plate_photos import CCPD, photo_row, still_video
from test_review_sheet_plate import SCENE, _make_run

pytestmark = pytest.mark.browser

NUMBER = re.compile(r"^\d{8}-\d{4}$")
# The red outline (BGR (40, 40, 220), drawn by service.redaction.mark_offender) in the media after
# H.264: the longest straight run of red pixels along a row and along a column, the smaller of the
# two. The CCPD photo has ~2,600 red pixels of its own (a tail light) in runs of at most 42 x 68 px,
# so a count of red pixels could not tell a missing outline; the outline's sides run ~520 x ~470.
RED_OUTLINE = """(function () {
  var m = document.querySelector('#d-media video, #d-media img');
  if (!m) return -1;
  var w = m.videoWidth || m.naturalWidth, h = m.videoHeight || m.naturalHeight;
  if (!w || !h) return -1;
  var c = document.createElement('canvas'); c.width = w; c.height = h;
  var g = c.getContext('2d'); g.drawImage(m, 0, 0, w, h);
  var d = g.getImageData(0, 0, w, h).data;
  function red(x, y) { var i = 4 * (y * w + x); return d[i] > 170 && d[i + 1] < 90 && d[i + 2] < 90; }
  var across = 0, down = 0, run, x, y;
  for (y = 0; y < h; y++) { run = 0; for (x = 0; x < w; x++) { run = red(x, y) ? run + 1 : 0; if (run > across) across = run; } }
  for (x = 0; x < w; x++) { run = 0; for (y = 0; y < h; y++) { run = red(x, y) ? run + 1 : 0; if (run > down) down = run; } }
  return Math.min(across, down);
})()"""


@pytest.fixture(scope="module")
def pub_service(tmp_path_factory):
    row = photo_row()
    tmp = tmp_path_factory.mktemp("display-pub")
    video = tmp / "kerb.mp4"
    still_video(CCPD / row["file"], video)
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE, encoding="utf-8")
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, harness.reference_frame(video, tmp / "reference.png"))
        job_id = harness.upload(svc, video)
        with harness.finished_job(svc, job_id, lambda out: _make_run(video, row, out, scene_path)) as done:
            rows = {r.rule: r.id for r in done.rows}
        with svc.client("reviewer") as api:
            # runner "none": each approval makes the case's published media itself, the real
            # redaction of the parked car's clip in over a minute on a busy two-core machine
            api.timeout = 300
            assert api.post(f"/api/cases/{rows['illegal_parking']}/approve").status_code == 200
            with pytest.MonkeyPatch.context() as mp:
                import service.redaction as redaction

                mp.setattr(redaction, "default_finders", lambda: [])
                assert api.post(f"/api/cases/{rows['litter']}/approve").status_code == 200
        svc.extra.update(parked=rows["illegal_parking"], walker=rows["litter"])
        yield svc
    finally:
        svc.stop()


def _reviewer(browser, base: str):
    ctx = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "reviewer")
    page.fill("#password", harness.PASSWORDS["reviewer"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/review$"))
    return ctx, page


def test_preview_publish_pair_show_and_withdraw(browser, pub_service) -> None:
    svc = pub_service
    base, parked, walker = svc.base_url, svc.extra["parked"], svc.extra["walker"]

    # ---- a screen with a token that is not valid says so, and shows no "no cases" ----------------
    bad = browser.new_context(locale="en-US")
    bad.add_cookies([{"name": "cw_display", "value": "cwt_not-a-real-token-000000", "url": base}])
    page = bad.new_page()
    page.goto(f"{base}/display/{harness.SCREEN}")
    page.wait_for_selector("#d-pair:not([hidden])")
    assert page.text_content("#d-pair-title") == "This screen is not authorised"
    assert page.is_hidden("#d-empty") and page.get_attribute("#display", "data-unauthorized") == "401"
    assert page.text_content("#d-status") == "Screen token missing or revoked"
    bad.close()

    # ---- the screen pairs; approved cases are not shown yet ---------------------------------------
    ds = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 900})
    ds.add_init_script("window.CW_DISPLAY_POLL_MS = 500;")  # a poll every half second: "within a poll" sooner
    screen = ds.new_page()
    screen.goto(f"{base}/display/{harness.SCREEN}")
    screen.wait_for_selector("#d-pair:not([hidden])")
    assert screen.text_content("#d-pair-title") == "此屏幕未获授权"
    screen.fill("#d-pair-token", "cwt_wrong-token-0000000000")
    screen.click("#d-pair-submit")
    screen.wait_for_selector("#d-pair-error:not([hidden])")
    screen.fill("#d-pair-token", svc.display_token)
    screen.click("#d-pair-submit")
    screen.wait_for_selector("#d-pair", state="hidden")
    screen.wait_for_selector("#d-empty:not([hidden])")  # both cases approved, none published
    assert screen.evaluate("CW.display.cases().length") == 0
    cookie = next(c for c in ds.cookies() if c["name"] == "cw_display")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert "token" not in screen.url and screen.evaluate("JSON.stringify(localStorage)") == "{}"

    # ---- the reviewer previews exactly what the public will see, then publishes -------------------
    rv, page = _reviewer(browser, base)
    page.select_option("#f-state", "approved")
    page.wait_for_selector(f".queue-item[data-case='{parked}']")
    if page.get_attribute("#case", "data-case") != parked:
        page.click(f".queue-item[data-case='{parked}']")
    page.wait_for_selector(f"#case[data-case='{parked}']")
    assert page.is_visible("#btn-withdraw")  # approved cases can be withdrawn too
    page.click("#btn-publish")
    page.wait_for_selector("#publish-dialog[open]")
    harness.wait_js(page, "document.querySelector('#pp-number').textContent.length > 0")
    # no number yet: publishing gives it, the preview (a GET) does not
    assert page.text_content("#pp-number") == "given when the case is published"
    assert page.text_content("#pp-place") == "Hefei kerb (UI test)"
    assert page.text_content("#pp-offence") == "Parked where stopping is not allowed, for longer than permitted."
    assert page.is_visible("#pp-marker")
    harness.wait_js(page, "document.querySelector('#pp-video') && document.querySelector('#pp-video').readyState >= 2")
    preview_src = page.get_attribute("#pp-video", "src")
    assert re.fullmatch(rf"/api/public/cases/{re.escape(parked)}/media/video\?v=[0-9a-f]{{16}}", preview_src), preview_src
    assert page.is_checked("#pp-all")
    # every screen unticked: said in the dialog, which stays open (the API refuses it: no_screens)
    page.uncheck("#pp-all")
    page.click("#pp-confirm")
    assert page.is_visible("#pp-error") and "at least one screen" in page.text_content("#pp-error")
    assert page.is_visible("#publish-dialog")
    page.check("#pp-all")
    page.click("#pp-confirm")
    page.wait_for_selector("#case[data-state='published'], .toast", timeout=30_000)
    with svc.client("reviewer") as api:
        detail = api.get(f"/api/cases/{parked}").json()
    number = detail["public_number"]
    assert detail["state"] == "published" and NUMBER.match(number), number

    # ---- the screen shows it within a poll: number, place, plain offence, the offender outlined ---
    screen.wait_for_selector(f"#display[data-showing='{number}']", timeout=15_000)
    assert screen.evaluate("CW.display.cases().map(function (c) { return c.number; })") == [number]
    assert screen.text_content("#d-case") == number
    assert screen.text_content("#d-place") == "Hefei kerb (UI test)"
    assert screen.text_content("#d-explain") == "在禁止停车处停车，超过允许时间。"
    assert screen.is_visible("#d-marker")
    body = screen.text_content("#display")
    for internal in (parked, walker, "kerb:", "J1-", "#5", "track"):
        assert internal not in body, internal
    harness.wait_js(screen, RED_OUTLINE + " > 200", timeout=15_000)  # the offender outlined in the media

    # ---- withdrawn from the review page: gone from the screen within a poll -----------------------
    page.goto(f"{base}/review")
    page.select_option("#f-state", "published")
    page.wait_for_selector(f"#case[data-case='{parked}']")
    page.click("#btn-withdraw")
    page.wait_for_selector("#withdraw-dialog[open]")
    page.fill("#withdraw-note", "wrong car")
    page.click("#withdraw-form button[type='submit']")
    started = time.monotonic()
    harness.wait_js(screen, "CW.display.cases().length === 0", timeout=5_000)
    assert time.monotonic() - started < 5.0
    screen.wait_for_selector("#d-empty:not([hidden])")
    with svc.client("reviewer") as api:
        assert api.get(f"/api/cases/{parked}").json()["state"] == "withdrawn"
    rv.close()
    ds.close()


def test_screenshot_of_the_paired_screen_has_no_token_in_any_link(browser, pub_service) -> None:
    svc = pub_service
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/display/{harness.SCREEN}?token={svc.display_token}")  # an old bookmark
    page.wait_for_selector("#d-pair:not([hidden])")  # not honoured: the screen must pair
    assert "token=" not in page.url
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a')).map(function (a) { return a.href; })")
    assert not [h for h in hrefs if "token" in h]
    assert page.evaluate("JSON.stringify(localStorage)") == "{}"
    ctx.close()
    assert Path(svc.data_dir).is_dir()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_paired_screen_on_a_phone_shows_the_clip_at_full_width(browser, pub_service, lang) -> None:
    """The exposure screen at 390 x 844 (a phone, a narrow portrait panel): the published case's
    clip spans the width, above the facts, and nothing is wider than the screen. (The desktop's
    420 px side column was kept: it took the whole width, the clip got none, and the title was set
    one character a line.)"""
    svc = pub_service
    walker = svc.extra["walker"]
    with svc.client("reviewer") as api:
        if api.get(f"/api/cases/{walker}").json()["state"] == "approved":
            deadline = time.monotonic() + 120
            while (r := api.post(f"/api/cases/{walker}/publish", json={})).status_code == 409 \
                    and r.json().get("code") == "not_ready" and time.monotonic() < deadline:
                time.sleep(1)
            assert r.status_code == 200, r.text
        assert api.get(f"/api/cases/{walker}").json()["state"] == "published"
    ctx = browser.new_context(locale=lang, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/display/{harness.SCREEN}")
    page.wait_for_selector("#d-pair:not([hidden])")
    page.fill("#d-pair-token", svc.display_token)
    page.click("#d-pair-submit")
    page.wait_for_selector("#d-media video, #d-media img", state="attached", timeout=60_000)
    harness.wait_js(page, "(m => m && (m.videoWidth || m.naturalWidth) > 0)"
                          "(document.querySelector('#d-media video, #d-media img'))", timeout=60_000)
    page.wait_for_selector("#d-info:not([hidden])")
    media = page.evaluate("(() => { const r = document.querySelector('#d-media video, #d-media img')"
                          ".getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })()")
    info = page.evaluate("document.querySelector('#d-info').getBoundingClientRect().top")
    head = page.evaluate("document.querySelector('.display-head').getBoundingClientRect().height")
    assert media["right"] - media["left"] >= 380, media  # the clip has the screen's width
    assert media["bottom"] - media["top"] >= 180, media
    assert media["bottom"] <= info + 1, (media, info)  # the facts below it, not beside
    assert head < 130, head  # a heading of one or two lines, not one character a line
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    ctx.close()
