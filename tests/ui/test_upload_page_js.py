"""The upload page's camera list names each camera's place in the page's language: an English
page listed a drone camera whose scene names its place in both languages with the Chinese one
("hohhot-drone-1 · 呼和浩特路口"), where the camera pages already said "Hohhot junction". The
page is rendered by the real router; the API answer has the cameras API's shape."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import harness
from service.web import router

pytestmark = pytest.mark.browser

BASE = "http://upload-page.test"
CAMERAS = [
    {"camera_id": "hohhot-drone-1", "kind": "drone", "timezone": "Asia/Shanghai", "place": "呼和浩特路口",
     "place_names": {"zh-CN": "呼和浩特路口", "en": "Hohhot junction"}},
    {"camera_id": "gate-2", "kind": "fixed", "timezone": "Asia/Shanghai", "place": "北门", "place_names": None},
]


@pytest.mark.parametrize("lang, drone, fixed", [
    ("en-US", "hohhot-drone-1 · Hohhot junction (Drone)", "gate-2 · 北门"),
    ("zh-CN", "hohhot-drone-1 · 呼和浩特路口 (无人机)", "gate-2 · 北门"),
])
def test_the_camera_list_names_places_in_the_pages_language(browser, lang, drone, fixed) -> None:
    app = FastAPI()
    app.include_router(router)
    app.state.settings = SimpleNamespace(timezone="Asia/Shanghai", default_language="en", max_upload_bytes=0)
    pages = TestClient(app)
    answers = {"/api/me": {"username": "pilot1", "role": "operator", "kind": "user"}, "/api/cameras": CAMERAS,
               "/api/jobs": []}

    def handle(route) -> None:
        path = urlsplit(route.request.url).path
        if path in answers:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(answers[path]))
            return
        r = pages.get(path, headers={"accept-language": lang})
        route.fulfill(status=r.status_code, content_type=r.headers.get("content-type"), body=r.content)

    context = browser.new_context(locale=lang)
    try:
        page = context.new_page()
        page.route(f"{BASE}/**", handle)
        page.goto(f"{BASE}/upload")
        harness.wait_js(page, "document.querySelectorAll('#camera option').length === 3", timeout=10_000)
        names = page.evaluate("Array.from(document.querySelectorAll('#camera option')).map(o => o.textContent)")
        assert names[1:] == [drone, fixed]
    finally:
        context.close()
