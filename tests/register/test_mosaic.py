"""Drone flights along a road: registered frame to frame into a mosaic of the flight.

On the real road-survey flight (a nadir drone moving ~40 px a frame, new ground in every frame)
the chain is consistent: two frames registered to each other directly agree with the mosaic's
transforms to a few pixels. On a flight made from real footage (the Beijing intersection panned
across, new ground entering at the bottom all along), the cases found on the mosaic are the
original's: the parked vehicles stay parked while the picture moves. A mosaic of another video,
or a scene not drawn on it, is refused before any work.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from civicwatch.cli import main
from detector.decode import DecodeReport, iter_frames
from detector.media.encode import H264Writer
from detector.mosaic import MosaicError, _carried_on, build_mosaic, load_mosaic
from detector.pipeline import AnalyzeOptions, analyze
from detector.register import ReferenceRegistration, map_points
from detector.scene import SceneError
from tests.register.moving import write_moved

ROAD = "../footage-more/drone-road-survey/atg_frames_000-131_5fps.mp4"
BEIJING = "beijing-intersection/uadetrac_overpass.mp4"
DEV_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "dev-set"


@pytest.fixture(scope="module")
def road_mosaic(footage_dir, tmp_path_factory):
    """The first 6 s of the real road survey at 5 frames a second, made by the CLI."""
    out = tmp_path_factory.mktemp("road") / "mosaic"
    assert main(["mosaic", str(footage_dir / ROAD), "--out", str(out), "--analysis-fps", "5", "--until", "6"]) == 0
    return out


def test_a_real_flight_along_a_road_is_chained_consistently(footage_dir, road_mosaic):
    mosaic = load_mosaic(road_mosaic / "mosaic.json")
    w, h = mosaic.frame_size
    placed = [f for f in mosaic.frames if f.homography is not None]
    assert len(mosaic.frames) >= 30 and len(placed) >= len(mosaic.frames) - 2  # a blurred frame may be left out
    assert mosaic.size[1] > 2.5 * h  # the flight covered ground well beyond one picture
    # ... at the height it flew: no scale creeps into the chain (the first and last pictures'
    # outlines keep their size on the mosaic)
    areas = [cv2.contourArea(map_points(np.array([[0, 0], [w, 0], [w, h], [0, h]], float), np.asarray(f.homography).reshape(3, 3)).astype(np.float32))
             for f in (placed[0], placed[-1])]
    assert 0.9 < areas[1] / areas[0] < 1.1, areas
    assert cv2.imread(str(road_mosaic / "mosaic.jpg")).shape[:2] == (mosaic.size[1], mosaic.size[0])
    images = {round(f.t, 3): f.image for f in iter_frames(footage_dir / ROAD, 5.0, DecodeReport(), end_s=6.0)
              if f.image is not None}
    to_mosaic = {round(f.t, 3): np.asarray(f.homography).reshape(3, 3) for f in placed}
    times = sorted(to_mosaic)
    errors, pairs = [], 0
    for a, b in zip(times[::4], times[3::4]):  # frames 3 apart (~120 px of flight), matched directly
        direct = ReferenceRegistration((w, h))
        assert direct.set_reference(images[b])
        hom, _ = direct.match(images[a])
        if hom is None:
            continue  # too little agreement to serve as a yardstick
        pairs += 1
        grid = np.array([[x, y] for x in range(80, w, 160) for y in range(60, h, 120)], np.float64)
        seen_in_b = map_points(grid, hom)
        inside = (seen_in_b[:, 0] > 0) & (seen_in_b[:, 0] < w) & (seen_in_b[:, 1] > 0) & (seen_in_b[:, 1] < h)
        via_a = map_points(grid[inside], to_mosaic[a])
        via_b = map_points(seen_in_b[inside], to_mosaic[b])
        errors.extend(np.linalg.norm(via_a - via_b, axis=1))
    assert pairs >= 5 and len(errors) > 50, (pairs, len(errors))
    assert float(np.median(errors)) < 3.0, np.percentile(errors, [50, 90])


def test_a_flight_that_starts_dark_is_chained_from_its_first_textured_frame(footage_dir, tmp_path):
    """The first second black (the camera still setting its exposure), then the real road survey:
    the chain starts at the first frame it can hold on to. Before, only the very first frame could
    start it, and such a flight gave no mosaic at all."""
    frames = [f.image for f in iter_frames(footage_dir / ROAD, 5.0, DecodeReport(), end_s=3.0) if f.image is not None]
    h, w = frames[0].shape[:2]
    video = tmp_path / "dark-start.mp4"
    writer = H264Writer(video, w, h, 5.0, Fraction(1, 5), crf=20, preset="veryfast")
    try:
        for n, image in enumerate([np.zeros_like(frames[0])] * 5 + frames):
            writer.encode_bgr(image, n)
    finally:
        writer.close()
    mosaic = build_mosaic(video, tmp_path / "mosaic", analysis_fps=5.0)
    placed = [f.homography is not None for f in mosaic.frames]
    assert placed[:5] == [False] * 5  # black: nothing to register
    assert sum(placed[5:]) >= len(frames) - 1 and mosaic.size[1] > 1.5 * h
    assert np.allclose(np.asarray(mosaic.frames[5].homography).reshape(3, 3)[:2, :2], np.eye(2), atol=1e-6)
    black = tmp_path / "black.mp4"
    writer = H264Writer(black, w, h, 5.0, Fraction(1, 5), crf=20, preset="veryfast")
    try:
        for n in range(5):
            writer.encode_bgr(np.zeros_like(frames[0]), n)
    finally:
        writer.close()
    with pytest.raises(MosaicError, match="no frame has enough texture"):
        build_mosaic(black, tmp_path / "none", analysis_fps=5.0)


def shifted(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0, dx], [0, 1.0, dy], [0, 0, 1]])


def test_the_flights_own_motion_tells_the_ground_from_a_stream_of_traffic_that_covers_more():
    """The failure a CI machine met on the flight below: where a stream of cars is seen in more
    cells of the picture than the ground, the cover rule prefers the cars' motion, whose share of
    the matches then fails the check and the frame was lost; the flight's motion carried on
    takes the ground instead, and never the cars."""
    rng = np.random.default_rng(7)
    ground = rng.uniform([0, 0], [240, 540], (300, 2))  # the ground: the left quarter only
    cars = rng.uniform([0, 0], [960, 540], (200, 2))  # the cars: all over the picture
    others = rng.uniform([0, 0], [960, 540], (600, 2))  # matches that agree with nothing
    src = np.vstack([ground, cars, others]).astype(np.float32)
    dst = np.vstack([map_points(ground, shifted(1, 2)), map_points(cars, shifted(-10, -4)),
                     rng.uniform([0, 0], [960, 540], (600, 2))])
    dst[:500] += rng.normal(0, 0.3, (500, 2))
    dst = dst.astype(np.float32)
    matcher = ReferenceRegistration((960, 540), model="similarity")
    models = matcher._models(src, dst, 2.5, (960, 540))
    assert np.allclose(models[0][0][:2, 2], [-10, -4], atol=0.5)  # the cover prefers the cars ...
    refused, share = matcher._choose(models, len(src), (960, 540), None)
    assert refused is None and share < matcher.min_inlier_share  # ... and fails the check
    hom, share = matcher._choose(models, len(src), (960, 540), shifted(1.2, 1.8))  # the last step on
    assert np.allclose(hom[:2, 2], [1, 2], atol=0.5) and share >= 0.27
    # Where the cars are what the flight's motion expects (they fail the share), nothing is taken.
    assert matcher._choose(models, len(src), (960, 540), shifted(-9, -4))[0] is None


def test_the_flights_motion_is_carried_on_over_missed_frames():
    placed = [(0.0, shifted(0, 0)), (0.1, shifted(0, 3))]
    assert np.allclose(_carried_on(placed[:1], 0.2), shifted(0, 0))  # one frame: from rest
    assert np.allclose(_carried_on(placed, 0.2), shifted(0, 6))
    assert np.allclose(_carried_on(placed, 0.4), shifted(0, 12))  # two frames missed since


def test_a_mosaic_of_another_video_or_a_scene_not_drawn_on_it_is_refused(footage_dir, road_mosaic, tmp_path):
    mosaic = load_mosaic(road_mosaic / "mosaic.json")
    scene = {"camera": "road", "kind": "drone", "frame_size": list(mosaic.size),
             "mosaic": str(road_mosaic / "mosaic.json"), "slicing": {"enabled": False},
             "zones": [{"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]]}]}
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(scene), encoding="utf-8")
    with pytest.raises(SceneError, match="another video"):
        analyze(footage_dir / BEIJING, path, tmp_path / "a", AnalyzeOptions(analysis_fps=5))
    with pytest.raises(SceneError, match="same rate"):
        analyze(footage_dir / ROAD, path, tmp_path / "b", AnalyzeOptions(analysis_fps=10))
    path.write_text(yaml.safe_dump({**scene, "frame_size": [960, 540]}), encoding="utf-8")
    with pytest.raises(SceneError, match="frame_size"):
        analyze(footage_dir / ROAD, path, tmp_path / "c", AnalyzeOptions(analysis_fps=5))


def flight(n: int, frames: int) -> np.ndarray:
    """The picture of the flight at frame ``n``: the original seen 1.25x closer, the view moving
    down the picture by 108 original px over the clip (original px -> flight px)."""
    y0 = 108.0 * n / max(1, frames - 1)
    return np.array([[1.25, 0, -1.25 * 192], [0, 1.25, -1.25 * y0], [0, 0, 1]])


def test_cases_on_a_flight_along_the_road_are_the_originals(footage_dir, tmp_path):
    source = footage_dir / BEIJING
    moving = tmp_path / "flight.mp4"
    total = write_moved(source, moving, flight)
    assert main(["mosaic", str(moving), "--out", str(tmp_path / "mosaic")]) == 0
    mosaic = load_mosaic(tmp_path / "mosaic" / "mosaic.json")
    assert mosaic.size[1] > 540 + 100  # new ground came in at the bottom all along

    # The dev-set scene's zones, drawn where they lie on the mosaic (the mosaic's plane is the
    # flight's first picture: original -> first picture -> mosaic).
    scene = yaml.safe_load((DEV_SET / "beijing-stopped.scene.yaml").read_text(encoding="utf-8"))
    orig_to_mosaic = np.asarray(mosaic.frames[0].homography).reshape(3, 3) @ flight(0, total)
    for zone in scene["zones"]:
        zone["polygon"] = [[round(float(x), 1), round(float(y), 1)]
                           for x, y in map_points(np.array(zone["polygon"], float), orig_to_mosaic)]
    scene.update(kind="drone", frame_size=list(mosaic.size), mosaic="mosaic/mosaic.json", slicing={"enabled": False})
    (tmp_path / "flight.scene.yaml").write_text(yaml.safe_dump(scene, allow_unicode=True), encoding="utf-8")

    options = AnalyzeOptions(evidence=False, pre=0, post=0)
    fixed = analyze(source, DEV_SET / "beijing-stopped.scene.yaml", tmp_path / "fixed", options).cases
    drone = analyze(moving, tmp_path / "flight.scene.yaml", tmp_path / "drone", options).cases
    info = json.loads((tmp_path / "drone" / "analysis.json").read_text())
    # Every frame chained here; the CI machine's encode of the flight once left one frame (6.5 s)
    # out (its fit there is not reproducible on this one; the likely cause is fixed, see
    # test_the_flights_own_motion_tells_...). A frame left out gives no cases, by design, and the
    # cases below are the same without it (checked by dropping that frame from the mosaic).
    assert info["registration"]["reference"] == "mosaic" and info["registration"]["unregistered"] <= 1
    assert {c["rule"] for c in fixed} == {"illegal_parking"}
    # The far stop-line queue is judged on the margin, on both: the flight (1.25x, panning down)
    # loses that zone over the top of its picture from ~6 s on, and what queues there is small and
    # scored near the detector's threshold (a far articulated bus below 0.45); the fixed camera sees
    # the zone through an enlarged tile at a fixed place in its picture, which does not follow a
    # moving camera. Measured here: 2 stays there on the original, 1 on the flight; a CI machine
    # (another CPU, other float rounding in the detector) once found one on the flight and none on
    # the original. So that zone's counts may differ by one either way; every other case matches.
    margin = "far-stopline-queue"
    unmatched = [c for c in fixed if c["zone"] != margin]
    for c in (c for c in drone if c["zone"] != margin):
        twin = next((f for f in unmatched if f["zone"] == c["zone"] and abs(f["start_s"] - c["start_s"]) <= 1.0), None)
        assert twin is not None, ("a case the original does not have", c, fixed)
        unmatched.remove(twin)
    assert not unmatched, ("an original case the flight lost", unmatched, drone)
    assert sum(c["zone"] != margin for c in fixed) >= 3
    assert abs(sum(c["zone"] == margin for c in drone) - sum(c["zone"] == margin for c in fixed)) <= 1, (drone, fixed)


def test_an_output_path_that_is_a_file_is_refused_before_the_flight_is_registered(footage_dir, tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me\n")
    for out in (taken, taken / "mosaic"):
        assert main(["mosaic", str(footage_dir / ROAD), "--out", str(out), "--analysis-fps", "5", "--until", "2"]) == 2
        assert "notes.txt is a file, not a folder" in capsys.readouterr().err
    assert taken.read_text() == "keep me\n"
