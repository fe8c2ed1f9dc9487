"""The review page shows who flew the footage and where the file says it was shot: the drone id
and pilot given with the upload, the device and the GPS position from the file's own tags
(marked as evidence only), in Chinese and in English; a case whose upload and file say none of
it shows none of these rows.

Both case folders are made by the real evidence writer from real footage (the overpass clip, and
the same clip tagged as a drone writes it: ``tagged_flight``), with scripted events.
"""

from __future__ import annotations

import re
from pathlib import Path

import harness
import pytest

pytestmark = pytest.mark.browser

CLIP = "beijing-intersection/uadetrac_overpass_short.mp4"
SCENE = """\
camera: bj-overpass-flight
place: 北京 立交桥 (flight test)
start_time: 2024-05-01T08:00:00+08:00
timezone: Asia/Shanghai
frame_size: [960, 540]
zones:
  - {name: lanes, kind: lane, polygon: [[0, 200], [960, 200], [960, 540], [0, 540]], direction: [[480, 250], [480, 530]]}
"""
DRONE, PILOT = "DJI-M30-07", "王警官"


# What the pipeline writes into a drone case's details (detector.pipeline._with_registration).
REGISTRATION = {"registered": True, "reference": "scene", "frames": 12, "mean_quality": 0.82, "min_quality": 0.25}


def _run(source: Path, out: Path, scene_path: Path, flight: dict | None) -> None:
    from detector.evidence import SignalLog, TrackLog
    from detector.evidence.manifest import write_manifest
    from detector.evidence.writer import write_cases
    from detector.scene import load_scene_text
    from detector.types import TrackObservation, ViolationEvent

    tracks = TrackLog()
    for i in range(20):
        t = round(i * 0.1, 3)
        tracks.add(t, [TrackObservation(t, 4, "car", (400.0, 420.0 - i * 6, 480.0, 480.0 - i * 6), 0.9)])
    event = ViolationEvent(rule="wrong_way", zone="lanes", start_s=0.3, end_s=1.1, key_t=0.6, object_class="car",
                           track_ids=[4], confidence=0.9, explanation="car drove against the lane direction",
                           key_box=(400.0, 384.0, 480.0, 444.0), path=[(i * 0.1, 440.0, 480.0 - i * 6) for i in range(12)],
                           details={"registration": REGISTRATION} if flight else {})
    write_cases(source=source, scene=load_scene_text(SCENE), events=[event], track_log=tracks, signal_log=SignalLog(),
                out_dir=out, pre=0.5, post=0.5, flight=flight)
    write_manifest(out, source=source, scene_path=scene_path, model_path=None, software_version="test")


@pytest.fixture(scope="module")
def flight_service(tmp_path_factory, footage_dir, tagged_flight):
    """A live service (no job runner) with two cases: one from a tagged flight uploaded with a drone
    id and pilot, one from the untagged clip uploaded without."""
    from detector.evidence.writer import flight_record
    from service.db import session_scope
    from service.ingest import ingest_run
    from service.models import Job

    tmp = tmp_path_factory.mktemp("flight")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE, encoding="utf-8")
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, None)
        for source, meta, key in ((tagged_flight, {"drone_id": DRONE, "pilot": PILOT}, "flown"),
                                  (footage_dir / CLIP, {}, "plain")):
            with svc.client("operator") as op:
                r = op.post("/api/uploads", data={"camera": svc.camera_id, **meta},
                            files={"file": (source.name, source.read_bytes(), "video/mp4")})
                r.raise_for_status()
                up = r.json()
            out_rel = f"jobs/{up['job_id']}/run-1"
            # as the job does: the upload's drone id and pilot go into the case record
            _run(source, svc.data_dir / out_rel, scene_path, flight_record(up["drone_id"], up["pilot"]))
            with session_scope(svc.server.config.app.state.session_factory) as db:
                job = db.get(Job, up["job_id"])
                job.out_dir = out_rel
                [row] = ingest_run(db, job, svc.data_dir / out_rel, svc.data_dir)
                job.state, job.progress, job.cases_found = "done", 100.0, 1
                svc.extra[key] = row.id
        yield svc
    finally:
        svc.stop()


def _open(page, svc, case_id: str) -> None:
    page.goto(f"{svc.base_url}/review?case={case_id}")
    page.wait_for_selector(f"#case[data-case='{case_id}']")


def _row(page, dd: str) -> tuple[bool, str, str]:
    """(shown, label, value) of a fact row."""
    shown, label, value = page.evaluate("id => { const dd = document.getElementById(id), dt = dd.previousElementSibling; "
                                        "return [!dd.hidden && !dt.hidden, dt.textContent, dd.textContent]; }", dd)
    return shown, label, value


def test_review_page_shows_drone_pilot_and_gps(browser, flight_service) -> None:
    svc = flight_service
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    page.goto(f"{svc.base_url}/login")
    page.fill("#username", "reviewer")
    page.fill("#password", harness.PASSWORDS["reviewer"])
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/review$"))

    _open(page, svc, svc.extra["flown"])
    assert _row(page, "c-drone") == (True, "无人机编号", DRONE)
    assert _row(page, "c-pilot") == (True, "飞手", PILOT)
    assert _row(page, "c-device") == (True, "拍摄设备", "DJI · Mavic 3")
    shown, label, gps = _row(page, "c-gps")
    assert shown and label == "文件中的GPS位置"
    assert gps == "22.54310, 114.05790 · 85 m (仅作证据保存，不公开)"
    # registered to the place's reference, and how well; a low lowest quality is marked
    assert _row(page, "c-registration") == (True, "画面配准", "配准到地点参考图像 · 质量：平均 82%，最低 25%（共 12 帧）")
    assert page.eval_on_selector("#c-registration", "el => el.classList.contains('warn')")

    _open(page, svc, svc.extra["plain"])  # nothing given, nothing in the file: no rows
    for dd in ("c-drone", "c-pilot", "c-device", "c-gps", "c-registration"):
        assert _row(page, dd)[0] is False, dd

    page.goto(f"{svc.base_url}/lang/en?next=/review?case={svc.extra['flown']}")
    page.wait_for_selector(f"#case[data-case='{svc.extra['flown']}']")
    assert _row(page, "c-drone") == (True, "Drone", DRONE)
    assert _row(page, "c-gps")[2] == "22.54310, 114.05790 · 85 m (evidence only, never published)"
    ctx.close()
