"""The evidence sheet: which moments each rule shows, and a sheet composed from real footage whose
captions are read back with a real OCR model (RapidOCR) in both languages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from rules.scripting import path, run, timeline

from detector.decode import DecodeReport, iter_frames, probe
from detector.detect import load_analysis_detector
from detector.evidence import text as text_mod
from detector.evidence.clips import stills_at
from detector.evidence.offences import offence_for
from detector.evidence.sheet import (
    SheetMoment, StillPicker, layout_sheet, offender_box_at, render_sheet, sheet_caption, sheet_jpeg, sheet_moments,
    zone_overlay,
)
from detector.evidence.tracklog import SignalLog, TrackLog
from detector.rules import IllegalParkingRule, LitterRule, RedLightPedestrianRule, WrongWayRule
from detector.scene import CrosswalkZone, LaneZone, NoLitterZone, NoParkingZone, load_scene, load_scene_text
from detector.types import StaticObject, TrackObservation, ViolationEvent

REPO = Path(__file__).resolve().parents[2]
SOURCE = "beijing-intersection/uadetrac_overpass.mp4"
DRILL_SCENE = REPO / "samples" / "scenes" / "beijing-overpass-wrong-way-drill.yaml"
CJK = re.compile(r"[\u4e00-\u9fff]")

SCENE = load_scene_text("""
camera: test-cam-01
place: 测试路口 Test junction
start_time: 2024-05-01T08:00:00+08:00
timezone: Asia/Shanghai
frame_size: [640, 480]
zones:
  - {name: main-crosswalk, kind: crosswalk, signal: ped-main, polygon: [[200, 100], [300, 100], [300, 400], [200, 400]]}
  - {name: bike-lane, kind: lane, direction: [[0, 340], [640, 340]], polygon: [[0, 300], [640, 300], [640, 380], [0, 380]]}
  - {name: bus-stop, kind: no_parking, max_stop_s: 60, polygon: [[0, 100], [640, 100], [640, 200], [0, 200]]}
  - {name: square, kind: no_litter, polygon: [[0, 200], [640, 200], [640, 480], [0, 480]]}
signals:
  - {name: ped-main, timeline: [[0, green], [10, red], [40, green]]}
""")


# -- events from the real rules ------------------------------------------------------------------

def red_light_event() -> tuple[ViolationEvent, list[TrackObservation]]:
    walk = path(7, "person", [(12.0, 250.0, 440.0), (20.0, 250.0, 60.0)])
    rule = RedLightPedestrianRule(SCENE.zone("main-crosswalk"))
    (ev,) = run(rule, walk, t_end=30.0, signals=timeline([(0.0, "green"), (10.0, "red"), (40.0, "green")], "ped-main"))
    return ev, walk


def wrong_way_event() -> tuple[ViolationEvent, list[TrackObservation]]:
    rider = path(3, "bicycle", [(2.0, 620.0, 340.0), (12.0, 20.0, 345.0)])
    (ev,) = run(WrongWayRule(SCENE.zone("bike-lane")), rider, t_end=15.0)
    return ev, rider


def parking_event() -> tuple[ViolationEvent, list[TrackObservation]]:
    car = path(4, "car", [(0.0, -50.0, 150.0), (5.0, 300.0, 150.0), (95.0, 300.0, 150.0), (100.0, 700.0, 150.0)])
    (ev,) = run(IllegalParkingRule(SCENE.zone("bus-stop")), car, t_end=110.0)
    return ev, car


def litter_event() -> tuple[ViolationEvent, list[TrackObservation]]:
    person = path(7, "person", [(5.0, 100.0, 420.0), (10.0, 330.0, 400.0), (12.5, 330.0, 400.0), (18.0, 620.0, 300.0)])

    def static(t: float):
        box = (300.0, 390.0, 320.0, 400.0)
        return (StaticObject(1, box, 12.3, 13.0, t, "object", 0.7),) if 12.3 <= t < 30.0 else ()

    (ev,) = run(LitterRule(SCENE.zone("square")), person, t_end=40.0, static=static)
    return ev, person


EVENTS = {"red_light_pedestrian": red_light_event, "wrong_way": wrong_way_event,
          "illegal_parking": parking_event, "litter": litter_event}


def ground_at(track: list[TrackObservation], t: float) -> tuple[float, float]:
    return min(track, key=lambda o: abs(o.t - t)).ground


@pytest.mark.parametrize("rule", list(EVENTS))
def test_moments_are_distinct_ordered_and_inside_the_clip(rule):
    ev, _ = EVENTS[rule]()
    assert ev.rule == rule
    clip = (max(0.0, ev.start_s - 5.0), ev.end_s + 5.0)
    moments = sheet_moments(ev, SCENE, *clip)
    assert [m.stage for m in moments] == ["before", "offence", "after"]
    times = [m.t for m in moments]
    assert times[0] < times[1] < times[2]
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.2 - 1e-9
    assert all(clip[0] <= t <= clip[1] for t in times)
    for m in moments:
        assert m.label_zh.startswith({"before": "违法前", "offence": "违法时", "after": "违法后"}[m.stage])
        assert m.label_en.startswith(m.stage) and CJK.search(m.label_zh) and not CJK.search(m.label_en)


def test_red_light_stills_show_kerb_entry_and_crossing():
    ev, walk = red_light_event()
    before, at, after = sheet_moments(ev, SCENE, ev.start_s - 5.0, ev.end_s + 5.0)
    crossing = SCENE.zone("main-crosswalk")
    inside = lambda p: 200 <= p[0] <= 300 and 100 <= p[1] <= 400  # noqa: E731
    assert isinstance(crossing, CrosswalkZone)
    assert not inside(ground_at(walk, before.t)), "the first still shows the person still on the kerb"
    assert at.t == pytest.approx(ev.details["entry_t"])
    assert inside(ground_at(walk, after.t)) and ground_at(walk, after.t)[1] < 300, "the last one well onto it"


def test_parking_stills_are_further_apart_than_the_allowed_stop():
    ev, _ = parking_event()
    limit = ev.details["max_stop_s"]
    moments = sheet_moments(ev, SCENE, ev.start_s - 5.0, ev.end_s + 5.0)
    assert moments[-1].t - moments[0].t > limit
    assert moments[1].t == pytest.approx(ev.key_t) and moments[1].t - moments[0].t >= limit - 0.11
    # A stay that ended exactly at the limit still gets first and last stills more than the limit apart.
    tight = ViolationEvent(rule="illegal_parking", zone="bus-stop", start_s=5.0, end_s=65.0, key_t=65.0,
                           object_class="car", track_ids=[4], confidence=0.9, explanation="",
                           details={"max_stop_s": 60.0})
    first, _, last = sheet_moments(tight, SCENE, 0.0, 70.0)
    assert last.t - first.t > 60.0


def test_moments_are_clamped_to_a_tight_clip():
    ev, _ = red_light_event()
    moments = sheet_moments(ev, SCENE, ev.start_s, ev.end_s)  # no pre-roll: the kerb still moves in
    times = [m.t for m in moments]
    assert times[0] == pytest.approx(ev.start_s) and times[0] < times[1] < times[2] <= ev.end_s
    with pytest.raises(ValueError):
        sheet_moments(ev, SCENE, 3.0, 3.1)


def test_offence_names_and_codes():
    assert offence_for("wrong_way", "car").code == "1301"
    bike = offence_for("wrong_way", "bicycle")
    assert bike.name_zh == "非机动车逆向行驶" and bike.code == ""  # not guessed
    assert offence_for("wrong_way", "bicycle", {"wrong_way:non_motor": "2xxx"}).code == "2xxx"
    assert offence_for("illegal_parking", "car").code == "1039"
    assert offence_for("red_light_pedestrian", "person", {"red_light_pedestrian": "L-77"}).code == "L-77"


def test_caption_facts_per_moment():
    ev, _ = red_light_event()
    moments = sheet_moments(ev, SCENE, ev.start_s - 5.0, ev.end_s + 5.0)
    cap = sheet_caption(ev, SCENE, moments, signal_log=signal_log_for(SCENE, 0.0, 30.0), case_id="c1")
    assert cap.signal_name == "ped-main" and cap.signal_source_en == "signal log"
    assert cap.offence_zh == "行人不按交通信号灯指示通行" and cap.subject_zh == "行人 #7"
    assert cap.direction_en == "towards the top of the picture"
    facts = cap.facts(moments[1].t)
    assert facts.signal == "red"
    assert re.fullmatch(r"2024-05-01 08:00:1\d CST \(UTC\+08:00, Asia/Shanghai\), video \d+\.\d\d s", facts.local_time_en)
    unknown = sheet_caption(ev, SCENE.model_copy(update={"start_time": None}), moments)
    assert "wall clock unknown" in unknown.facts(moments[0].t).local_time_en


def signal_log_for(scene, t0: float, t1: float) -> SignalLog:
    fn = timeline([(0.0, "green"), (10.0, "red"), (40.0, "green")], "ped-main")
    log = SignalLog()
    for i in range(int(t0 * 10), int(t1 * 10) + 1):
        log.add(i / 10, fn(i / 10))
    return log


def test_still_picker_keeps_the_nearest_frame_unchanged():
    picker = StillPicker([0.5, 1.0])
    for i in range(30):
        frame = np.full((4, 4, 3), i, np.uint8)
        picker.offer(i / 30, frame)
        frame[:] = 255  # the writer draws on the frame after offering it
    t, img = picker.frame(0)
    assert t == pytest.approx(15 / 30) and int(img[0, 0, 0]) == 15
    t, img = picker.frame(1)
    assert t == pytest.approx(29 / 30) and int(img[0, 0, 0]) == 29  # the clip ended before 1.0 s


def test_offender_box_follows_the_track_and_falls_back_to_the_key_box():
    ev, car = parking_event()
    log = TrackLog()
    for o in car:
        log.add(o.t, [o])
    assert offender_box_at(ev, log, 50.0) == [min(car, key=lambda o: abs(o.t - 50.0)).box]
    assert offender_box_at(ev, None, 50.0) == [ev.key_box]
    assert offender_box_at(ev, None, ev.end_s + 3.0) == []


# -- a sheet from real frames --------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_case(footage_dir):
    """A wrong-way case on the real overpass video (drill scene): the dark car in the near lanes
    driving away from the camera, boxed by the real detector at the three still times."""
    video = footage_dir / SOURCE
    scene = load_scene(DRILL_SCENE)
    wanted = [2.0, 3.0, 4.0]
    frames = {}
    for f in iter_frames(video, None, DecodeReport(), all_images=True):
        for w in wanted:
            if abs(f.t - w) < 1 / 60:
                frames[w] = f.image
    assert sorted(frames) == wanted
    detector = load_analysis_detector()
    log, target, ground = TrackLog(), (390.0, 540.0), []
    for w in wanted:
        dets = detector.detect(frames[w])
        cars = [tuple(float(v) for v in b) for b, n in zip(dets.xyxy, dets.names()) if n == "car"]
        box = min(cars, key=lambda b: abs((b[0] + b[2]) / 2 - target[0]) + abs(b[3] - target[1]))
        target = ((box[0] + box[2]) / 2, box[3])
        log.add(w, [TrackObservation(w, 5, "car", box, 0.6)])
        ground.append((w, *target))
    assert ground[0][2] > ground[-1][2] + 50, "the car drives up the picture (away from the camera)"
    ev = ViolationEvent(rule="wrong_way", zone="near-lanes", start_s=2.0, end_s=4.0, key_t=3.0, object_class="car",
                        track_ids=[5], confidence=0.6, explanation="car #5 travelled against the direction of near-lanes",
                        explanation_zh="汽车 #5 在车道 near-lanes 内逆向行驶", key_box=log.at(3.0)[0].box, path=ground,
                        details={"angle_deg": 178.0})
    moments = sheet_moments(ev, scene, 0.0, 8.4)
    picker = StillPicker([m.t for m in moments])
    for f in iter_frames(video, None, DecodeReport(), all_images=True):
        picker.offer(f.t, f.image)
    x1, y1, x2, y2 = (int(v) for v in ev.key_box)
    closeup = frames[3.0][max(0, y1 - 20):y2 + 20, max(0, x1 - 20):x2 + 20].copy()
    return {"scene": scene, "event": ev, "moments": moments, "picker": picker, "closeup": closeup, "log": log}


@pytest.fixture(scope="module")
def ocr():
    from rapidocr import RapidOCR

    return RapidOCR()


def read_text(ocr, image: np.ndarray) -> str:
    result = ocr(image)
    return " ".join(result.txts or ())


def test_sheet_from_real_frames_has_three_stills_and_a_closeup(real_case, tmp_path):
    c = real_case
    composed = render_sheet(c["event"], c["scene"], c["moments"], c["picker"], c["closeup"], track_log=c["log"],
                            signal_log=SignalLog(), case_id="beijing-overpass-wrong_way-00002000-5")
    sheet = composed.image
    assert sheet.shape[1] >= 1280 and sheet.shape[0] >= 720
    assert len(composed.panels) == 4 and composed.chinese
    stills = []
    for (x, y, w, h), m in zip(composed.panels[:3], c["moments"]):
        t, frame = c["picker"].frame(c["moments"].index(m))
        region = sheet[y:y + h, x:x + w]
        assert region.shape == frame.shape  # native scale: 960 px stills, a 1920 px sheet
        # The still is the original frame: only the offender's box and the zone outline are drawn.
        changed = np.abs(region.astype(int) - frame.astype(int)).max(axis=2) > 0
        assert changed.mean() < 0.08
        stills.append(region)
        # The offender is outlined in magenta around its box at that time.
        bx1, by1, bx2, by2 = (int(v) for v in offender_box_at(c["event"], c["log"], t)[0])
        ring = region[max(0, by1 - 4):by2 + 4, max(0, bx1 - 4):bx2 + 4].reshape(-1, 3)
        assert (np.abs(ring.astype(int) - (255, 0, 255)).sum(axis=1) < 60).sum() > 50
    # Three different moments: the pictures differ.
    assert np.abs(stills[0].astype(int) - stills[2].astype(int)).mean() > 5
    # The close-up panel holds the enlarged crop.
    x, y, w, h = composed.panels[3]
    panel = sheet[y + 2:y + h - 2, x + 2:x + w - 2]  # inside the cell's frame line
    ys, xs = np.nonzero(np.abs(panel.astype(int) - 32).max(axis=2) > 0)
    content = panel[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert content.shape[0] > c["closeup"].shape[0] * 2 and composed.closeup_zoom > 2
    small = cv2.resize(content, c["closeup"].shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - c["closeup"].astype(int)).mean() < 12
    jpeg = sheet_jpeg(sheet, 90)
    assert jpeg[:2] == b"\xff\xd8" and cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == sheet.shape


def test_caption_bands_read_back_in_chinese_and_english(real_case, ocr):
    c = real_case
    composed = render_sheet(c["event"], c["scene"], c["moments"], c["picker"], c["closeup"], track_log=c["log"])
    x, y, w, h = composed.bands[1]  # the offence still's band
    text = read_text(ocr, composed.image[y:y + h, x:x + w])
    assert "违法时" in text and "逆向行驶" in text, text  # Chinese: stage and offence name
    assert "offence" in text and "against traffic" in text, text  # English: the same
    assert "1301" in text and "08:00:03" in text and "beijing-overpass" in text, text
    x, y, w, h = composed.bands[3]  # the close-up's band
    text = read_text(ocr, composed.image[y:y + h, x:x + w])
    assert "特写" in text and "close-up" in text, text


def test_without_a_cjk_font_the_sheet_is_english_only(real_case, ocr, monkeypatch, caplog, tmp_path):
    c = real_case
    monkeypatch.setattr(text_mod, "FONT_DIRS", (str(tmp_path),))
    monkeypatch.delenv(text_mod.FONT_ENV, raising=False)
    text_mod.find_cjk_font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="detector.evidence.text"):
            composed = render_sheet(c["event"], c["scene"], c["moments"], c["picker"], c["closeup"], track_log=c["log"])
    finally:
        text_mod.find_cjk_font.cache_clear()
    assert "no CJK font" in caplog.text
    assert not composed.chinese and composed.image.shape[1] >= 1280
    x, y, w, h = composed.bands[1]
    text = read_text(ocr, composed.image[y:y + h, x:x + w])
    assert "offence" in text and "against traffic" in text, text
    assert not CJK.search(text), text  # no Chinese drawn, and no tofu read as Chinese either


def test_zone_overlay_scales_and_gives_a_lane_its_direction():
    ev, _ = wrong_way_event()
    zone = zone_overlay(SCENE, ev, (960, 1280, 3))  # stills twice the scene's size
    assert zone is not None and zone.direction == pytest.approx((1.0, 0.0))
    assert zone.polygon[1] == pytest.approx((1280.0, 600.0))
    lane = SCENE.zone("bike-lane")
    assert isinstance(lane, LaneZone) and isinstance(SCENE.zone("bus-stop"), NoParkingZone)
    assert isinstance(SCENE.zone("square"), NoLitterZone)


def test_small_stills_keep_native_scale_and_need_three():
    ev, _ = parking_event()
    moments = sheet_moments(ev, SCENE, ev.start_s - 5.0, ev.end_s + 5.0)
    rng = np.random.default_rng(0)
    stills = [(m, rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for m in moments]
    cap = sheet_caption(ev, SCENE, moments)
    composed = layout_sheet(stills, stills[1][1][100:140, 100:160], cap, [[(10, 10, 50, 50)]] * 3)
    assert composed.image.shape[1] == 640 and all(p[2:] == (320, 240) for p in composed.panels)
    with pytest.raises(ValueError):
        layout_sheet(stills[:2], stills[1][1], cap)
    assert isinstance(moments[0], SheetMoment)


RED_LIGHT_SCENE = load_scene_text("""
camera: bj-overpass-02
place: 北京 过街天桥路口
start_time: 2015-06-01T08:00:00+08:00
frame_size: [960, 540]
zones:
  - {name: south-crossing, kind: crosswalk, signal: ped-s, polygon: [[80, 470], [940, 470], [940, 540], [80, 540]]}
signals:
  - {name: ped-s, roi: [650, 40, 20, 20]}
""")


def test_red_light_sheet_states_the_signal_and_where_it_was_read(footage_dir, ocr):
    """A scripted red-light case on real frames (a drawn crossing at the bottom of the overpass video)."""
    ev = ViolationEvent(rule="red_light_pedestrian", zone="south-crossing", start_s=2.0, end_s=6.5, key_t=2.4,
                        object_class="person", track_ids=[9], confidence=0.7, explanation="person #9 entered on red",
                        key_box=(610.0, 450.0, 660.0, 540.0), path=[(2.0, 635.0, 540.0), (6.5, 660.0, 500.0)],
                        signal="ped-s", details={"entry_t": 2.0, "confirmed_t": 2.4, "exit_t": 6.5})
    signals = SignalLog()
    signals.add(0.0, {"ped-s": "green"})
    signals.add(1.5, {"ped-s": "red"})
    moments = sheet_moments(ev, RED_LIGHT_SCENE, 0.0, 8.4)
    # The frames as the evidence writer gets them: one stills_at pass over the case span.
    video = footage_dir / SOURCE
    got = {s.wanted_t: s for s in stills_at(video, probe(video), [ev.key_t, *(m.t for m in moments)])}
    frames = [(got[m.t].t, got[m.t].image_bgr) for m in moments]
    assert all(abs(t - m.t) <= 1 / 60 for (t, _), m in zip(frames, moments))
    closeup = got[ev.key_t].image_bgr[440:540, 600:670].copy()
    composed = render_sheet(ev, RED_LIGHT_SCENE, moments, frames, closeup, signal_log=signals,
                            clock_from=("场景文件的起始时间", "the scene file's start_time"))
    assert composed.image.shape[1] == 1920
    cap = sheet_caption(ev, RED_LIGHT_SCENE, moments, signal_log=signals)
    assert [cap.facts(m.t).signal for m in moments] == ["green", "red", "red"]
    x, y, w, h = composed.bands[1]
    text = read_text(ocr, composed.image[y:y + h, x:x + w])
    assert "红灯" in text and "RED" in text, text
    assert "图像识别" in text and "read from the image" in text, text
    assert "行人不按交通信号灯指示通行" in text and "Pedestrian crossing against a red signal" in text, text
    x, y, w, h = composed.bands[0]
    text = read_text(ocr, composed.image[y:y + h, x:x + w])
    header = read_text(ocr, composed.image[:composed.panels[0][1]])
    assert "时间来源" in header and "start_time" in header, header
    assert "绿灯" in text and "GREEN" in text and "on the kerb" in text, text


def test_a_litter_sheet_records_which_box_is_the_object_left():
    """Redaction of the published sheet must not take a passer-by in front of the object for the
    offender: the layout says which of a picture's offender boxes is the object (``objects``)."""
    from detector.evidence.sheet_record import SheetLayout, sheet_layout_record

    ev, person = litter_event()
    log = TrackLog()
    for o in person:
        log.add(o.t, [o])
    moments = sheet_moments(ev, SCENE, max(0.0, ev.start_s - 5.0), ev.end_s + 5.0)
    frames = [(m.t, np.full((480, 640, 3), 90, np.uint8)) for m in moments]
    closeup = np.full((120, 80, 3), 90, np.uint8)
    composed = render_sheet(ev, SCENE, moments, frames, closeup, track_log=log)
    layout = sheet_layout_record(composed, ev, SCENE, moments, frames, track_log=log, closeup_shape=closeup.shape,
                                 closeup_origin=None, closeup_offender=None)
    stills = [p for p in layout.panels if p.kind == "still"]
    first_seen = float(ev.details["first_seen"])
    for panel in stills:
        if panel.t >= first_seen:
            assert len(panel.objects) == 1 and panel.objects[0] in panel.offender
        else:
            assert panel.objects == ()
    assert any(p.objects and len(p.offender) == 2 for p in stills)  # the litterer beside the object he left
    again = SheetLayout.from_dict(layout.as_dict())
    assert again == layout
    old = layout.as_dict()
    for p in old["panels"]:
        p.pop("objects", None)  # a layout recorded before objects were
    assert all(p.objects == () for p in SheetLayout.from_dict(old).panels)
