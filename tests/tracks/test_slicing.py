"""Sliced inference: the grid covers the frame with the configured overlap, cut objects become one box."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from detector.pipeline import AnalyzeOptions, analyze
from detector.regions import ZoneRegionDetector, detect_tiles
from detector.scene import SceneError, parse_scene
from detector.slicing import (
    SliceSettings,
    SlicingError,
    frame_tiles,
    resolve_slicing,
    slice_grid,
)
from detector.types import Detections

NAMES = {0: "person", 2: "car"}
COLOURS = {
    0: (0, 0, 255),
    2: (0, 255, 0),
}  # BGR: red things are people, green ones cars


class ColourDetector:
    """Finds every red or green blob in whatever picture it is given (a frame or a tile crop).

    A blob cut by the crop's edge is reported as the part the crop holds, as a real detector
    reports a half-seen object. ``blind_above``: pictures wider than this find nothing (a frame
    pass that misses what only the tiles see).
    """

    input_size = (128, 128)
    class_names = NAMES
    iou = 0.45
    name = "colours"

    def __init__(self, blind_above: int | None = None):
        self.blind_above = blind_above
        self.calls = 0

    def detect(self, frame: np.ndarray) -> Detections:
        self.calls += 1
        if self.blind_above is not None and frame.shape[1] > self.blind_above:
            return Detections.empty(NAMES)
        boxes, scores, classes = [], [], []
        for cls, colour in COLOURS.items():
            mask = np.all(frame == colour, axis=2).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            for x, y, w, h, _area in stats[1:n]:
                boxes.append((x, y, x + w, y + h))
                scores.append(0.9)
                classes.append(cls)
        return Detections(
            np.array(boxes, np.float32).reshape(-1, 4),
            np.array(scores, np.float32),
            np.array(classes, np.int64),
            NAMES,
        )


def picture(objects, size=(640, 360)) -> np.ndarray:
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    for cls, (x1, y1, x2, y2) in objects:
        frame[y1:y2, x1:x2] = COLOURS[cls]
    return frame


def test_grid_covers_the_frame_with_the_configured_overlap():
    settings = SliceSettings(tile=320, overlap=0.25)
    tiles = slice_grid((1920, 1080), settings)
    covered = np.zeros((1080, 1920), bool)
    for x1, y1, x2, y2 in tiles:
        assert (x2 - x1, y2 - y1) == (
            320,
            320,
        )  # every tile full size: the last ones flush with the edge
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    xs = sorted({t[0] for t in tiles})
    ys = sorted({t[1] for t in tiles})
    assert xs[0] == 0 and xs[-1] == 1920 - 320 and ys[0] == 0 and ys[-1] == 1080 - 320
    for a, b in [*pairwise(xs), *pairwise(ys)]:
        assert (
            320 - (b - a) >= settings.overlap_px == 80
        )  # neighbours share at least the overlap
    assert (
        len(tiles) == len(xs) * len(ys) == 8 * 5
    )  # ceil((1920-80)/240) x ceil((1080-80)/240)


def test_a_frame_no_larger_than_a_tile_is_not_sliced():
    assert slice_grid((300, 200), SliceSettings(tile=320)) == [(0, 0, 300, 200)]
    assert (
        frame_tiles((300, 200), SliceSettings(tile=320)) == []
    )  # the frame pass sees it already
    assert slice_grid((960, 300), SliceSettings(tile=320, overlap=0.0)) == [
        (0, 0, 320, 300),
        (320, 0, 640, 300),
        (640, 0, 960, 300),
    ]


def test_bad_settings_are_refused_with_their_name():
    with pytest.raises(SlicingError, match="tile"):
        SliceSettings(tile=10)
    with pytest.raises(SlicingError, match="overlap"):
        SliceSettings(tile=320, overlap=0.9)
    with pytest.raises(SlicingError, match="slicing must be"):
        resolve_slicing("sometimes", "drone", None)


def test_an_object_cut_by_a_tile_edge_becomes_one_box():
    # A car 200 px wide across the edge between the first two tiles (tiles 256, overlap 64): no
    # tile holds it whole, and the frame pass does not see it either.
    car = (150, 100, 350, 180)
    frame = picture([(2, car)])
    tiles = slice_grid((640, 360), SliceSettings(tile=256, overlap=0.25))
    assert not any(t[0] <= car[0] and car[2] <= t[2] for t in tiles)
    found = detect_tiles(
        ColourDetector(blind_above=400), frame, tiles, None, join_cut_objects=True
    )
    assert len(found) == 1 and found.names() == ["car"]
    assert found.xyxy[0].tolist() == pytest.approx(car)
    # Without joining (the zone tiles' rule), the cut pieces are dropped.
    assert len(detect_tiles(ColourDetector(blind_above=400), frame, tiles, None)) == 0


def test_a_small_object_seen_whole_by_one_tile_and_cut_by_another_is_one_box():
    person = (
        230,
        150,
        250,
        190,
    )  # in the band both of the first two tiles see (192..256)
    frame = picture([(0, person)])
    tiles = slice_grid((640, 360), SliceSettings(tile=256, overlap=0.25))
    found = detect_tiles(
        ColourDetector(blind_above=400), frame, tiles, None, join_cut_objects=True
    )
    assert found.names() == ["person"] and found.xyxy[0].tolist() == pytest.approx(
        person
    )


def test_an_object_cut_at_a_corner_of_four_tiles_is_one_box_and_neighbours_stay_apart():
    car = (150, 60, 350, 300)  # across both the vertical and the horizontal cut
    walkers = [
        (0, (400, 20, 412, 44)),
        (0, (416, 20, 428, 44)),
    ]  # two people side by side
    frame = picture([(2, car), *walkers])
    tiles = slice_grid((640, 360), SliceSettings(tile=256, overlap=0.25))
    found = detect_tiles(
        ColourDetector(blind_above=400), frame, tiles, None, join_cut_objects=True
    )
    cars = found.xyxy[np.array(found.names()) == "car"]
    people = found.xyxy[np.array(found.names()) == "person"]
    assert len(cars) == 1 and cars[0].tolist() == pytest.approx(car)
    assert sorted(p.tolist() for p in people) == [
        list(map(float, b)) for _, b in walkers
    ]


def test_joined_pieces_do_not_double_an_object_the_frame_pass_saw_whole():
    car = (150, 100, 350, 180)
    frame = picture([(2, car)])
    tiles = slice_grid((640, 360), SliceSettings(tile=256, overlap=0.25))
    detector = ColourDetector()  # sees the frame too
    found = detect_tiles(
        detector, frame, tiles, detector.detect(frame), join_cut_objects=True
    )
    assert len(found) == 1 and found.xyxy[0].tolist() == pytest.approx(car)


SCENE = {
    "camera": "cam",
    "frame_size": [640, 360],
    "zones": [
        {
            "name": "z",
            "kind": "no_parking",
            "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]],
        }
    ],
}


def test_drone_scenes_slice_by_default_and_fixed_cameras_keep_their_old_behaviour():
    fixed, drone = parse_scene(SCENE), parse_scene({**SCENE, "kind": "drone"})
    assert resolve_slicing("auto", fixed.kind, fixed.slicing) is None
    assert resolve_slicing("auto", drone.kind, drone.slicing) == SliceSettings(320, 0.2)
    assert resolve_slicing("off", drone.kind, drone.slicing) is None
    assert resolve_slicing("on", fixed.kind, fixed.slicing, tile=256) == SliceSettings(
        256, 0.2
    )
    tuned = parse_scene({**SCENE, "slicing": {"tile": 480, "overlap": 0.1}})
    assert resolve_slicing("auto", tuned.kind, tuned.slicing) == SliceSettings(480, 0.1)
    assert resolve_slicing(
        "auto", tuned.kind, tuned.slicing, overlap=0.3
    ) == SliceSettings(480, 0.3)
    off = parse_scene({**SCENE, "kind": "drone", "slicing": {"enabled": False}})
    assert resolve_slicing("auto", off.kind, off.slicing) is None
    with pytest.raises(SceneError, match="slicing"):
        parse_scene({**SCENE, "slicing": {"tile": 8}})


def test_the_pipeline_detector_runs_the_frame_and_every_tile_and_records_the_slicing():
    settings = SliceSettings(tile=256, overlap=0.25)
    tiles = frame_tiles((640, 360), settings)
    detector = ColourDetector()
    region = ZoneRegionDetector(detector, tiles, slicing=settings)
    car = (150, 100, 350, 180)
    found = region.detect(picture([(2, car)]))
    assert detector.calls == 1 + len(tiles) == 1 + 3 * 2
    assert len(found) == 1 and found.xyxy[0].tolist() == pytest.approx(car)
    assert region.slicing_dict() == {"tile": 256, "overlap": 0.25, "tiles": 6}
    assert ZoneRegionDetector(detector, []).slicing_dict() is None


class CountingDetector(ColourDetector):
    """The colour detector on real footage (finds next to nothing), counting calls and picture sizes."""

    model_path = None

    def __init__(self):
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def detect(self, frame: np.ndarray) -> Detections:
        self.sizes.append((frame.shape[1], frame.shape[0]))
        return super().detect(frame)


def _scene_file(tmp_path, **extra) -> Path:
    scene = {**SCENE, "frame_size": [960, 540], **extra}
    path = tmp_path / f"{extra.get('kind', 'fixed')}.scene.yaml"
    path.write_text(yaml.safe_dump(scene))
    return path


def test_a_drone_analysis_slices_by_default_and_records_its_tiles(
    footage_dir, tmp_path
):
    clip = (
        footage_dir / "beijing-intersection" / "uadetrac_overpass_short.mp4"
    )  # 960x540
    fast = {"evidence": False, "analysis_fps": 2.0, "motion_gate": False}
    detector = CountingDetector()
    analyze(
        clip,
        _scene_file(tmp_path, kind="drone"),
        tmp_path / "drone",
        AnalyzeOptions(**fast),
        detector=detector,
    )
    detection = json.loads((tmp_path / "drone" / "analysis.json").read_text())[
        "detection"
    ]
    tiles = [tuple(t) for t in detection["region_tiles"]]
    assert detection["slicing"] == {"tile": 320, "overlap": 0.2, "tiles": 8}
    # 4 x 2 tiles of 320 px sharing >= 64 px
    assert tiles == slice_grid((960, 540), SliceSettings())
    # Every frame is detected on whole and on each of its 8 tiles.
    frames = detector.sizes.count((960, 540))
    assert frames >= 4 and detector.sizes.count((320, 320)) == 8 * frames

    # Settings from the options (the CLI's --slice-tile / --slice-overlap) win over the default.
    analyze(
        clip,
        _scene_file(tmp_path, kind="drone"),
        tmp_path / "tuned",
        AnalyzeOptions(**fast, slice_tile=480, slice_overlap=0.1),
        detector=CountingDetector(),
    )
    tuned = json.loads((tmp_path / "tuned" / "analysis.json").read_text())["detection"]
    assert tuned["slicing"] == {"tile": 480, "overlap": 0.1, "tiles": 3 * 2}

    # A fixed camera keeps its old behaviour (zone tiles, no slicing) unless asked.
    analyze(
        clip,
        _scene_file(tmp_path),
        tmp_path / "fixed",
        AnalyzeOptions(**fast),
        detector=CountingDetector(),
    )
    assert (
        json.loads((tmp_path / "fixed" / "analysis.json").read_text())["detection"][
            "slicing"
        ]
        is None
    )
    analyze(
        clip,
        _scene_file(tmp_path, kind="drone"),
        tmp_path / "off",
        AnalyzeOptions(**fast, slicing="off"),
        detector=CountingDetector(),
    )
    assert (
        json.loads((tmp_path / "off" / "analysis.json").read_text())["detection"][
            "slicing"
        ]
        is None
    )


def test_bad_slicing_options_fail_before_any_work(footage_dir, tmp_path):
    clip = footage_dir / "beijing-intersection" / "uadetrac_overpass_short.mp4"
    detector = CountingDetector()
    with pytest.raises(SlicingError, match="overlap"):
        analyze(
            clip,
            _scene_file(tmp_path, kind="drone"),
            tmp_path / "out",
            AnalyzeOptions(evidence=False, slice_overlap=0.95),
            detector=detector,
        )
    assert detector.calls == 0 and not (tmp_path / "out").exists()


def test_analyze_refuses_bad_slicing_flags_with_exit_code_2(
    footage_dir, tmp_path, capsys
):
    from civicwatch.cli import main

    clip = footage_dir / "beijing-intersection" / "uadetrac_overpass_short.mp4"
    scene = _scene_file(tmp_path, kind="drone")
    args = ["analyze", str(clip), "--scene", str(scene), "--out", str(tmp_path / "out")]
    assert main([*args, "--slice-tile", "10"]) == 2
    assert "slice tile" in capsys.readouterr().err
    assert main([*args, "--slice-overlap", "1.5"]) == 2
    assert "slice overlap" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
