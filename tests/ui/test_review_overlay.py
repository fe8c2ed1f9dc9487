"""The review page draws the analysis overlay over the original clip: the offender's box is on the
canvas where tracks.json puts it at the video's current time (scaled into the letterboxed
picture), not where it was at another time; the toggle hides it; the annotated clip is rendered
on demand from the page.

The case folder is made by the real evidence writer from real footage (the Beijing overpass
clip, H.264, keyframes at 0 s and 8.3 s, so the stream-copied clip starts well before the case
and the page must seek to ``clip_offset_s``), with scripted tracks so the expected boxes are known.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.browser

CLIP = "beijing-intersection/uadetrac_overpass.mp4"
SCENE = """\
camera: bj-overpass-overlay
place: 北京 立交桥 (overlay test)
start_time: 2024-05-01T08:00:00+08:00
timezone: Asia/Shanghai
frame_size: [960, 540]
zones:
  - {name: crossing, kind: crosswalk, signal: ped, polygon: [[0, 400], [960, 400], [960, 500], [0, 500]]}
signals:
  - {name: ped, timeline: [[0, red]]}
"""
OFFENDER, BYSTANDER = 9, 4
STEP = 0.1
SPEED = 100.0  # scene px per second, to the right


def offender_box(t: float) -> tuple[float, float, float, float]:
    x = 100.0 + SPEED * t
    return (x, 300.0, x + 40.0, 420.0)


def _make_run(source: Path, out: Path, scene_path: Path) -> dict:
    from detector.evidence import SignalLog, TrackLog
    from detector.evidence.manifest import write_manifest
    from detector.evidence.writer import write_cases
    from detector.scene import load_scene_text
    from detector.types import SignalColor, TrackObservation, ViolationEvent

    scene = load_scene_text(SCENE)
    tracks, signals = TrackLog(), SignalLog()
    for i in range(51):
        t = round(i * STEP, 3)
        tracks.add(t, [TrackObservation(t, OFFENDER, "person", offender_box(t), 0.8),
                       TrackObservation(t, BYSTANDER, "car", (600.0, 80.0, 700.0, 150.0), 0.9)])
        signals.add(t, {"ped": SignalColor.RED})
    x1, _, x2, y2 = offender_box(3.0)
    event = ViolationEvent(rule="red_light_pedestrian", zone="crossing", start_s=3.0, end_s=3.6, key_t=3.0,
                           object_class="person", track_ids=[OFFENDER], confidence=0.8,
                           explanation="entered the crossing on red", key_box=offender_box(3.0),
                           path=[(round(i * STEP, 3), offender_box(i * STEP)[0] + 20, 420.0) for i in range(51)],
                           signal="ped")
    [case] = write_cases(source=source, scene=scene, events=[event], track_log=tracks, signal_log=signals,
                         out_dir=out, pre=0.5, post=0.5)
    write_manifest(out, source=source, scene_path=scene_path, model_path=None, software_version="test")
    return case


@pytest.fixture(scope="module")
def overlay_service(tmp_path_factory, footage_dir):
    """A live service (no job runner) holding one case ingested from a real evidence folder."""
    tmp = tmp_path_factory.mktemp("overlay")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE, encoding="utf-8")
    source = footage_dir / CLIP
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, harness.reference_frame(source, tmp / "reference.png"))
        job_id = harness.upload(svc, source)
        with harness.finished_job(svc, job_id, lambda out: _make_run(source, out, scene_path)) as done:
            [row] = done.rows
            svc.extra.update(case_id=row.id, case=done.written)
        yield svc
    finally:
        svc.stop()


PIXEL_JS = """([x, y]) => {
  const c = document.querySelector('#c-overlay');
  const r = window.devicePixelRatio || 1;
  return Array.from(c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data);
}"""


def _is_offender(px: list[int]) -> bool:
    r, g, b, a = px
    return a > 200 and r > 220 and b > 220 and g < 60  # magenta, opaque


def _show(page, clip_t: float, source_t: float) -> None:
    page.evaluate("t => { const v = document.querySelector('#c-video'); v.pause(); v.currentTime = t; }", clip_t)
    harness.wait_js(page, f"document.querySelector('#c-overlay').dataset.drawnT === '{source_t:.3f}'")


def test_overlay_draws_the_offender_where_the_tracks_put_it(browser, overlay_service) -> None:
    svc = overlay_service
    case, case_id = svc.extra["case"], svc.extra["case_id"]
    assert case["clip_offset_s"] > 2.0, "the stream-copied clip starts at the keyframe before the case"
    ctx = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000}, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", "reviewer")
    page.fill("#password", harness.PASSWORDS["reviewer"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/review$"))
    page.wait_for_selector(f"#case[data-case='{case_id}']")
    page.wait_for_selector("#c-overlay[data-overlay='ready']")
    assert "/evidence/clip" in page.get_attribute("#c-video", "src")
    # loaded at the case span, not at the clip's first (keyframe) frame
    harness.wait_js(page, "document.querySelector('#c-video').readyState >= 1")
    harness.wait_js(page, f"Math.abs(document.querySelector('#c-video').currentTime - {case['clip_offset_s']}) < 0.01")

    # a 4:3 element around the 16:9 picture: letterboxed, 75 px bands above and below
    page.evaluate("() => { const v = document.querySelector('#c-video'); v.style.width = '800px'; "
                  "v.style.height = '600px'; v.style.aspectRatio = 'auto'; }")
    size = page.evaluate("() => { const v = document.querySelector('#c-video'); "
                         "return [v.clientWidth, v.clientHeight, v.videoWidth, v.videoHeight]; }")
    assert size == [800, 600, 960, 540]
    scale, top = 800 / 960, (600 - 540 * 800 / 960) / 2

    def where(box):  # left edge, right edge, middle height, in CSS px of the canvas
        x1, y1, x2, y2 = box
        return x1 * scale, x2 * scale, top + (y1 + y2) / 2 * scale

    def frame_drawn(box) -> None:
        """All four edges of the box are offender-coloured; inside and just below it is not."""
        x1, y1, x2, y2 = (v * scale for v in box)
        cx, cy = (x1 + x2) / 2, top + (y1 + y2) / 2
        for point in ([x1, cy], [x2, cy], [cx, top + y1], [cx, top + y2]):
            assert _is_offender(page.evaluate(PIXEL_JS, point)), point
        for point in ([cx, cy], [x1 + 6, cy], [cx, top + y2 + 7]):
            assert not _is_offender(page.evaluate(PIXEL_JS, point)), point

    start = case["clip_start_s"]
    a_inst, b_inst = 2.8, 3.5  # analysis instants; the player is shown 70 ms after each (nearer the next)
    a_left, a_right, a_mid = where(offender_box(a_inst))
    b_left, b_right, b_mid = where(offender_box(b_inst))
    assert b_left - a_right > 20  # far enough apart to tell

    _show(page, a_inst + 0.07 - start, a_inst + 0.07)
    assert page.get_attribute("#c-overlay", "data-offender") == "yes"
    frame_drawn(offender_box(a_inst))
    assert not _is_offender(page.evaluate(PIXEL_JS, [b_left, b_mid]))
    assert not _is_offender(page.evaluate(PIXEL_JS, [b_right, b_mid]))

    _show(page, b_inst + 0.07 - start, b_inst + 0.07)
    frame_drawn(offender_box(b_inst))
    assert not _is_offender(page.evaluate(PIXEL_JS, [a_left, a_mid]))

    # the toggle hides the overlay (O key and button) and brings it back
    page.click("#c-explanation")  # focus off any control
    page.keyboard.press("o")
    page.wait_for_selector("#c-overlay[data-visible='no']", state="attached")
    assert page.get_attribute("#btn-overlay", "aria-pressed") == "false"
    assert page.evaluate(PIXEL_JS, [b_left, b_mid]) == [0, 0, 0, 0]
    page.click("#btn-overlay")
    page.wait_for_selector("#c-overlay[data-visible='yes']")
    assert _is_offender(page.evaluate(PIXEL_JS, [b_left, b_mid]))

    # the element resized: the overlay follows at the new scale and letterbox
    page.evaluate("() => document.querySelector('#c-video').style.width = '640px'")
    harness.wait_js(page, "document.querySelector('#c-overlay').width === 1280")
    scale2, top2 = 640 / 960, (600 - 540 * 640 / 960) / 2
    x1, y1, _, y2 = offender_box(b_inst)
    assert _is_offender(page.evaluate(PIXEL_JS, [x1 * scale2, top2 + (y1 + y2) / 2 * scale2]))

    # the annotated clip, rendered on demand from the page
    page.click("#btn-annotated")
    page.wait_for_selector("#annotated-link:not([hidden])", timeout=120_000)
    href = page.get_attribute("#annotated-link", "href")
    assert href.endswith(f"/api/cases/{case_id}/evidence/annotated")
    with svc.client("reviewer") as api:
        detail = api.get(f"/api/cases/{case_id}").json()
        video = api.get(href)
    assert video.status_code == 200
    rel = case["evidence"]["clip"].rsplit("/", 1)[0] + "/annotated.mp4"
    assert hashlib.sha256(video.content).hexdigest() == detail["evidence_hashes"][rel]
    assert detail["integrity"]["ok"] is True
    ctx.close()
