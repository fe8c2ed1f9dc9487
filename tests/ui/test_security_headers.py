"""In a real browser: the pages run under the Content-Security-Policy without a single violation,
and a foreign page cannot frame the review page (the clickjacking the security review showed)."""

from __future__ import annotations

import harness

PAGES = ["/admin", "/cameras", "/jobs", "/upload", "/review"]


def test_pages_work_under_the_csp_and_refuse_framing(browser, live_service) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" or "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_service.base_url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", harness.ADMIN_PASSWORD)
    page.click("#login-submit")  # a fetch POST: the browser's own Origin passes the cross-site check
    page.wait_for_url(lambda url: "/login" not in url)
    for path in PAGES:
        page.goto(live_service.base_url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof CW.t === 'function' && CW.lang.length > 0"), path  # boot data read
        assert page.locator("#whoami-name").inner_text() == "admin", path  # the page's scripts ran
    page.goto(live_service.base_url + "/")  # the start page's script (a file now) sends admin on
    harness.wait_js(page, "location.pathname !== '/'")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

    # framing from another origin: the frame stays empty, the review page never renders inside it
    page.goto("about:blank")
    page.set_content(f'<iframe id="f" src="{live_service.base_url}/review" width="800" height="600"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.locator("#mainnav").count() == 0
    context.close()
