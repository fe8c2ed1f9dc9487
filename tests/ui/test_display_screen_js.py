"""The exposure screen's script against a scripted feed (no service behind it): the real page and
its scripts come from the pages router, the feed and the media from the test, so what the screen
does at one poll is checked without waiting for redaction or a reviewer.

- A case that leaves the feed (withdrawn) leaves the stage at that poll, not when its turn on
  the stage (8 s for a still, up to 30 s for a clip) would have ended.
- The clock shows the installation's time zone (the ``timezone`` setting), not always Shanghai's.
- Cases no poll has confirmed for ``screen_offline_max_s`` leave the screen for a neutral notice.
- A record without a zone shows the offence's local time as the case wrote it, not Shanghai's.
- Media made again under the same number (their URL's ``?v=`` changes) replace the ones in memory.
- A clip still coming in is not asked for again at every poll.
- A wall clock set back does not keep unconfirmed cases on show.
- An answer that is not the feed (a proxy's JSON with 200) is a failed poll, never "online".
- A poll hung on a dead connection is given up, and the next one goes.
- An answer overtaken by a newer poll (pairing starts one) is dropped.
- A screen no longer authorised forgets everything it held, the media in memory too.
- Its polls and media downloads ask to be served as the screen it is paired as.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

import harness


pytestmark = pytest.mark.browser

BASE = "http://screen.test"
NUMBER = "20240501-0001"
# a 1x1 PNG: the screen only needs something its <img> can show
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
RECORD = {
    "number": NUMBER, "rule": "red_light_pedestrian", "object_class": "person", "place": "test place",
    "place_names": None, "zone_names": None, "start_time": "2024-05-01T00:00:00.800000+00:00",
    "start_time_local": "2024-05-01T08:00:00.800+08:00", "timezone": "Asia/Shanghai",
    "published_at": "2024-05-01T01:00:00+00:00", "offender_marked": True,
    "media": {"video": None, "image": f"/api/public/cases/{NUMBER}/media/image", "sheet": None},
}


def _screen(browser, zone: str, record: dict = RECORD, media=None, init: str = "",  # noqa: ANN001
            clock_at: float | None = None, **settings):
    """A page on /display/lobby whose feed is ``feed["items"]`` (change it to change the next poll;
    ``feed["down"] = True``: the network is lost, every request fails). ``media(route)`` answers
    the media requests where given (else a 1x1 PNG); ``init`` runs in the page before its scripts;
    ``clock_at`` (epoch seconds) gives the page a fake clock paused at that time, moved only by
    ``page.clock.run_for``."""
    feed = {"items": [record], "screen": "lobby", "server_time": "2024-05-01T01:00:00+00:00"}

    def answer(route) -> bool:
        path = urlsplit(route.request.url).path
        if path.startswith("/api/public/cases"):  # what the page asked, with its headers, for the tests
            feed.setdefault("seen", []).append((path, route.request.headers))
        if feed.get("down") and path.startswith("/api/"):
            route.abort("internetdisconnected")
        elif feed.get("hold") is not None and path == "/api/public/cases":
            feed["hold"].append(route)  # answered by the test, later
        elif feed.get("revoked") and path == "/api/public/cases":
            harness.fulfil_json(route, {"detail": "invalid or revoked API token"}, status=401)
        elif path == "/api/public/pair":
            harness.fulfil_json(route, {"screen": "lobby", "name": "lobby screen"})
        elif feed.get("hang") and path == "/api/public/cases":
            feed["held"] = feed.get("held", 0) + 1  # never answered: a dead connection
        elif path == "/api/public/cases" and "answer" in feed:
            harness.fulfil_json(route, feed["answer"])  # something that is not the feed
        elif path == "/api/public/cases":
            harness.fulfil_json(route, {k: v for k, v in feed.items() if k not in ("down", "seen")})
        elif path.startswith("/api/public/cases/") and media is not None:
            media(route)
        elif path.startswith("/api/public/cases/"):
            route.fulfill(status=200, content_type="image/png", body=PIXEL)
        else:
            return False
        return True

    page = browser.new_page(locale="en-US")
    if clock_at is not None:
        page.clock.install(time=clock_at - 1)
        page.clock.pause_at(clock_at)
    page.add_init_script("window.CW_DISPLAY_POLL_MS = 300;" + init)
    harness.serve_pages(page, BASE, "en-US", answer, timezone=zone, **settings)
    page.goto(f"{BASE}/display/lobby")
    return page, feed


def test_a_withdrawn_case_leaves_the_stage_at_the_poll(browser) -> None:
    page, feed = _screen(browser, "Asia/Shanghai")
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        feed["items"] = []  # withdrawn: the next poll no longer lists it
        page.wait_for_function("CW.display.cases().length === 0", timeout=5_000)
        # the same poll took its picture off (the still's turn would have lasted 8 s)
        assert page.evaluate("document.querySelectorAll('#d-media img, #d-media video').length") == 0
        assert page.is_visible("#d-empty") and not page.is_visible("#d-info")
    finally:
        page.close()


def test_the_clock_shows_the_installations_time_zone(browser) -> None:
    page, _ = _screen(browser, "America/New_York")
    try:
        # the clock ticks every second: within a few it reads New York's time
        page.wait_for_function("document.getElementById('d-clock').textContent === "
                               "CW.formatTime(new Date(), 'America/New_York')", timeout=5_000)
        shanghai = page.evaluate("CW.formatTime(new Date(), 'Asia/Shanghai')")
        assert page.text_content("#d-clock") != shanghai
    finally:
        page.close()


def test_the_clock_shows_the_current_second(browser) -> None:
    """The clock ticks as each second begins. Ticking every 1 s from a start mid-second, it showed
    the last second for most of every second (here: started at .5 s, read at .2 s of a later
    second)."""
    start = 1_714_521_600.5  # 2024-05-01 00:00:00.5 UTC
    page, _ = _screen(browser, "Asia/Shanghai", clock_at=start)
    try:
        page.wait_for_function("document.getElementById('d-clock').textContent !== ''", timeout=10_000)
        for _ in range(3):
            page.clock.run_for(700)  # to .2 s of the next second, then .9, then .6 of the one after
            now = page.evaluate("Date.now()")
            expected = page.evaluate("CW.formatTime(new Date(), 'Asia/Shanghai')")
            assert page.text_content("#d-clock") == expected, now
    finally:
        page.close()


def test_cases_no_poll_confirms_leave_the_screen_for_a_notice(browser) -> None:
    """The network lost, the screen kept its cached cases on show for good, a case withdrawn
    meanwhile included. After ``screen_offline_max_s`` without a poll answering it shows a neutral
    notice instead, and the cases again once the service answers."""
    page, feed = _screen(browser, "Asia/Shanghai", screen_offline_max_s=2)
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        assert not page.is_visible("#d-notice")
        feed["down"] = True
        page.wait_for_function("document.getElementById('d-status').textContent.indexOf('Offline') === 0",
                               timeout=5_000)
        assert page.evaluate("CW.display.cases().length") == 1  # a short outage: still shown
        page.wait_for_selector("#d-notice", state="visible", timeout=10_000)
        assert page.evaluate("CW.display.cases().length") == 0
        assert page.evaluate("document.querySelectorAll('#d-media img, #d-media video').length") == 0
        assert not page.is_visible("#d-info") and not page.is_visible("#d-empty")
        assert page.text_content("#d-notice").startswith("This screen cannot reach the service")
        assert NUMBER not in page.text_content("#display")
        assert page.text_content("#d-status") == "Offline – no cases shown"
        feed["down"] = False  # back: the poll confirms the case and it is shown again
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        assert not page.is_visible("#d-notice") and page.is_visible("#d-info")
    finally:
        page.close()


@pytest.mark.parametrize("answer", [{"items": [None]}, {"items": [{"rule": "x"}]}, {"detail": "ok"}, []])
def test_an_answer_that_is_no_feed_confirms_nothing(browser, answer) -> None:
    """A 200 JSON answer of another shape (a proxy's, a captive portal's) counted as a poll that
    confirmed the cases: the screen said "online" and, where the answer broke the script after
    that, kept its cases on show for good. It is now a failed poll: offline, then the notice."""
    page, feed = _screen(browser, "Asia/Shanghai", screen_offline_max_s=2)
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        feed["answer"] = answer
        page.wait_for_function("document.getElementById('d-status').textContent.indexOf('Offline') === 0",
                               timeout=5_000)
        page.wait_for_selector("#d-notice", state="visible", timeout=10_000)
        assert page.evaluate("CW.display.cases().length") == 0
        del feed["answer"]  # the feed again: the case is back
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
    finally:
        page.close()


def test_a_poll_hung_on_a_dead_connection_is_given_up(browser) -> None:
    """A poll whose answer never comes (the network dropped without closing the connection) held
    back every later poll until the browser's network stack gave up on it, minutes or hours after
    the network was back. It is given up after a while, counted as failed, and the next poll goes."""
    page, feed = _screen(browser, "Asia/Shanghai", init="window.CW_DISPLAY_POLL_TIMEOUT_MS = 1000;")
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        feed["hang"] = True
        page.wait_for_function("document.getElementById('d-status').textContent.indexOf('Offline') === 0",
                               timeout=5_000)
        feed["hang"] = False  # the network is back
        page.wait_for_function("document.getElementById('d-status').textContent.indexOf('Offline') !== 0",
                               timeout=5_000)
        assert feed["held"] >= 1
    finally:
        page.close()


def test_an_answer_overtaken_by_a_newer_poll_is_dropped(browser) -> None:
    """Pairing starts a poll while the timer's may be under way. The older one's answer, coming in
    last, put back a case the newer answer had taken off (withdrawn meanwhile)."""
    page, feed = _screen(browser, "Asia/Shanghai")
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        feed["hold"] = held = []
        for _ in range(50):  # the timer's poll, under way
            if held:
                break
            page.wait_for_timeout(50)
        page.evaluate("document.getElementById('d-pair-token').value = 'cwt_' + 'x'.repeat(40);"
                      "document.getElementById('d-pair').requestSubmit()")  # pairing: a poll of its own
        for _ in range(50):
            if len(held) >= 2:
                break
            page.wait_for_timeout(50)
        older, newer = held[0], held[1]  # later polls stay held: only these two answer
        harness.fulfil_json(newer, {"items": [], "withdrawn": [], "screen": "lobby", "server_time": "x"})
        page.wait_for_function("CW.display.cases().length === 0", timeout=5_000)
        harness.fulfil_json(older, {"items": [RECORD], "withdrawn": [], "screen": "lobby", "server_time": "x"})
        page.wait_for_timeout(500)
        assert page.evaluate("CW.display.cases().length") == 0  # the withdrawn case stays off
    finally:
        page.close()


def test_a_screen_no_longer_authorised_forgets_everything_it_held(browser) -> None:
    """Its token revoked, the screen took the case off the stage and showed the pairing form, but
    kept the case's media in memory until a poll answered again."""
    page, feed = _screen(browser, "Asia/Shanghai")
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        assert page.evaluate("CW.display.media().length") == 1
        feed["revoked"] = True
        page.wait_for_selector("#d-pair", state="visible", timeout=5_000)
        assert page.evaluate("CW.display.cases().length") == 0
        assert page.evaluate("CW.display.media().length") == 0
        assert page.get_attribute("#display", "data-showing") is None
        assert NUMBER not in page.text_content("#display")
    finally:
        page.close()


def test_a_record_without_a_zone_shows_the_time_the_case_wrote(browser) -> None:
    """With no ``timezone`` in the record the screen wrote the offence's time in Shanghai's zone,
    three hours off for a camera at UTC+05:00; the case's own local time is shown instead."""
    record = {**RECORD, "timezone": None, "start_time_local": "2024-05-01T05:00:00.800+05:00"}
    page, _ = _screen(browser, "Asia/Shanghai", record)
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}']", timeout=10_000)
        assert page.text_content("#d-time") == "2024-05-01 05:00:00"
    finally:
        page.close()


def test_media_made_again_under_the_same_number_replace_the_old_ones(browser) -> None:
    """A published case's media made again (the installation changed its redaction policy) keep
    the case's number. The screen kept the media it had fetched by number, so one that had not
    polled while the case was off the feed showed the old, perhaps unblurred, media for good; the
    feed's URLs now name the files' version, and a new URL is fetched and shown at that poll."""
    old_url, new_url = RECORD["media"]["image"] + "?v=0001", RECORD["media"]["image"] + "?v=0002"
    remade = cv2.imencode(".png", np.full((2, 2, 3), 255, np.uint8))[1].tobytes()  # 2x2: told apart by size
    asked = []

    def media(route) -> None:  # noqa: ANN001
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=remade if route.request.url.endswith(new_url) else PIXEL)

    record = {**RECORD, "media": {**RECORD["media"], "image": old_url}}
    page, feed = _screen(browser, "Asia/Shanghai", record, media=media)
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        assert page.evaluate("document.querySelector('#d-media img').naturalWidth") == 1
        feed["items"] = [{**RECORD, "media": {**RECORD["media"], "image": new_url}, "place": "renamed place"}]
        # at that poll, not at the still's next turn (8 s)
        page.wait_for_function("document.querySelector('#d-media img') && "
                               "document.querySelector('#d-media img').naturalWidth === 2", timeout=5_000)
        assert [u for u in asked if u.endswith(new_url)] and page.evaluate("CW.display.cases()[0].place") == "renamed place"
        assert page.text_content("#d-place") == "renamed place"
    finally:
        page.close()


def test_a_clip_still_coming_in_is_not_asked_for_again_at_every_poll(browser) -> None:
    """On a link too slow to bring a clip within a poll (10 s), every poll and every turn on the
    stage started another download of each clip not yet in, so the downloads multiplied and shared
    the link until none came in. A clip is asked for once; the screen shows it when it is in."""
    held = []

    def media(route) -> None:  # noqa: ANN001 - not answered yet: a download still under way
        held.append(route)

    page, feed = _screen(browser, "Asia/Shanghai", media=media)
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] .display-loading", timeout=10_000)
        page.wait_for_timeout(2_000)  # six polls at 300 ms
        assert len(held) == 1, [r.request.url for r in held]
        for route in held:
            route.fulfill(status=200, content_type="image/png", body=PIXEL)
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
    finally:
        page.close()


# Date.now() as a screen whose wall clock is set back by window.CW_CLOCK_SHIFT ms
SHIFTED_CLOCK = ("(function () { var now = Date.now.bind(Date); window.CW_CLOCK_SHIFT = 0;"
                 " Date.now = function () { return now() + window.CW_CLOCK_SHIFT; }; })();")


def test_a_clock_set_back_does_not_keep_unconfirmed_cases_on_show(browser) -> None:
    """The screen timed "no poll has confirmed the cases" by the wall clock: set back a day (a clock
    corrected by NTP, by hand) while the network was down, it showed the cases, a withdrawn one
    included, for that day. The monotonic clock counts too."""
    page, feed = _screen(browser, "Asia/Shanghai", init=SHIFTED_CLOCK, screen_offline_max_s=2)
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        feed["down"] = True
        page.wait_for_function("document.getElementById('d-status').textContent.indexOf('Offline') === 0",
                               timeout=5_000)
        page.evaluate("window.CW_CLOCK_SHIFT = -86400000")  # the clock set back a day
        page.wait_for_selector("#d-notice", state="visible", timeout=10_000)
        assert page.evaluate("CW.display.cases().length") == 0
    finally:
        page.close()


MEASURE = """(function () {
  var px = function (sel) { return parseFloat(getComputedStyle(document.querySelector(sel)).fontSize); };
  return {rule: px('#d-rule'), facts: px('#d-place'), explain: px('#d-explain'), foot: px('.display-foot'),
          info: document.getElementById('d-info').getBoundingClientRect().width,
          width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth};
})()"""


@pytest.mark.parametrize("width, height, scale", [(1920, 1080, 1.0), (3840, 2160, 2.0), (3840, 1080, 1.0)])
def test_a_big_panel_gets_the_layout_in_proportion(browser, width, height, scale) -> None:
    """A 4K panel at device pixel ratio 1 (as signage players run it): the offence, the facts and
    the side column grow with the panel, as a 1080p screen has them, and nothing overflows. (In
    fixed pixels the facts took a ninth of the width in letters half as tall as on 1080p.) A
    panel only wider than 1080p is not taller: the letters follow the smaller side."""
    page, _ = _screen(browser, "Asia/Shanghai")
    try:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        got = page.evaluate(MEASURE)
        assert got["rule"] == pytest.approx(34 * scale, abs=0.5)
        assert got["facts"] == pytest.approx(20 * scale, abs=0.5)
        assert got["explain"] == pytest.approx(17 * scale, abs=0.5)
        assert got["foot"] == pytest.approx(15 * scale, abs=0.5)
        assert got["info"] == pytest.approx(420 * scale, abs=1)
        assert got["scroll"] <= got["width"]
    finally:
        page.close()


def test_polls_and_media_ask_to_be_served_as_the_paired_screen(browser) -> None:
    """With a reviewer's sign-in left in the kiosk's browser, the service served the screen as that
    reviewer (every screen's cases). The page's requests carry ``X-CivicWatch-Screen-Page`` so the
    service answers as its pairing (tests/service/test_publication.py checks the answers)."""
    from service.security import SCREEN_PAGE_HEADER

    # The requests are read where the test's routes answer them, not by a page.on("request")
    # listener beside the routes: with one, a CI run under load timed out waiting for the first
    # case with a route handler of the page left pending (not reproduced since; one callback
    # fewer between the page and its routes).
    page, feed = _screen(browser, "Asia/Shanghai")
    try:
        page.wait_for_selector(f"#display[data-showing='{NUMBER}'] #d-media img", timeout=10_000)
        feed["seen"] = []
        # media made again (a new ?v=): downloaded anew, now that the requests are watched
        image = f"/api/public/cases/{NUMBER}/media/image?v=again"
        feed["items"] = [{**RECORD, "media": {**RECORD["media"], "image": image}}]
        page.wait_for_function("[...document.querySelectorAll('#d-media img')].length === 1 && "
                               f"CW.display.cases()[0].media.image === {image!r}", timeout=5_000)
        page.wait_for_timeout(700)  # a poll or two more
        seen = [(path, headers.get(SCREEN_PAGE_HEADER.lower())) for path, headers in feed["seen"]]
        paths = {path for path, _ in seen}
        assert "/api/public/cases" in paths and f"/api/public/cases/{NUMBER}/media/image" in paths, seen
        assert all(value == "1" for _, value in seen), seen
    finally:
        page.close()
