"""People's own detection threshold: weak person boxes kept, vehicles at the same score not."""

from __future__ import annotations

import json

import numpy as np
import yaml
from still_clips import still_clip

from detector.class_scores import ClassScores
from detector.pipeline import AnalyzeOptions, analyze
from detector.types import Detections

NAMES = {0: "person", 2: "car"}


def boxes(*rows: tuple[int, float]) -> Detections:
    """One box per (class id, score), side by side."""
    xyxy = np.array([[10 + 40 * i, 10, 40 + 40 * i, 60] for i in range(len(rows))], np.float32)
    return Detections(xyxy, np.array([s for _, s in rows], np.float32), np.array([c for c, _ in rows], np.int64), NAMES)


def test_people_have_a_threshold_of_their_own():
    found = boxes((0, 0.25), (2, 0.25), (0, 0.15), (2, 0.35))
    assert ClassScores(0.3).kept(found).tolist() == [False, False, False, True]
    assert ClassScores(0.3, person_conf=0.2).kept(found).tolist() == [True, False, False, True]
    assert ClassScores(0.3, person_conf=0.2).floor == 0.2
    assert ClassScores(0.3).floor == 0.3


class WeakDetector:
    """A walker and a parked car, both scored 0.25 (as CenterNet scores far, small objects), plus
    what the detector was asked for: it reports only boxes at or above its ``conf``."""

    input_size = (128, 128)
    class_names = NAMES
    name = "scripted"
    model_path = None

    def __init__(self, conf: float = 0.3):
        self.conf = conf
        self.calls = 0

    def detect(self, frame: np.ndarray) -> Detections:
        x = 20 + 2 * self.calls  # the walker walks right, the car stays
        self.calls += 1
        found = Detections(np.array([[x, 40, x + 12, 80], [120, 50, 180, 80]], np.float32),
                           np.array([0.25, 0.25], np.float32), np.array([0, 2], np.int64), NAMES)
        return found.subset(found.confidence >= self.conf)


def test_the_pipeline_asks_the_detector_for_weak_people_and_tracks_only_them(tmp_path):
    video = tmp_path / "street.mp4"
    still_clip(np.full((180, 320, 3), 100, np.uint8), video, frames=30, fps=10)
    scene = tmp_path / "scene.yaml"
    scene.write_text(yaml.safe_dump({"camera": "c", "frame_size": [320, 180], "zones": [
        {"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [320, 0], [320, 180], [0, 180]]}]}))
    seen = {}
    for person_conf in (None, 0.2):
        detector = WeakDetector()
        out_dir = tmp_path / f"out-{person_conf}"
        # tracks may start at 0.2 here, so only the detection thresholds decide what is tracked
        options = AnalyzeOptions(person_conf=person_conf, track_birth=0.2, evidence=False, regions="off",
                                 stabilise=False, motion_gate=False)
        analyze(video, scene, out_dir, options, detector=detector)
        analysis = json.loads((out_dir / "analysis.json").read_text())
        seen[person_conf] = (analysis["tracks_seen"], detector.conf, analysis["detection"]["person_conf"])
    assert seen[None] == ({}, 0.3, None)  # 0.25 is below the threshold for every class
    assert seen[0.2] == ({"person": 1}, 0.2, 0.2)  # the walker is tracked; the car at 0.25 is not


def test_by_default_people_have_a_threshold_of_their_own(tmp_path):
    """Far walkers scored 0.2-0.3 are tracked without any option; vehicles keep 0.3 (history in
    benchmarks/README.md, 2026-12-06)."""
    video = tmp_path / "street.mp4"
    still_clip(np.full((180, 320, 3), 100, np.uint8), video, frames=30, fps=10)
    scene = tmp_path / "scene.yaml"
    scene.write_text(yaml.safe_dump({"camera": "c", "frame_size": [320, 180], "zones": [
        {"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [320, 0], [320, 180], [0, 180]]}]}))
    detector = WeakDetector()
    options = AnalyzeOptions(track_birth=0.2, evidence=False, regions="off", stabilise=False, motion_gate=False)
    analyze(video, scene, tmp_path / "out", options, detector=detector)
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert (analysis["tracks_seen"], analysis["detection"]["conf"], analysis["detection"]["person_conf"]) == (
        {"person": 1}, 0.3, 0.2)
