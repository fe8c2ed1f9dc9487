"""The operations engineer edits a camera in a real browser (issue 8): a scene with mistakes is
refused with each problem shown under the editor by its field path, in the page language; the
fixed scene is saved as version 2; then the camera is retired (no more uploads, hidden from the
default list, shown with "show retired")."""

from __future__ import annotations

import harness
import pytest

pytestmark = pytest.mark.browser


def _login(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


def _errors(page) -> dict[str, str]:
    items = page.locator("#scene-errors li.field-error")
    return {items.nth(i).get_attribute("data-field"): items.nth(i).inner_text() for i in range(items.count())}


def test_edit_scene_with_field_errors_then_version_2_then_retire(browser, live_service, demo_footage) -> None:
    base, cam = live_service.base_url, live_service.camera_id
    original = demo_footage.scene.read_text(encoding="utf-8")
    assert "min_static_s: 6.0" in original and "max_stop_s: 10.0" in original
    bad = (original.replace("min_static_s: 6.0", "min_static_s: -1")
           .replace("  polygon:\n  - [0, 300]\n  - [640, 300]\n  - [640, 335]\n  - [0, 335]\n", "  polygon:\n  - [0, 300]\n  - [640, 300]\n"))
    assert bad.count("min_static_s: -1") == 1 and "- [640, 335]\n  - [0, 335]" not in bad
    page = browser.new_page(locale="zh-CN")
    page.on("dialog", lambda d: d.accept())
    try:
        _login(page, base, "reviewer")
        page.goto(f"{base}/cameras/{cam}")
        harness.wait_js(page, "document.getElementById('scene-text').value.indexOf('camera: demo-crossing-01') >= 0")
        assert page.locator("#cam-version").inner_text() == "场景版本 1"

        page.fill("#scene-text", bad)
        page.click("#scene-save")
        page.locator("#scene-errors li.field-error").first.wait_for()
        errors = _errors(page)
        assert set(errors) == {"zones[1].polygon", "zones[3].min_static_s"}, errors
        assert "必须大于 0" in errors["zones[3].min_static_s"]  # the kind of problem, translated
        assert "zones[1].polygon" in errors["zones[1].polygon"] and "3 points" in errors["zones[1].polygon"]
        assert "2 处问题" in page.locator("#scene-errors-title").inner_text()
        assert page.locator("#cam-version").inner_text() == "场景版本 1"  # nothing was saved
        assert page.locator("#cam-versions tr").count() == 1

        # the same problems in English once the page is switched
        page.goto(f"{base}/lang/en?next=/cameras/{cam}")
        harness.wait_js(page, "document.getElementById('scene-text').value.indexOf('camera: demo-crossing-01') >= 0")
        page.fill("#scene-text", bad)
        page.click("#scene-check")
        page.locator("#scene-errors li.field-error").first.wait_for()
        assert "must be greater than 0" in _errors(page)["zones[3].min_static_s"]
        assert "2 problem(s)" in page.locator("#scene-errors-title").inner_text()

        fixed = original.replace("max_stop_s: 10.0", "max_stop_s: 12.0")
        page.fill("#scene-text", fixed)
        page.fill("#scene-note", "longer stop allowed at the bus stop")
        page.click("#scene-save")
        harness.wait_js(page, "document.getElementById('cam-version').textContent === 'Scene version 2'")
        assert page.locator("#scene-errors-box").is_hidden()
        assert "Saved as scene version 2" in page.locator("#scene-ok").inner_text()
        assert page.locator("#cam-versions tr").count() == 2
        assert page.locator("#cam-versions tr.current").get_attribute("data-version") == "2"
        assert "longer stop allowed" in page.locator("#cam-versions tr.current").inner_text()
        assert "max. stop 12 s" in page.locator("#cam-zones").inner_text()

        page.fill("#retire-reason", "pole taken down")
        page.click("#retire-btn")
        page.locator("#cam-retired").wait_for(state="visible")
        assert "pole taken down" in page.locator("#cam-retired").inner_text()
        assert page.locator("#unretire-btn").is_visible() and page.locator("#retire-form").is_hidden()

        page.goto(f"{base}/cameras")
        harness.wait_js(page, "!document.querySelector('#camera-grid .muted') || document.querySelector('#camera-grid').textContent.indexOf('No cameras') >= 0")
        assert page.locator(f'.camera-card[data-camera="{cam}"]').count() == 0
        page.check("#show-retired")
        card = page.locator(f'.camera-card[data-camera="{cam}"]')
        card.wait_for()
        assert "Retired" in card.inner_text()
    finally:
        page.close()

    with live_service.client("operator") as op:
        r = op.post("/api/uploads", data={"camera": cam},
                    files={"file": ("demo.mp4", demo_footage.video.read_bytes(), "video/mp4")})
        assert r.status_code == 409 and r.json()["code"] == "camera_retired"
        assert [c["camera_id"] for c in op.get("/api/cameras").json()] == []
    with live_service.client("admin") as admin:
        log = admin.get("/api/audit", params={"object_type": "camera"}).json()["items"]
        assert {"camera.create", "camera.update", "camera.retire"} <= {e["action"] for e in log}
