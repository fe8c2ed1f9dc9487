"""The closer look (``detector.regions.FocusSettings``): windows where the first pass found small
people, given to the model enlarged, their boxes mapped back to the frame and judged there."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from detector.regions import (
    FocusSettings,
    ZoneRegionDetector,
    detect_focus,
    detector_for_settings,
    focus_windows,
)
from detector.types import Detections

NAMES = {0: "person", 2: "car"}
RED, GREY = (0, 0, 255), (128, 128, 128)


class ResolutionDetector:
    """A model that, like a real one, cannot see what is too small in its input.

    It letterboxes whatever picture it gets into ``input_size`` and reports each red blob as a
    person only where the blob is at least ``min_input_px`` tall in the input, its box grown by
    ``pad_input_px`` input pixels a side (a coarse view places boxes worse). A grey blob is a
    "ghost": taken for a person (score 0.25) only where the picture is shown smaller than it is.
    """

    input_size = (512, 512)
    class_names = NAMES
    iou = 0.45
    name = "resolution"

    def __init__(self, min_input_px: float = 12.0, pad_input_px: float = 0.0):
        self.min_input_px, self.pad_input_px = min_input_px, pad_input_px
        self.calls: list[tuple[int, int]] = []

    def detect(self, picture: np.ndarray) -> Detections:
        h, w = picture.shape[:2]
        self.calls.append((w, h))
        scale = min(self.input_size[1] / w, self.input_size[0] / h)
        pad = self.pad_input_px / scale
        boxes, scores = [], []
        for colour, score in ((RED, 0.9), (GREY, 0.25)):
            if colour == GREY and scale >= 1:
                continue
            mask = np.all(picture == colour, axis=2).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, bw, bh, _area in stats[1:n]:
                if bh * scale >= self.min_input_px:
                    boxes.append((max(x - pad, 0), max(y - pad, 0), min(x + bw + pad, w), min(y + bh + pad, h)))
                    scores.append(score)
        return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
                          np.zeros(len(boxes), np.int64), NAMES)


def picture(blobs, size=(960, 540)) -> np.ndarray:
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    for colour, (x1, y1, x2, y2) in blobs:
        frame[y1:y2, x1:x2] = colour
    return frame


def persons(found: Detections) -> list[list[float]]:
    return sorted(b.tolist() for b, n in zip(found.xyxy, found.names()) if n == "person")


def test_windows_cover_the_small_boxes_nearest_together_first_and_stay_inside_the_frame():
    group = [(600, 300, 606, 320), (640, 310, 646, 330), (700, 380, 706, 400)]  # within one 256 px square
    alone = [(20, 500, 26, 520)]
    boxes = np.array(group + alone, np.float32)
    windows = focus_windows(boxes, (960, 540), 256, max_windows=4)
    assert len(windows) == 2
    for x1, y1, x2, y2 in windows:
        assert (x2 - x1, y2 - y1) == (256, 256) and x1 >= 0 and y1 >= 0 and x2 <= 960 and y2 <= 540
    first, second = windows
    assert all(first[0] <= b[0] and b[2] <= first[2] and first[1] <= b[1] and b[3] <= first[3] for b in group)
    assert second[0] == 0 and second[3] == 540  # pushed back inside the frame's corner, box held whole
    assert focus_windows(boxes, (960, 540), 256, max_windows=1) == [first]
    # A frame smaller than the window: the window is the frame's shorter side.
    assert focus_windows(np.array([[300, 10, 306, 30]], np.float32), (320, 240), 256, 4) == [(80, 0, 320, 240)]
    # A box larger than the window cannot be held by one and is left out.
    assert focus_windows(np.array([[0, 0, 300, 300]], np.float32), (960, 540), 256, 4) == []


def test_a_small_person_the_first_pass_missed_is_found_and_put_back_where_it_stands():
    seed = (500, 200, 508, 230)  # 30 px tall: 16 px in the whole frame's input (scale 0.53), found
    missed = (560, 250, 565, 264)  # 14 px tall: 7.5 px there, missed; 28 px in a window at zoom 2
    frame = picture([(RED, seed), (RED, missed)])
    detector = ResolutionDetector()
    first = detector.detect(frame)
    assert persons(first) == [list(map(float, seed))]
    found = detect_focus(detector, frame, first, FocusSettings(max_windows=4))
    # Boxes from the window are in frame pixels: a wrong offset or scale would move them.
    assert persons(found) == sorted([list(map(float, seed)), list(map(float, missed))])
    assert detector.calls == [(960, 540), (256, 256)]  # one window for both


def test_inside_a_window_its_better_placed_box_replaces_the_first_pass_one():
    person = (500, 200, 508, 230)
    frame = picture([(RED, person)])
    detector = ResolutionDetector(pad_input_px=2.0)  # 3.75 frame px a side in the frame pass, 1 in a window
    first = detector.detect(frame)
    assert np.abs(first.xyxy[0] - person).max() == pytest.approx(3.75, abs=0.01)
    found = detect_focus(detector, frame, first, FocusSettings())
    assert len(found) == 1
    assert np.abs(found.xyxy[0] - person).max() == pytest.approx(1.0, abs=0.01)


def test_a_weak_small_box_the_closer_look_does_not_confirm_is_dropped():
    ghost = (300, 100, 306, 130)  # looks like a person only when shown smaller than it is
    frame = picture([(GREY, ghost)])
    detector = ResolutionDetector()
    first = detector.detect(frame)
    assert persons(first) == [list(map(float, ghost))]
    assert len(detect_focus(detector, frame, first, FocusSettings())) == 0
    # Below the seeding score nothing is looked at again, and the box is left as it was.
    assert detect_focus(detector, frame, first, FocusSettings(min_score=0.3)) is first


def test_people_a_tile_already_enlarged_are_not_looked_at_again():
    near_zone = (60, 60, 66, 90)  # inside the zone tile (160 px, enlarged 3.2x): closer than a window
    elsewhere = (700, 300, 706, 330)  # seen only by the frame pass, at 0.53
    frame = picture([(RED, near_zone), (RED, elsewhere)])
    detector = ResolutionDetector()
    region = ZoneRegionDetector(detector, [(0, 0, 160, 160)], focus=FocusSettings())
    found = region.detect(frame)
    assert persons(found) == sorted([list(map(float, near_zone)), list(map(float, elsewhere))])
    assert detector.calls == [(960, 540), (160, 160), (256, 256)]  # one window, for the person outside the tile
    # The tile alone, on a frame where nobody is outside it: no window at all.
    detector.calls.clear()
    ZoneRegionDetector(detector, [(0, 0, 160, 160)], focus=FocusSettings()).detect(picture([(RED, near_zone)]))
    assert detector.calls == [(960, 540), (160, 160)]


def test_eval_detections_setting_runs_the_grid_then_the_windows():
    seed, missed = (500, 200, 508, 230), (560, 250, 565, 264)
    frame = picture([(RED, seed), (RED, missed)])
    detector = ResolutionDetector()
    assert persons(detector_for_settings(detector, "none")(frame)) == [list(map(float, seed))]
    detector.calls.clear()
    found = detector_for_settings(detector, "none", focus=FocusSettings())(frame)
    assert len(persons(found)) == 2 and detector.calls == [(960, 540), (256, 256)]
    detector.calls.clear()
    detector_for_settings(detector, "2x2", focus=FocusSettings())(frame)
    # the frame, four tiles (each ~533x300, scale 0.96: both people seen, neither closer than 2x), one window
    assert len(detector.calls) == 1 + 4 + 1 and detector.calls[-1] == (256, 256)


def test_bad_focus_settings_are_refused():
    with pytest.raises(ValueError, match="max_windows"):
        FocusSettings(max_windows=0)
    with pytest.raises(ValueError, match="zoom"):
        FocusSettings(zoom=0.5)
    assert FocusSettings().to_dict() == {"max_windows": 4, "zoom": 2.0, "min_score": 0.2, "max_height": 40.0,
                                         "classes": ["person"]}


def test_the_cli_refuses_a_negative_number_of_windows(tmp_path, capsys):
    from civicwatch.cli import main

    assert main(["eval", "detections", "--images", str(tmp_path), "--labels", str(tmp_path), "--focus", "-1"]) == 2
    assert "--focus" in capsys.readouterr().err
    scene = tmp_path / "s.yaml"
    scene.write_text("camera: c\nframe_size: [64, 64]\nzones: []\n")
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "v.mp4"), "--scene", str(scene), "--out", str(out), "--focus", "-1"]) == 2
    assert "--focus" in capsys.readouterr().err and not out.exists()


def test_the_pipeline_records_the_closer_look(footage_dir, tmp_path):
    import yaml

    from detector.pipeline import AnalyzeOptions, analyze

    clip = footage_dir / "beijing-intersection" / "uadetrac_overpass_short.mp4"
    scene = tmp_path / "fixed.scene.yaml"
    scene.write_text(yaml.safe_dump({"camera": "cam", "frame_size": [960, 540], "zones": [
        {"name": "z", "kind": "no_parking", "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]]}]}))
    fast = {"evidence": False, "analysis_fps": 2.0, "motion_gate": False}
    analyze(clip, scene, tmp_path / "on", AnalyzeOptions(**fast, focus_windows=2), detector=ResolutionDetector())
    detection = json.loads((tmp_path / "on" / "analysis.json").read_text())["detection"]
    assert detection["focus"] == {**FocusSettings(max_windows=2).to_dict()}
    analyze(clip, scene, tmp_path / "off", AnalyzeOptions(**fast), detector=ResolutionDetector())
    assert json.loads((tmp_path / "off" / "analysis.json").read_text())["detection"]["focus"] is None
