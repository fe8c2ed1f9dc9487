"""The operations engineer draws zones in a real browser (issue 8): on the camera page's zone
editor, over the reference frame shown larger than the scene's 640x360 frame, a new no-parking
zone is outlined with mouse clicks, a vertex of an existing zone is dragged, a lane's direction
is drawn, a stray point is removed with the Delete key and a half-drawn outline is dropped with
Esc; the save makes scene version 2 whose document, read back through the API, has every point
at the scene coordinates clicked (within 2 px). An outline of two points is refused with the
field error under the editor, outlined in the drawing, and nothing is saved. The YAML box
follows the drawing, and the drawing follows the YAML box."""

from __future__ import annotations

import harness
import pytest
import yaml

pytestmark = pytest.mark.browser

FRAME_W, FRAME_H = 640, 360


def _login(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


class Canvas:
    """Scene pixels to screen pixels on the editor's picture, from where the page really drew it
    (measured again before each gesture: clicking buttons elsewhere scrolls the page)."""

    def __init__(self, page) -> None:
        self.page = page
        self.box = self.measure()

    def measure(self) -> dict:
        self.page.evaluate(
            "document.querySelector('#ze-canvas svg').scrollIntoView({block: 'center'})"
        )
        self.box = self.page.locator("#ze-canvas svg").bounding_box()
        return self.box

    def at(self, x: float, y: float) -> tuple[float, float]:
        return (
            self.box["x"] + x * self.box["width"] / FRAME_W,
            self.box["y"] + y * self.box["height"] / FRAME_H,
        )

    def click(self, x: float, y: float) -> None:
        self.measure()
        self.page.mouse.click(*self.at(x, y))

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        self.measure()
        self.page.mouse.move(*self.at(*start))
        self.page.mouse.down()
        self.page.mouse.move(*self.at(*end), steps=6)
        self.page.mouse.up()


def _document(page) -> dict:
    """The YAML box as the server's YAML reader sees it."""
    return yaml.safe_load(page.locator("#scene-text").input_value())


def _zone(doc: dict, name: str) -> dict:
    return next(z for z in doc["zones"] if z["name"] == name)


def _close(points, expected, tol: float = 2.0) -> bool:
    return len(points) == len(expected) and all(
        abs(p[0] - e[0]) <= tol and abs(p[1] - e[1]) <= tol
        for p, e in zip(points, expected)
    )


def _draw_zone(page, canvas: Canvas, kind: str, name: str, points, close: str) -> None:
    page.select_option("#ze-new-kind", kind)
    page.fill("#ze-new-name", name)
    page.click("#ze-draw-zone")
    for x, y in points:
        canvas.click(x, y)
    if close == "first":
        canvas.click(*points[0])
    else:
        page.keyboard.press("Enter")


def test_draw_drag_and_save_zones_on_the_reference_frame(browser, live_service) -> None:
    base, cam = live_service.base_url, live_service.camera_id
    page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _login(page, base, "reviewer")
        page.goto(f"{base}/cameras/{cam}")
        harness.wait_js(
            page, "document.querySelectorAll('#ze-canvas .ze-zone').length === 4"
        )
        original = _document(page)
        canvas = Canvas(page)
        # the reference is shown scaled: a scene pixel is not a screen pixel
        assert canvas.box["width"] > FRAME_W * 1.2, canvas.box
        assert (
            abs(canvas.box["height"] / canvas.box["width"] - FRAME_H / FRAME_W) < 0.01
        )
        # existing zones by display label, the signal's box, the lane's arrow
        labels = page.locator("#ze-canvas text.ze-label").all_text_contents()
        assert {
            "main crossing",
            "bike lane",
            "no parking by the bus stop",
            "plaza",
            "ped_main",
        } <= set(labels)
        assert page.locator("#ze-canvas rect.ze-roi").count() == 1
        assert page.locator("#ze-canvas line.ze-direction").count() == 1

        # an outline of two points: the server's field error under the editor, the zone outlined, no save
        _draw_zone(
            page,
            canvas,
            "no_parking",
            "kerb_tiny",
            [(40, 220), (120, 240)],
            close="enter",
        )
        assert _zone(_document(page), "kerb_tiny")["polygon"] == [[40, 220], [120, 240]]
        page.click("#scene-save")
        page.locator("#scene-errors li.field-error").first.wait_for()
        fields = page.locator("#scene-errors li.field-error")
        assert [
            fields.nth(i).get_attribute("data-field") for i in range(fields.count())
        ] == ["zones[4].polygon"]
        assert "3 points" in fields.first.inner_text()
        assert "ze-bad" in page.locator('#ze-list button[data-zone="4"]').get_attribute(
            "class"
        )
        assert page.locator("#ze-canvas .ze-zone.ze-bad").count() == 1
        assert page.locator("#cam-version").inner_text() == "Scene version 1"
        assert page.locator("#cam-versions tr").count() == 1
        with live_service.client("reviewer") as api:
            assert api.get(f"/api/cameras/{cam}").json()["scene_version"] == 1
        # delete that zone from the list
        page.click('#ze-list button[data-zone="4"]')
        page.click("#ze-del-item")
        assert [z["name"] for z in _document(page)["zones"]] == [
            z["name"] for z in original["zones"]
        ]

        # Esc drops a half-drawn outline: the document does not change
        before = page.locator("#scene-text").input_value()
        page.select_option("#ze-new-kind", "no_litter")
        page.click("#ze-draw-zone")
        canvas.click(100, 100)
        canvas.click(200, 100)
        page.keyboard.press("Escape")
        assert page.locator("#scene-text").input_value() == before
        assert page.locator("#ze-cancel").is_disabled()

        # a new no-parking zone: five clicks, closed on its first point; the stray point goes with Delete
        bay = [(60, 212), (250, 214), (252, 262), (150, 285), (58, 260)]
        _draw_zone(page, canvas, "no_parking", "loading_bay", bay, close="first")
        assert _close(_zone(_document(page), "loading_bay")["polygon"], bay)
        canvas.click(150, 285)  # the stray point's handle: selects it
        assert page.locator("#ze-del-vertex").is_enabled()
        page.keyboard.press("Delete")
        expected_bay = [bay[0], bay[1], bay[2], bay[4]]
        assert _close(_zone(_document(page), "loading_bay")["polygon"], expected_bay)
        page.fill("#ze-p-label-en", "loading bay")
        page.fill("#ze-p-label-zh", "装卸区")
        page.fill("#ze-p-setting", "90")
        page.locator("#ze-p-setting").press("Tab")

        # drag the top-left corner of the bus-stop zone (selected by clicking inside it)
        canvas.click(520, 240)
        assert (
            page.locator('#ze-list button[data-zone="2"]').get_attribute("aria-pressed")
            == "true"
        )
        canvas.drag((392, 204), (380, 190))
        busstop = _zone(_document(page), "no_parking_busstop")["polygon"]
        assert _close(busstop, [(380, 190), (640, 204), (640, 262), (392, 262)]), (
            busstop
        )

        # the lane's direction, drawn the other way round (press, drag, release)
        page.click('#ze-list button[data-zone="1"]')
        page.click("#ze-draw-direction")
        canvas.drag((560, 318), (90, 316))
        direction = _zone(_document(page), "bike_lane")["direction"]
        assert _close(direction, [(560, 318), (90, 316)]), direction
        assert "from 560, 318" in page.locator("#ze-p-direction").inner_text().replace(
            ".0", ""
        )

        # typing in the YAML box redraws the picture (the plaza moves 10 px down)
        text = page.locator("#scene-text").input_value()
        moved = text.replace("- [0, 135]\n  - [270, 135]", "- [0, 145]\n  - [270, 145]")
        assert moved != text
        page.fill("#scene-text", moved)
        harness.wait_js(
            page,
            "(document.querySelector('#ze-canvas .ze-zone[data-zone=\"3\"]')||{getAttribute(){return ''}})"
            ".getAttribute('points').indexOf('0,145') === 0",
        )

        page.fill("#scene-note", "loading bay drawn on the frame")
        page.click("#scene-save")
        harness.wait_js(
            page,
            "document.getElementById('cam-version').textContent === 'Scene version 2'",
        )
        assert page.locator("#scene-errors-box").is_hidden()
        assert "Saved as scene version 2" in page.locator("#scene-ok").inner_text()
        assert errors == []
    finally:
        page.close()

    with live_service.client("reviewer") as api:
        version = api.get(f"/api/cameras/{cam}/versions/2").json()
        assert version["note"] == "loading bay drawn on the frame"
        doc = yaml.safe_load(version["document"])
        bay_zone = _zone(doc, "loading_bay")
        assert bay_zone["kind"] == "no_parking" and bay_zone["max_stop_s"] == 90
        assert bay_zone["label"] == {"en": "loading bay", "zh-CN": "装卸区"}
        assert _close(bay_zone["polygon"], expected_bay), bay_zone["polygon"]
        assert _close(
            _zone(doc, "no_parking_busstop")["polygon"],
            [(380, 190), (640, 204), (640, 262), (392, 262)],
        )
        assert _close(_zone(doc, "bike_lane")["direction"], [(560, 318), (90, 316)])
        assert _zone(doc, "plaza")["polygon"][:2] == [[0, 145], [270, 145]]
        # what was not touched is as it was
        assert _zone(doc, "crosswalk_main") == _zone(original, "crosswalk_main")
        assert (
            doc["signals"] == original["signals"] and doc["place"] == original["place"]
        )
        # the case-facing view of the new version: the scene model read it
        assert {z["name"] for z in version["zones"]} == {
            z["name"] for z in original["zones"]
        } | {"loading_bay"}
        assert api.get(f"/api/cameras/{cam}").json()["scene_version"] == 2


def test_signal_box_drawn_and_resized(browser, live_service) -> None:
    """A new signal read from the picture: its box drawn by dragging, then a corner dragged."""
    base, cam = live_service.base_url, live_service.camera_id
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        _login(page, base, "admin")
        page.goto(f"{base}/cameras/{cam}")
        harness.wait_js(
            page, "document.querySelectorAll('#ze-canvas .ze-zone').length >= 4"
        )
        assert page.locator("#ze-draw-signal").inner_text() == "绘制灯框"
        canvas = Canvas(page)
        page.fill("#ze-new-signal-name", "ped_east")
        page.click("#ze-draw-signal")
        canvas.drag((500, 60), (530, 120))
        sig = next(s for s in _document(page)["signals"] if s["name"] == "ped_east")
        assert _close([sig["roi"][:2], sig["roi"][2:]], [(500, 60), (30, 60)]), sig
        # the bottom-right corner handle, dragged out
        canvas.drag((530, 120), (540, 130))
        sig = next(s for s in _document(page)["signals"] if s["name"] == "ped_east")
        assert _close([sig["roi"][:2], sig["roi"][2:]], [(500, 60), (40, 70)]), sig
        # the keyboard: the box moves with the arrow keys
        page.locator("#ze-canvas").focus()
        page.keyboard.press("Shift+ArrowLeft")
        sig = next(s for s in _document(page)["signals"] if s["name"] == "ped_east")
        assert _close([sig["roi"][:2]], [(490, 60)]), sig
        before = page.locator("#cam-version").inner_text()
        page.click("#scene-save")
        harness.wait_js(
            page, f"document.getElementById('cam-version').textContent !== {before!r}"
        )
    finally:
        page.close()
    with live_service.client("admin") as api:
        cur = api.get(f"/api/cameras/{cam}").json()
        assert any(
            s["name"] == "ped_east"
            and _close([s["roi"][:2], s["roi"][2:]], [(490, 60), (40, 70)])
            for s in cur["signals"]
        ), cur["signals"]
