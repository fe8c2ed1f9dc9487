"""Server-rendered pages: language choice, the switch, local assets only, safe redirects."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.web import router

PAGES = ["/", "/login", "/upload", "/jobs", "/review", "/cameras", "/cameras/cam-1", "/admin", "/display/lobby"]


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_both_languages(client: TestClient, path: str) -> None:
    zh = client.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert zh.status_code == en.status_code == 200
    assert '<html lang="zh-CN">' in zh.text and '<html lang="en">' in en.text
    assert re.search(r"[\u4e00-\u9fff]", zh.text.split("cw-boot")[0])
    assert "CivicWatch" in en.text
    assert "/lang/en?next=" in zh.text and "/lang/zh-CN?next=" in en.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_other_hosts(client: TestClient, path: str) -> None:
    html = client.get(path).text
    for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        assert url.startswith(("/", "#")), url


def test_language_switch_sets_cookie_and_goes_back(client: TestClient) -> None:
    r = client.get("/lang/en?next=/review%3Fstate%3Dpending", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review?state=pending"
    assert "cw_lang=en" in r.headers["set-cookie"]
    client.cookies.set("cw_lang", "en")
    page = client.get("/review", headers={"Accept-Language": "zh-CN"})
    client.cookies.clear()
    assert '<html lang="en">' in page.text


def test_language_switch_refuses_foreign_redirects_and_languages(client: TestClient) -> None:
    r = client.get("/lang/en?next=//evil.example/x", follow_redirects=False)
    assert r.headers["location"] == "/"
    r = client.get("/lang/en?next=https://evil.example/", follow_redirects=False)
    assert r.headers["location"] == "/"
    assert client.get("/lang/fr", follow_redirects=False).status_code == 404


def test_default_language_is_chinese(client: TestClient) -> None:
    client.cookies.clear()
    assert '<html lang="zh-CN">' in client.get("/login").text


def test_static_files_are_served_and_traversal_is_refused(client: TestClient) -> None:
    r = client.get("/static/js/common.js")
    assert r.status_code == 200 and "CW.t" in r.text
    assert client.get("/static/../pages.py").status_code == 404
    assert client.get("/static/%2e%2e/pages.py").status_code == 404
    assert client.get("/static/js/nope.js").status_code == 404


def test_every_script_and_style_a_page_names_exists(client: TestClient) -> None:
    for path in PAGES:
        for url in re.findall(r"""(?:src|href)=["'](/static/[^"'?]+)""", client.get(path).text):
            assert client.get(url).status_code == 200, url


def test_display_page_carries_its_screen(client: TestClient) -> None:
    assert 'data-screen="lobby"' in client.get("/display/lobby").text
