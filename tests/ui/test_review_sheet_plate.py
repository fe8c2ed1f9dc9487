"""The review page shows the evidence sheet (thumbnail, full-size viewer with zoom, Escape closes)
and the plate: the machine read beside the reviewer's correction, corrected through the page
with the API's own refusals shown and an explicit "allow invalid format". A case without a sheet
(made before sheets) and about a person shows neither.

The cases are written by the real evidence writer from a real CCPD photo of a parked car (filmed
as a still H.264 video), so the plate is read by the real OCR, as in ``test_writer_plates``.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import pytest
from sqlalchemy.orm.attributes import flag_modified

import harness
from plate_photos import CCPD, PHOTO_PLATE, photo_row, still_video

pytestmark = pytest.mark.browser

SCENE = """\
camera: hefei-kerb-ui
place: Hefei kerb (UI test)
start_time: 2024-05-01T08:00:00+08:00
frame_size: [720, 1160]
zones:
  - {name: kerb, kind: no_parking, max_stop_s: 1, polygon: [[0, 0], [720, 0], [720, 1160], [0, 1160]]}
"""


def _make_run(video: Path, row: dict, out: Path, scene_path: Path) -> list[dict]:
    from detector.evidence import SignalLog, TrackLog, write_cases
    from detector.evidence.manifest import write_manifest
    from detector.scene import load_scene_text
    from detector.types import TrackObservation, ViolationEvent

    x1, y1, x2, y2 = (float(row[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
    car = (max(0.0, x1 - 150), max(0.0, y1 - 320), min(720.0, x2 + 150), min(1160.0, y2 + 80))
    tracks, signals = TrackLog(), SignalLog()
    for i in range(20):
        t = round(i * 0.1, 3)
        tracks.add(t, [TrackObservation(t, 5, "car", car, 0.9), TrackObservation(t, 8, "person", (20, 900, 80, 1100), 0.8)])
    parked = ViolationEvent(rule="illegal_parking", zone="kerb", start_s=0.2, end_s=1.6, key_t=1.0, object_class="car",
                            track_ids=[5], confidence=0.9, explanation="stopped 1.4 s where stopping is forbidden",
                            key_box=car)
    walker = ViolationEvent(rule="litter", zone="kerb", start_s=0.5, end_s=0.8, key_t=0.5,
                            object_class="person", track_ids=[8], confidence=0.8, explanation="scripted walker")
    cases = write_cases(source=video, scene=load_scene_text(SCENE), events=[parked, walker], track_log=tracks,
                        signal_log=signals, out_dir=out, pre=0.2, post=0.2)
    write_manifest(out, source=video, scene_path=scene_path, model_path=None, software_version="test")
    return cases


@pytest.fixture(scope="module")
def plate_service(tmp_path_factory):
    from service.db import session_scope
    from service.models import Case

    row = photo_row()
    tmp = tmp_path_factory.mktemp("sheet-plate")
    video = tmp / "kerb.mp4"
    still_video(CCPD / row["file"], video)
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE, encoding="utf-8")
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, harness.reference_frame(video, tmp / "reference.png"))
        job_id = harness.upload(svc, video)
        with harness.finished_job(svc, job_id, lambda out: _make_run(video, row, out, scene_path)) as done:
            rows = {r.rule: r for r in done.rows}
            # the walker's case as one made before sheets existed: no sheet in its record
            old = rows["litter"]
            old.evidence = {k: v for k, v in old.evidence.items() if k != "sheet"}
            flag_modified(old, "evidence")
            parked = next(c for c in done.written if c["rule"] == "illegal_parking")
            svc.extra.update(parked=rows["illegal_parking"].id, walker=old.id,
                             sheet_path=done.run_dir / parked["evidence"]["sheet"])
        with session_scope(svc.server.config.app.state.session_factory) as db:
            assert "sheet" not in db.get(Case, svc.extra["walker"]).evidence
        yield svc
    finally:
        svc.stop()


def _error_text(page) -> str:
    page.wait_for_selector("#plate-error:not([hidden])")
    return page.text_content("#plate-error")


def test_review_page_shows_the_sheet_and_corrects_the_plate(browser, plate_service) -> None:
    svc = plate_service
    parked, walker = svc.extra["parked"], svc.extra["walker"]
    sheet = cv2.imread(str(svc.extra["sheet_path"]))
    ctx = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", "reviewer")
    page.fill("#password", harness.PASSWORDS["reviewer"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/review$"))
    page.wait_for_selector(f"#case[data-case='{parked}']")

    # beside the time: where it came from (the scene's start_time: no time was entered with the upload)
    assert page.is_visible("#c-clock") and page.get_attribute("#c-clock", "data-source") == "scene"
    assert page.text_content("#c-clock") == "Time from the scene file's start time"
    assert page.evaluate("document.querySelector('#c-clock').previousElementSibling.id") == "c-time"

    # the sheet: a thumbnail of the case's own sheet, opened full size, zoomed, closed with Escape
    page.wait_for_selector("#c-sheet-fig:not([hidden])")
    assert page.get_attribute("#c-sheet", "src").endswith(f"/api/cases/{parked}/evidence/sheet")
    harness.wait_js(page, "document.querySelector('#c-sheet').complete && document.querySelector('#c-sheet').naturalWidth > 0")
    assert page.evaluate("document.querySelector('#c-sheet').naturalWidth") == sheet.shape[1]
    page.click("#c-sheet-open")
    page.wait_for_selector("#sheet-dialog[open]")
    harness.wait_js(page, "document.querySelector('#sheet-full').naturalWidth > 0")
    fitted = page.evaluate("document.querySelector('#sheet-full').getBoundingClientRect().width")
    assert fitted < sheet.shape[1]  # fitted into the window first
    page.keyboard.press("z")
    page.wait_for_selector("#sheet-dialog[data-zoom='full']")
    assert page.evaluate("document.querySelector('#sheet-full').getBoundingClientRect().width") == sheet.shape[1]
    page.keyboard.press("a")  # the review shortcuts are off while the viewer is open
    page.keyboard.press("Escape")
    page.wait_for_selector("#sheet-dialog", state="hidden")
    assert page.get_attribute("#case", "data-state") == "pending"

    # the plate: what the OCR read
    page.wait_for_selector("#c-plate-panel:not([hidden])")
    assert page.text_content("#plate-read") == PHOTO_PLATE
    assert re.fullmatch(r"\d+%", page.text_content("#plate-conf"))
    assert page.text_content("#plate-format") == "valid Chinese plate format"
    assert page.text_content("#plate-kind") != "—"
    assert page.text_content("#plate-correction") == "None"

    # a correction needs a reason, and a text that is no Chinese plate is refused by the API ...
    page.fill("#plate-text", "ABC123")
    page.click("#plate-save")
    assert _error_text(page) == "A reason is required."
    page.fill("#plate-reason", "foreign plate, read from the clip")
    page.click("#plate-save")
    assert "is not a Chinese plate" in _error_text(page)
    # ... unless the reviewer says so on purpose
    page.check("#plate-allow-invalid")
    page.click("#plate-save")
    harness.wait_js(page, "document.querySelector('#plate-corrected') && document.querySelector('#plate-corrected').textContent === 'ABC123'")
    assert page.is_hidden("#plate-error")
    assert "not a Chinese plate format" in page.text_content("#plate-correction")

    # the final correction, and it comes back from the server after a reload
    page.fill("#plate-text", "皖A0N719")
    page.fill("#plate-reason", "last digit misread: 9, not 8")
    page.click("#plate-save")
    harness.wait_js(page, "document.querySelector('#plate-corrected').textContent === '皖A0N719'")
    page.reload()
    page.wait_for_selector(f"#case[data-case='{parked}']")
    harness.wait_js(page, "document.querySelector('#plate-corrected') && document.querySelector('#plate-corrected').textContent === '皖A0N719'")
    assert page.text_content("#plate-read") == PHOTO_PLATE  # the machine read is kept
    assert "last digit misread" in page.text_content("#plate-correction")
    with svc.client("reviewer") as api:
        plate = api.get(f"/api/cases/{parked}").json()["plate"]
    assert plate["text"] == "皖A0N719" and plate["format_ok"] is True and plate["read"]["text"] == PHOTO_PLATE
    assert plate["correction"]["reason"] == "last digit misread: 9, not 8" and plate["correction"]["corrections"] == 2
    with svc.client("admin") as api:
        audit = api.get("/api/audit", params={"action": "case.plate", "object_id": parked}).json()["items"]
    assert [e["details"]["text"] for e in audit] == ["皖A0N719", "ABC123"]

    # the next case: about a person, made before sheets: neither panel
    page.click("#c-explanation")
    page.keyboard.press("j")
    page.wait_for_selector(f"#case[data-case='{walker}']")
    assert page.is_hidden("#c-sheet-fig") and page.is_hidden("#c-plate-panel")
    ctx.close()
