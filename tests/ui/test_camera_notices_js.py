"""A camera save's warnings are said in the page's language (``CW.cameraNotices``, common.js): the
API gives each with a code and its values (``notices``), and the camera pages toast the
catalogue's sentence; before, a Chinese page toasted the server's English sentence."""

from __future__ import annotations


import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://notices.test"
SIZE = {"code": "reference_size", "text": "reference image is 480x270 but the scene's frame_size is 960x540; "
                                          "zones are drawn in frame_size pixels",
        "params": {"width": 480, "height": 270, "frame_width": 960, "frame_height": 540}}


@pytest.fixture(scope="module", params=["en-US", "zh-CN"])
def page(browser, request):
    context = browser.new_context(locale=request.param)
    p = context.new_page()
    harness.serve_pages(p, BASE, request.param)
    p.goto(f"{BASE}/login")
    harness.wait_js(p, "!!(window.CW && CW.cameraNotices && document.getElementById('toast'))", timeout=10_000)
    yield p
    context.close()


def _toasted(page, notice: dict) -> str:
    return page.evaluate("(n) => { CW.cameraNotices({notices: [n]}); return document.getElementById('toast').textContent; }",
                         notice)


def test_the_reference_size_warning_is_said_in_the_pages_language(page) -> None:
    said = _toasted(page, SIZE)
    assert "480x270" in said and "960x540" in said
    if page.evaluate("CW.lang") == "zh-CN":
        assert "参考图" in said and "frame_size is" not in said
    else:
        assert said.startswith("The reference image is 480x270")


def test_a_notice_the_page_has_no_sentence_for_keeps_the_apis_words(page) -> None:
    assert _toasted(page, {"code": "something_new", "text": "a new warning", "params": {}}) == "a new warning"
