"""Drone registration: a known drone-like motion applied to real footage is recovered; frames of
another place are refused; the pipeline finds the same cases on the moving version of a clip as on
the original (zones locked to the ground while the picture drifts, turns and zooms)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from detector.pipeline import AnalyzeOptions, analyze
from detector.register import ReferenceRegistration, map_boxes_h, map_points
from detector.scene import SceneError
from tests.register.moving import write_moved
from tests.tracks.test_stabilise import frames  # every step-th frame of a real clip

BEIJING = "beijing-intersection/uadetrac_overpass.mp4"
DEV_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "dev-set"


def hover(i: float, w: int, h: int) -> np.ndarray:
    """A hovering drone's view of the original picture: drift of +-20 px, a turn of +-2.5 degrees,
    zoom between 0.86x and 0.94x and a slight tilt (original px -> moving px)."""
    a = np.deg2rad(2.5 * np.sin(i / 7))
    s = 0.9 + 0.04 * np.sin(i / 5)
    tx, ty = 20 * np.sin(i / 4), 12 * np.cos(i / 6)
    c, sn = s * np.cos(a), s * np.sin(a)
    cx, cy = w / 2, h / 2
    similar = np.array([[c, -sn, cx - c * cx + sn * cy + tx], [sn, c, cy - sn * cx - c * cy + ty], [0, 0, 1]])
    tilt = np.array([[1, 0, 0], [0, 1, 0], [2e-5 * np.sin(i / 9), 1e-5 * np.cos(i / 8), 1]])
    return tilt @ similar


def test_a_known_drone_motion_on_real_footage_is_recovered(footage_dir):
    clip = frames(footage_dir / BEIJING, 24)
    h, w = clip[0].shape[:2]
    reg = ReferenceRegistration((w, h), clip[0])
    grid = np.array([[x, y] for x in range(100, w - 99, 95) for y in range(80, h - 79, 95)], float)
    errors = []
    for i, f in enumerate(clip):
        truth = hover(i, w, h)
        est = reg.update(i / 10, cv2.warpPerspective(f, truth, (w, h)))
        assert est is not None, f"frame {i} not registered"
        # A ground point seen in the moving picture maps back to where it lies on the reference.
        errors.append(np.hypot(*(map_points(map_points(grid, truth), est) - grid).T))
    errors = np.concatenate(errors)
    assert np.median(errors) < 1.5 and errors.max() < 6.0, (np.median(errors), errors.max())
    stats = reg.stats.to_dict()
    assert stats["registered"] == len(clip) and stats["unregistered"] == 0 and stats["mean_quality"] > 0.3


def test_a_hovering_drones_last_view_tells_the_ground_from_traffic_when_the_fit_is_torn(monkeypatch):
    """The fit finds two motions and the one covering more of the picture (a stream of cars) fails
    the checks: the frame is still registered, on the other (the ground's) when it lies where the
    drone's last registered view was. Scripted models on a real match set."""
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (540, 960, 3), dtype=np.uint8), (3, 3), 0)
    reg = ReferenceRegistration((960, 540), texture)
    shift = lambda dx, dy: np.array([[1.0, 0, dx], [0, 1.0, dy], [0, 0, 1]])  # noqa: E731
    script: list[tuple[tuple[float, float], float]] = []  # per model: its shift, its share of the matches

    def models(src, dst, thresh, size):
        out, used = [], 0
        for (dx, dy), share in script:
            inliers = np.zeros(len(src), bool)
            inliers[used: used + int(share * len(src))] = True
            used += int(share * len(src))
            out.append((shift(dx, dy), inliers))
        return out

    monkeypatch.setattr(reg, "_models", models)
    cars = ((-10, -4), 0.1)
    script[:] = [cars, ((0.5, 0.5), 0.5)]  # no earlier view yet: the preferred model failing is the end
    assert reg.update(0.0, texture) is None
    script[:] = [((1, 1), 0.6)]  # one motion, the ground's: registered
    assert np.allclose(reg.update(0.1, texture)[:2, 2], [1, 1])
    script[:] = [cars, ((1.5, 1), 0.5)]  # the cars cover more and fail; the ground is by the last view
    assert np.allclose(reg.update(0.2, texture)[:2, 2], [1.5, 1])
    script[:] = [cars, ((40, 30), 0.5)]  # the other model is farther from the last view: refused
    assert reg.update(0.3, texture) is None
    assert reg.stats.registered == 2 and reg.stats.unregistered == 2


def test_frames_of_another_place_are_not_registered(footage_dir):
    reference = frames(footage_dir / BEIJING, 1)[0]
    other = frames(footage_dir / "motorway-cyclist/video02.avi", 6, step=10)
    reg = ReferenceRegistration((960, 540), reference)
    assert all(reg.update(i / 10, f) is None for i, f in enumerate(other))
    assert reg.stats.unregistered == len(other) and reg.stats.unregistered_times[0] == 0.0


def test_without_a_reference_image_the_first_textured_frame_is_the_reference(footage_dir):
    clip = frames(footage_dir / BEIJING, 4)
    h, w = clip[0].shape[:2]
    reg = ReferenceRegistration((w // 2, h // 2), None)  # the scene drawn at half the video's size
    first = reg.update(0.0, clip[0])
    assert first is not None and reg.stats.reference == "first frame"
    # Scene px are half the frame's: the reference frame maps onto the scene by that scale.
    assert np.allclose(map_points(np.array([[200.0, 100.0]]), first), [[100.0, 50.0]], atol=1.0)
    box = map_boxes_h(np.array([[100, 100, 300, 200]], np.float32), first)[0]
    assert np.allclose(box, [50, 50, 150, 100], atol=1.0)


def test_a_featureless_reference_image_is_refused():
    with pytest.raises(ValueError, match="too little texture"):
        ReferenceRegistration((320, 240), np.full((240, 320, 3), 90, np.uint8))


def _drone_scene(tmp_path: Path, reference: str | None) -> Path:
    """The Beijing dev-set drills (two no-parking zones, two reversed lanes) as one drone scene."""
    zones = []
    for name in ("beijing-stopped", "beijing-overpass-drill"):
        zones += yaml.safe_load((DEV_SET / f"{name}.scene.yaml").read_text())["zones"]
    scene = {"camera": "beijing-drone-drill", "kind": "drone", "timezone": "Asia/Shanghai",
             "frame_size": [960, 540], "zones": zones}
    if reference:
        scene["reference_image"] = reference
    path = tmp_path / ("drone.scene.yaml" if reference else "fixed.scene.yaml")
    if not reference:
        scene["kind"] = "fixed"
    path.write_text(yaml.safe_dump(scene, allow_unicode=True))
    return path


def test_a_drone_scene_with_a_missing_reference_image_fails_at_once(footage_dir, tmp_path):
    scene = _drone_scene(tmp_path, "no-such-reference.jpg")
    with pytest.raises(SceneError, match="reference_image"):
        analyze(footage_dir / BEIJING, scene, tmp_path / "out", AnalyzeOptions(evidence=False))


def test_a_drone_scene_with_a_blank_reference_image_is_a_scene_error(footage_dir, tmp_path):
    """A blank (or black, or blurred) reference has nothing to register frames to: the scene is at
    fault, said as such (the CLI's exit 2), not a ValueError from deep inside the run."""
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((540, 960, 3), 128, np.uint8))
    scene = _drone_scene(tmp_path, "blank.png")
    with pytest.raises(SceneError, match="reference_image: .*too little texture"):
        analyze(footage_dir / BEIJING, scene, tmp_path / "out", AnalyzeOptions(evidence=False))
    assert not (tmp_path / "out").exists()


@pytest.mark.integration
def test_cases_on_the_moving_version_match_those_on_the_original(footage_dir, tmp_path):
    source = footage_dir / BEIJING
    moving = tmp_path / "hovering.mp4"
    # the original first frame is the place from above, as registered
    write_moved(source, moving, lambda n, _: hover(n / 3.0, 960, 540), first_frame=tmp_path / "reference.png")

    options = AnalyzeOptions(evidence=False, pre=0, post=0)
    analyze(source, _drone_scene(tmp_path, None), tmp_path / "fixed", options)
    # The drone run writes its evidence: each case's tracks.json carries the views the overlay
    # warps the zones by. It detects as the fixed run does (no sliced inference, which a drone
    # scene has by default and which finds more vehicles): what is compared is the registration.
    analyze(moving, _drone_scene(tmp_path, "reference.png"), tmp_path / "drone",
            AnalyzeOptions(pre=1.0, post=1.0, signing_key=tmp_path / "key.pem", slicing="off"))
    fixed = json.loads((tmp_path / "fixed" / "cases.json").read_text())
    drone = json.loads((tmp_path / "drone" / "cases.json").read_text())
    info = json.loads((tmp_path / "drone" / "analysis.json").read_text())

    assert info["registration"]["unregistered"] == 0 and info["registration"]["reference"] == "scene"
    rules = {c["rule"] for c in fixed}
    assert {"illegal_parking", "wrong_way"} <= rules, fixed  # the original finds both kinds
    # Every case on the moving version is one of the original's (no motion invented by the
    # drone), every parking case survives, and wrong-way keeps all but at most one: a vehicle
    # entering at the picture's edge is judged by the edge it is cut by, and the moving picture's
    # edge (its black border) lies elsewhere (measured: one wrong-way case in near-right-area lost).
    # A parking case is the same stay when the spans overlap: a vehicle stopped since before the
    # video starts its case when its track is born, and a far bus scored near the tracker's
    # starting score (0.3) is born at 0.1 s on the original and at 1.4 s on the resampled picture.
    def same(f: dict, c: dict) -> bool:
        if (f["rule"], f["zone"]) != (c["rule"], c["zone"]):
            return False
        if c["rule"] == "illegal_parking":
            return f["start_s"] < c["end_s"] and c["start_s"] < f["end_s"]
        return abs(f["start_s"] - c["start_s"]) <= 1.0

    unmatched = list(fixed)
    for c in drone:
        twin = next((f for f in unmatched if same(f, c)), None)
        assert twin is not None, ("a case the original does not have", c)
        unmatched.remove(twin)
    assert not [c for c in unmatched if c["rule"] == "illegal_parking"], unmatched
    assert len(unmatched) <= 1, unmatched
    for c in drone:
        reg = c["details"]["registration"]
        assert reg["registered"] and reg["frames"] > 0 and reg["mean_quality"] > 0.3
        tracks = json.loads((tmp_path / "drone" / c["evidence"]["tracks"]).read_text())
        assert tracks["views"] and all(len(v) == 10 for v in tracks["views"])
