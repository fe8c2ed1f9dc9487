"""An exposure screen picks up a new build of its page by itself.

A screen loads its page once and runs for months, so a fix to its script reached the screens in
the street only when someone reloaded each by hand. The feed names the build of the pages served
now; a screen whose page is of another build loads it again, once the service is seen serving
the new page, and once per build. The page comes from the real router, the feed is scripted."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import harness
from service.web import pages
from service.web.build import PAGE_BUILD_HEADER, page_build

pytestmark = pytest.mark.browser

BASE = "http://screen-build.test"
FEED = '{"items": [], "withdrawn": [], "screen": "lobby", "server_time": "2024-05-01T01:00:00+00:00"}'


def _screen(browser, feed_build: dict):  # noqa: ANN001
    """A paired screen on /display/lobby whose feed names ``feed_build["build"]``; returns the page
    and the list of its page loads."""

    def answer(route) -> bool:  # noqa: ANN001
        if urlsplit(route.request.url).path != "/api/public/cases":
            return False
        route.fulfill(status=200, content_type="application/json", body=FEED,
                      headers={PAGE_BUILD_HEADER: feed_build["build"]})
        return True

    page = browser.new_page(locale="en-US")
    loads: list[str] = []
    # The page reports each load itself: reading the build from the test after a "load" event
    # raced the reload, whose navigation destroyed the context the read ran in, and lost a load.
    page.expose_function("cwTestLoaded", lambda build: loads.append(build))
    page.add_init_script(
        "window.CW_DISPLAY_POLL_MS = 200;"
        "addEventListener('DOMContentLoaded', () => window.cwTestLoaded("
        "document.getElementById('display').getAttribute('data-build')));"
    )
    harness.serve_pages(page, BASE, "en-US", answer)
    page.goto(f"{BASE}/display/lobby")
    return page, loads


def _polls(page, n: int) -> None:  # noqa: ANN001
    page.wait_for_timeout(200 * n)


def test_two_builds_behind_one_address_reload_the_screen_once(browser, monkeypatch) -> None:
    """App servers of two builds behind one address (a rolling upgrade, or one server left behind):
    the feed and the page come from either. The screen reloads once, then not again within the
    reload gap, instead of at every other poll."""
    builds = [page_build(), "other-build-0003"]
    turn = {"page": 0, "feed": 0}

    def either(key: str) -> str:
        turn[key] += 1
        # the feed from either server in turn; the page from one server for a check and the
        # reload after it, then from the other
        return builds[turn[key] % 2] if key == "feed" else builds[(turn[key] + 1) // 2 % 2]

    class Alternating(dict):
        def __getitem__(self, key):  # noqa: ANN001, ANN204
            return either("feed")

    page, loads = _screen(browser, Alternating())
    try:
        monkeypatch.setattr(pages, "page_build", lambda: either("page"))
        _polls(page, 15)
        assert len(loads) == 2, loads  # the first load, and one reload
    finally:
        page.close()


def test_a_screen_of_the_build_served_stays(browser) -> None:
    page, loads = _screen(browser, {"build": page_build()})
    try:
        _polls(page, 6)
        assert loads == [page_build()]
    finally:
        page.close()


def test_a_screen_reloads_once_into_the_new_build(browser, monkeypatch) -> None:
    old = page_build()
    feed = {"build": old}
    page, loads = _screen(browser, feed)
    try:
        _polls(page, 3)
        # the service is upgraded: its pages and its feed are of another build
        monkeypatch.setattr(pages, "page_build", lambda: "new-build-0001")
        feed["build"] = "new-build-0001"
        harness.wait_js(page, "document.getElementById('display').getAttribute('data-build') === 'new-build-0001'", timeout=10_000)
        _polls(page, 6)
        assert loads == [old, "new-build-0001"]  # one reload, none after it
    finally:
        page.close()


def test_a_screen_is_not_reloaded_while_the_old_page_is_still_served(browser) -> None:
    """The feed names a new build, but the page still comes back of the old one (a cache in
    between, or app servers mid-upgrade): no reload into it, and none in a loop."""
    page, loads = _screen(browser, {"build": "new-build-0002"})
    try:
        _polls(page, 8)
        assert loads == [page_build()]
    finally:
        page.close()
