"""The drone operator's and the reviewer's pages on a phone (390 x 844 CSS px, an iPhone 12-15):
upload, jobs and review fit the width (no horizontal scrolling) in both languages, and the
controls a person needs there are visible. Against a live service with a real case in the queue
(the real evidence writer on the real Beijing overpass clip)."""

from __future__ import annotations

import re
import shutil

import pytest

import harness
from tests.service.helpers import SCENE_YAML, SHORT_CLIP, make_run

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Elements wider than the viewport, for the failure message (what to fix, not just "too wide").
OVERFLOWING = """() => Array.from(document.querySelectorAll('body *')).filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > 391 || r.left < -1);
}).slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
  ' ' + Math.round(e.getBoundingClientRect().left) + '..' + Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture(scope="module")
def phone_service(tmp_path_factory, footage_dir):
    tmp = tmp_path_factory.mktemp("phone")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE_YAML, encoding="utf-8")
    template = tmp / "run"
    assert len(make_run(footage_dir / SHORT_CLIP, template, scene_path)) == 2
    source = footage_dir / SHORT_CLIP
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, harness.reference_frame(source, tmp / "reference.png"))
        job_id = harness.upload(svc, source, place="西直门立交桥北侧辅路")
        with harness.finished_job(svc, job_id, lambda out: shutil.copytree(template, out)):
            pass
        yield svc
    finally:
        svc.stop()


def _phone_page(browser, svc, role: str, lang: str):  # noqa: ANN001
    ctx = browser.new_context(locale=lang, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                              extra_http_headers={"Accept-Language": lang})
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/(upload|review)$"))
    return ctx, page


def _fits(page, name: str) -> None:  # noqa: ANN001
    page.wait_for_timeout(300)  # fonts and late layout
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: scrollWidth {width} > {PHONE['width']}: {page.evaluate(OVERFLOWING)}"


# Elements that scroll sideways inside the page (a table in an overflow-x card): the page fits, but
# the person still has to swipe sideways to read a row.
SIDEWAYS = """() => Array.from(document.querySelectorAll('body *')).filter(e => {
  const s = getComputedStyle(e); return (s.overflowX === 'auto' || s.overflowX === 'scroll') && e.scrollWidth > e.clientWidth + 1;
}).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + e.scrollWidth + '>' + e.clientWidth)"""


def _no_sideways_scrolling(page, name: str) -> None:  # noqa: ANN001
    _fits(page, name)
    assert page.evaluate(OVERFLOWING) == [], name
    assert page.evaluate(SIDEWAYS) == [], name


def _visible_inside(page, selector: str) -> None:  # noqa: ANN001
    loc = page.locator(selector).first
    loc.scroll_into_view_if_needed()
    assert loc.is_visible(), selector
    box = loc.bounding_box()
    assert box and box["x"] >= -1 and box["x"] + box["width"] <= PHONE["width"] + 1, (selector, box)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_upload_and_jobs_on_a_phone(browser, phone_service, lang):
    ctx, page = _phone_page(browser, phone_service, "operator", lang)
    try:
        page.wait_for_selector("#upload-submit")
        _fits(page, "upload")
        for sel in ("#camera", "#file", "#started_at", "#upload-submit"):
            _visible_inside(page, sel)
        page.goto(f"{phone_service.base_url}/jobs")
        page.wait_for_selector("#jobs-table tr.job-row[data-state='done']")
        page.wait_for_selector("#jobs-table .job-details")  # what was seen, the case links
        # the job as a block of lines, nothing sideways: no column runs off the screen, no swiping
        _no_sideways_scrolling(page, "jobs")
        for sel in (".job-row .job-file", ".job-row .job-state", ".job-row .job-progress", ".job-row .job-cases",
                    ".job-case-link"):
            _visible_inside(page, sel)
        assert page.is_hidden("#jobs-table thead")
        cases = page.text_content(".job-row .job-cases")
        assert page.evaluate("getComputedStyle(document.querySelector('.job-row .job-cases'), '::before').content") == \
            ('"案件数 "' if lang == "zh-CN" else '"Cases "'), cases
        # the upload page's own job list is the same table
        page.goto(f"{phone_service.base_url}/upload")
        page.wait_for_selector("#jobs-table tr.job-row")
        _no_sideways_scrolling(page, "upload with its job list")
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_review_on_a_phone(browser, phone_service, lang):
    ctx, page = _phone_page(browser, phone_service, "reviewer", lang)
    try:
        page.wait_for_selector("#case:not([hidden])")
        _fits(page, "review")
        for sel in ("#queue-list .queue-item", "video", "#btn-approve", "#btn-reject", "#btn-next"):
            _visible_inside(page, sel)
        _fits(page, "review after scrolling")
        # the reject dialog (a reason to pick) fits too
        page.click("#btn-reject")
        _visible_inside(page, "#reject-confirm")
        _fits(page, "review, reject dialog")
    finally:
        ctx.close()
