"""``/docs`` and ``/redoc`` work with no internet (every request they make goes to the service
itself and the Swagger UI renders the API), and browsers get an HTML 404 page in both languages
while the API keeps its JSON errors. Driven in Debian's Chromium against a live service."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from harness import wait_js

pytestmark = pytest.mark.browser


def _requests_of(page) -> list[str]:  # noqa: ANN001
    seen: list[str] = []
    page.on("request", lambda req: seen.append(req.url))
    return seen


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_swagger_ui_is_served_by_the_app(live_service, browser):
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        seen = _requests_of(page)
        failed: list[str] = []
        page.on("requestfailed", lambda req: failed.append(req.url))
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        page.goto(live_service.base_url + "/docs")
        wait_js(page, "!!document.querySelector('.swagger-ui .info .title')")
        assert "CivicWatch review service" in page.inner_text(".swagger-ui .info .title")
        wait_js(page, "document.querySelectorAll('.opblock').length > 20")  # the operations rendered
        assert not page.locator(".swagger-ui .errors-wrapper").count()
        html = page.content()
        assert "cdn.jsdelivr" not in html and "unpkg" not in html
        assert {_origin(u) for u in seen if not u.startswith(("data:", "blob:"))} == {live_service.base_url}
        assert any(u.endswith("/docs-assets/swagger-ui-bundle.js") for u in seen)
        assert any(u.endswith("/openapi.json") for u in seen)
        assert failed == []
    finally:
        ctx.close()


def test_redoc_leads_to_the_offline_docs(live_service):
    """ReDoc's bundle fetches its vendor's logo from a CDN: /redoc sends old links to /docs instead."""
    r = httpx.get(live_service.base_url + "/redoc", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/docs"


def test_docs_assets_come_from_the_app(live_service):
    """The /docs HTML names only same-origin paths, and each of them loads from the service."""
    import re

    html = httpx.get(live_service.base_url + "/docs").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)|url: *["']([^"']+)""", html)
    urls = [a or b for a, b in urls]
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    for u in urls:
        r = httpx.get(live_service.base_url + u)
        assert r.status_code == 200 and len(r.content) > 100, u


@pytest.mark.parametrize("lang,title,other", [("zh-CN", "页面不存在", "Page not found"),
                                              ("en", "Page not found", "页面不存在")])
def test_html_404_for_browsers(live_service, browser, lang, title, other):
    ctx = browser.new_context(locale=lang, extra_http_headers={"Accept-Language": lang})
    try:
        page = ctx.new_page()
        resp = page.goto(live_service.base_url + "/no/such/page?x=1")
        assert resp.status == 404 and resp.headers["content-type"].startswith("text/html")
        assert page.url == live_service.base_url + "/no/such/page?x=1"  # no redirect to the login page
        assert page.locator("html").get_attribute("lang") == lang
        assert page.inner_text("#notfound h1") == title
        assert other in page.inner_text("#notfound-other")
        assert "/no/such/page" in page.inner_text("#notfound")
        assert page.locator("#notfound-home").is_visible()
        page.click("#notfound-home")
        page.wait_for_url(lambda url: "/no/such/page" not in url)
    finally:
        ctx.close()


def test_api_paths_keep_json_errors(live_service):
    with httpx.Client(base_url=live_service.base_url) as c:
        for path in ("/api/no-such-thing", "/api/cases/none/evidence/clip/extra"):
            r = c.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
            assert r.status_code in (401, 404) and r.headers["content-type"].startswith("application/json"), path
            assert "code" in r.json()
        r = c.get("/no/such/page", headers={"Accept": "application/json"})
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = c.get("/no/such/page", headers={"Accept": "text/html"})
        assert r.status_code == 404 and "<html" in r.text and "Page not found" in r.text and "页面不存在" in r.text
        assert c.post("/no/such/page", headers={"Accept": "text/html"}).headers["content-type"].startswith("application/json")
