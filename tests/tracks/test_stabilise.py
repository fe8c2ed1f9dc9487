"""Camera motion: a known sway and drift applied to real footage is recovered within a pixel or two."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.lowlight import LowLight
from detector.regions import grid_tiles, merge, region_tiles, regions_tiles, zone_region, zone_regions
from detector.stabilise import CameraMotion, map_boxes
from detector.types import Detections


def frames(path, n, step=3):
    cap = cv2.VideoCapture(str(path))
    out = []
    for i in range(n * step):
        ok, f = cap.read()
        if not ok:
            break
        if i % step == 0:
            out.append(f)
    cap.release()
    return out


def test_known_sway_and_drift_on_real_footage_is_recovered(footage_dir):
    clip = frames(footage_dir / "beijing-intersection/uadetrac_overpass.mp4", 30)
    h, w = clip[0].shape[:2]
    motion = CameraMotion()
    errors = []
    for i, f in enumerate(clip):
        # Drift 1 px per analysis frame, sway +-6 px, a slow turn of up to 0.9 degrees.
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.03 * i, 1.0)
        m[:, 2] += (1.0 * i, 6 * np.sin(i / 3))
        est = motion.update(cv2.warpAffine(f, m, (w, h)))
        truth = cv2.invertAffineTransform(m)
        pts = np.array([[0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h], [w / 2, h / 2]])
        errors.append(np.abs(pts @ est[:, :2].T + est[:, 2] - (pts @ truth[:, :2].T + truth[:, 2])).max())
    assert max(errors) < 2.0, errors
    assert motion.stats.poor == 0 and motion.stats.reanchored == 0 and motion.stats.max_shift_px > 25


def test_a_deliberate_pan_takes_a_new_reference(footage_dir):
    clip = frames(footage_dir / "beijing-intersection/uadetrac_overpass.mp4", 20)
    h, w = clip[0].shape[:2]
    motion = CameraMotion()
    for i, f in enumerate(clip):
        m = np.float32([[1, 0, -8.0 * i], [0, 1, 0]])  # a pan of 8 px per analysis frame
        est = motion.update(cv2.warpAffine(f, m, (w, h)))
        assert abs(est[0, 2]) <= 0.04 * w + 1  # never compensates more than "a little"
    assert motion.stats.reanchored >= 3


def test_a_video_that_starts_black_is_stabilised_from_its_first_textured_frame(footage_dir):
    """Before, a first frame without corners stayed the reference for the whole video, and no
    later frame could be registered to it: the sway went unmeasured all along."""
    clip = frames(footage_dir / "beijing-intersection/uadetrac_overpass.mp4", 12)
    h, w = clip[0].shape[:2]
    motion = CameraMotion()
    for _ in range(3):
        assert np.allclose(motion.update(np.zeros_like(clip[0])), np.eye(2, 3))
    errors = []
    for i, f in enumerate(clip):
        m = np.float32([[1, 0, 1.5 * i], [0, 1, -1.0 * i]])  # a drift of 1.5 and 1 px per analysis frame
        est = motion.update(cv2.warpAffine(f, m, (w, h)))
        truth = cv2.invertAffineTransform(m)
        pts = np.array([[0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h], [w / 2, h / 2]])
        errors.append(np.abs(pts @ est[:, :2].T + est[:, 2] - (pts @ truth[:, :2].T + truth[:, 2])).max())
    assert max(errors) < 2.0 and motion.stats.max_shift_px > 15, errors


def test_map_boxes_shifts_and_keeps_boxes_whole():
    m = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, -5.0]])
    assert map_boxes(np.array([[0, 0, 10, 20]], np.float32), m).tolist() == [[10, -5, 20, 15]]


def test_zone_region_tiles_and_merge():
    region = zone_region([[(100, 300), (900, 300), (900, 500), (100, 500)]], (960, 540))
    assert region[0] < 100 and region[2] > 900 and region[3] == 540
    tiles = region_tiles(region, (416, 416))
    assert len(tiles) == 2 and tiles[0][2] > tiles[1][0]  # two overlapping tiles side by side
    assert grid_tiles((0, 0, 100, 100), 1, 1) == [(0, 0, 100, 100)]
    names = {0: "person"}
    a = Detections(np.array([[10, 10, 30, 60]], np.float32), np.array([0.9], np.float32), np.array([0]), names)
    b = Detections(np.array([[11, 10, 31, 61], [12, 12, 28, 40]], np.float32), np.array([0.6, 0.5], np.float32),
                   np.array([0, 0]), names)
    merged = merge([a, b], names)
    assert len(merged) == 1 and merged.confidence[0] == pytest.approx(0.9)  # duplicate and part box dropped


def test_far_apart_zones_get_a_region_each_and_near_ones_share_one():
    # Beijing: a small zone at the far stop line and another at the right kerb. One box around
    # both is nearly the whole upper frame; a region each zooms in on both.
    stopline = [(326, 72), (396, 72), (398, 102), (326, 102)]
    kerb = [(885, 86), (960, 86), (960, 200), (905, 200)]
    regions = zone_regions([stopline, kerb], (960, 540))
    assert len(regions) == 2 and all((r[2] - r[0]) < 250 for r in regions)
    tiles = regions_tiles(regions, (416, 416))
    assert tiles == regions  # each smaller than the model input: one tile, enlarged by the letterbox
    # Two zones side by side share one region; a budget smaller than the groups merges them.
    beside = [(400, 72), (460, 72), (460, 102), (400, 102)]
    assert len(zone_regions([stopline, beside], (960, 540))) == 1
    assert len(zone_regions([stopline, kerb], (960, 540), max_regions=1)) == 1
    # A large region takes the spare tiles of a budget shared with a small one.
    wide = [(0, 300), (960, 300), (960, 540), (0, 540)]
    tiles = regions_tiles(zone_regions([stopline, wide], (960, 540)), (416, 416), max_tiles=4)
    assert 2 < len(tiles) <= 4


def test_low_light_only_touches_dark_frames(footage_dir):
    night = frames(footage_dir / "night-crosswalk/crosswalk.mp4", 1)[0]
    day = frames(footage_dir / "beijing-intersection/uadetrac_overpass.mp4", 1)[0]
    ll = LowLight()
    assert ll.is_dark(night) and not ll.is_dark(day)
    assert ll(day) is day
    lifted = ll(night)
    assert lifted.shape == night.shape and np.percentile(lifted, 75) > np.percentile(night, 75)
