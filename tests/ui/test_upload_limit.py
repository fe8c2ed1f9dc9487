"""The upload page knows the server's size limit: a file over it is refused before the page hashes
it (a multi-GB flight would take minutes), with a message naming the file's size and the limit,
and no upload session is opened. A 413 from the server that carries the limit names it too."""

from __future__ import annotations

import re

import pytest

import harness

pytestmark = pytest.mark.browser

LIMIT = 64 * 1024          # "64.0 KiB" on the page
OVER = 100 * 1024          # "100.0 KiB"


@pytest.fixture(scope="module")
def small_limit_service(tmp_path_factory, demo_footage):
    tmp = tmp_path_factory.mktemp("civicwatch-upload-limit")
    svc = harness.start_service(tmp / "data", max_upload_bytes=LIMIT)
    try:
        harness.seed(svc, demo_footage.scene, harness.reference_frame(demo_footage.video, tmp / "reference.png"))
        yield svc
    finally:
        svc.stop()


def _open_upload_page(page, svc) -> None:  # noqa: ANN001
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", "operator")
    page.fill("#password", harness.PASSWORDS["operator"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/upload$"))
    page.wait_for_selector(f"#camera option[value='{svc.camera_id}']", state="attached")
    page.select_option("#camera", svc.camera_id)
    # count hashing passes: upload.js looks CWSha256.hashBlob up when it hashes
    page.evaluate("""() => {
        window.__hashes = 0;
        const real = window.CWSha256.hashBlob;
        window.CWSha256.hashBlob = function () { window.__hashes++; return real.apply(this, arguments); };
    }""")


def _session_requests(page) -> list:  # noqa: ANN001
    seen: list = []
    page.on("request", lambda r: seen.append((r.method, r.url)) if "/api/uploads" in r.url and r.method != "GET" else None)
    return seen


def _partial_files(svc) -> list:  # noqa: ANN001
    folder = svc.data_dir / "partial"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_file_over_the_limit_is_refused_before_hashing(browser, small_limit_service) -> None:
    svc = small_limit_service
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    sent = _session_requests(page)
    _open_upload_page(page, svc)
    assert "64.0 KiB" in page.inner_text("#upload-limit")  # the limit is shown before any file is picked

    page.set_input_files("#file", files=[{"name": "flight.mp4", "mimeType": "video/mp4", "buffer": b"\0" * OVER}])
    page.wait_for_selector("#upload-error:not([hidden])")
    picked = page.inner_text("#upload-error")
    assert "100.0 KiB" in picked and "64.0 KiB" in picked and "上限" in picked, picked

    page.click("#upload-submit")
    page.wait_for_timeout(500)  # anything the click would start has had time to begin
    message = page.inner_text("#upload-error")
    assert "100.0 KiB" in message and "64.0 KiB" in message and "上限" in message, message
    assert page.evaluate("window.__hashes") == 0
    assert page.is_hidden("#upload-progress")
    assert not page.is_disabled("#upload-submit")  # the form is not left busy
    assert sent == []
    assert _partial_files(svc) == []

    # a file that fits takes the message back
    page.set_input_files("#file", files=[{"name": "short.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 1024}])
    page.wait_for_selector("#upload-error", state="hidden")
    ctx.close()


def test_a_413_from_the_server_names_its_limit(browser, small_limit_service) -> None:
    """A page rendered before the limit was lowered lets the file through; the server's 413
    carries ``limit_bytes`` and the page names it (in English here)."""
    svc = small_limit_service
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()

    def stale_page(route) -> None:  # noqa: ANN001
        resp = route.fetch()
        html = resp.text()
        assert f'data-max-bytes="{LIMIT}"' in html
        route.fulfill(response=resp, body=html.replace(f'data-max-bytes="{LIMIT}"', 'data-max-bytes="0"'))

    page.route(re.compile(r".*/upload$"), stale_page)
    sent = _session_requests(page)
    _open_upload_page(page, svc)
    page.set_input_files("#file", files=[{"name": "flight.mp4", "mimeType": "video/mp4", "buffer": b"\1" * OVER}])
    assert page.is_hidden("#upload-error")  # the page does not know the limit
    with page.expect_response(lambda r: r.url.endswith("/api/uploads/sessions") and r.request.method == "POST") as answer:
        page.click("#upload-submit")
    assert answer.value.status == 413 and answer.value.json()["limit_bytes"] == LIMIT
    page.wait_for_selector("#upload-error:not([hidden])")
    message = page.inner_text("#upload-error")
    assert "100.0 KiB" in message and "64.0 KiB" in message and "limit" in message, message
    assert page.is_hidden("#upload-resume")  # a refused file cannot be resumed
    assert [m for m, _ in sent] == ["POST"]
    assert _partial_files(svc) == []
    ctx.close()


# Form controls whose box reaches past the right edge of the card that holds the form.
OUTSIDE_CARD = """() => {
  const card = document.querySelector('#upload-form').closest('.card').getBoundingClientRect();
  return Array.from(document.querySelectorAll('#upload-form *')).filter(e => {
    const r = e.getBoundingClientRect(); return r.width > 0 && r.right > card.right + 0.5;
  }).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right)
          + '>' + Math.round(card.right));
}"""


@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
@pytest.mark.parametrize("width", [1024, 1280])
def test_flight_metadata_stays_inside_the_upload_card(browser, small_limit_service, lang, width) -> None:
    """On a desktop the flight metadata (recording start, drone id, pilot, place) sat in two
    columns too narrow for the date-and-time field: the fieldset grew past the card's right edge
    and the drone id box was squeezed to a sliver. Every field now fits inside the card."""
    ctx = browser.new_context(locale=lang, viewport={"width": width, "height": 900})
    page = ctx.new_page()
    _open_upload_page(page, small_limit_service)
    page.wait_for_timeout(300)  # fonts and late layout
    assert page.evaluate(OUTSIDE_CARD) == []
    for field in ("#started_at", "#drone_id", "#pilot", "#place"):
        box = page.locator(field).bounding_box()
        assert box and box["width"] >= 150, (field, box)  # wide enough to read what is typed
    ctx.close()
