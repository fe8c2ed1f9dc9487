"""The review overlay on drone footage: zones drawn on the reference are warped by each instant's
view (reference -> picture homography in tracks.json) so they sit where the road is in that frame."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).resolve().parents[2] / "service" / "web" / "static" / "js" / "overlay.js"

# A 400x300 scene, one no-parking zone; at t=1.0 the picture has moved 60 px right and 40 px down.
DATA = {
    "frame_size": [400, 300], "max_age_s": 0.15, "offender_track_ids": [], "key_box": None, "path": [],
    "instants": [], "signals": [],
    "zones": [{"name": "kerb", "kind": "no_parking", "offence_zone": True,
               "polygon": [[100, 100], [200, 100], [200, 160], [100, 160]]}],
    "views": [[1.0, 1, 0, 60, 0, 1, 40, 0, 0, 1]],
}

DRAW = """([data, t]) => {
  const c = document.querySelector('canvas');
  const ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  const drawn = window.CWOverlay.draw(ctx, data, t, {x: 0, y: 0, w: 400, h: 300}, {});
  const px = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data);
  return {drawn, old_edge: px(100, 130), new_edge: px(160, 170), inside_new: px(200, 190)};
}"""


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_content("<!doctype html><title>overlay</title><canvas width=400 height=300></canvas>")
    page.add_script_tag(content=SCRIPT.read_text(encoding="utf-8"))
    yield page
    page.close()


def test_zones_follow_the_view_of_the_instant(page) -> None:
    moved = page.evaluate(DRAW, [DATA, 1.02])
    assert moved["drawn"]["zones_warped"] is True
    assert moved["new_edge"][3] > 200  # the zone's left edge is drawn where the picture put it
    assert moved["old_edge"][3] == 0  # and not where the reference has it
    assert moved["inside_new"][3] > 0  # filled inside the moved outline


def test_without_a_view_near_the_time_zones_stay_as_drawn(page) -> None:
    fixed = page.evaluate(DRAW, [DATA, 2.0])  # no view within max_age: a fixed picture
    assert fixed["drawn"]["zones_warped"] is False
    assert fixed["old_edge"][3] > 200 and fixed["new_edge"][3] == 0
    plain = page.evaluate(DRAW, [{**DATA, "views": []}, 1.0])
    assert plain["drawn"]["zones_warped"] is False and plain["old_edge"][3] > 200
