"""When and for how long a drone flight's frames could not be registered (nothing was judged
then): each run says its periods, counted over the frames it owns, so a split job's segments add
up to the flight (a loss across their boundary is one period)."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import yaml

from detector.media.encode import H264Writer
from detector.pipeline import AnalyzeOptions, analyze
from detector.register import merge_losses
from tests.register.red_blobs import RedBlobs
from tests.tracks.test_stabilise import frames

BEIJING = "beijing-intersection/uadetrac_overpass.mp4"


def test_a_registration_loss_is_told_with_its_period_and_a_split_flight_adds_up(footage_dir, tmp_path):
    """The drone sees nothing to register from 3 s to 9 s of an 11 s flight. The warning said only
    "60 of 110 analysis frames"; a split job's segments each said their own count, their pre-roll
    (the neighbour's frames) counted too, and none said when."""
    ground = frames(footage_dir / BEIJING, 1)[0]
    ground = cv2.cvtColor(cv2.cvtColor(ground, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "reference.png"), ground)
    fps = 10
    writer = H264Writer(tmp_path / "flight.mp4", 960, 540, fps, Fraction(1, fps), crf=12, preset="veryfast")
    try:
        for n in range(11 * fps):
            lost = 3.0 <= n / fps < 9.0
            writer.encode_bgr(np.full_like(ground, 128) if lost else ground, n)
    finally:
        writer.close()
    scene = {"camera": "drone-periods", "kind": "drone", "timezone": "UTC", "frame_size": [960, 540],
             "reference_image": "reference.png",
             "zones": [{"name": "kerb", "kind": "no_parking", "max_stop_s": 1, "gap_s": 0.5,
                        "polygon": [[100, 100], [400, 100], [400, 440], [100, 440]]}]}
    (tmp_path / "drone.scene.yaml").write_text(yaml.safe_dump(scene))

    runs = {}
    for name, span in (("whole", None), ("a", (0.0, 6.0)), ("b", (6.0, 11.0))):
        analyze(tmp_path / "flight.mp4", tmp_path / "drone.scene.yaml", tmp_path / name,
                AnalyzeOptions(evidence=False, slicing="off", span=span), detector=RedBlobs(2, "car"))
        runs[name] = json.loads((tmp_path / name / "analysis.json").read_text())

    whole = runs["whole"]["registration"]
    assert whole["losses"] == [{"from_s": 3.0, "to_s": 9.0, "frames": 60}]
    assert (whole["owned_frames"], whole["owned_unregistered"]) == (110, 60)
    said = [w for w in runs["whole"]["warnings"] if w.startswith("drone frames could not be registered")]
    assert said == ["drone frames could not be registered: 60 of 110 analysis frames do not match the scene's "
                    "reference image (too little overlap, blur or another place); they produced no cases; "
                    "nothing was judged 3.0-9.0 s (60 frames)"]

    a, b = runs["a"]["registration"], runs["b"]["registration"]
    assert b["frames"] > 50  # segment b read a pre-roll before its span: its own frames are fewer
    assert (a["owned_frames"] + b["owned_frames"], a["owned_unregistered"] + b["owned_unregistered"]) == (110, 60)
    assert merge_losses(a["losses"] + b["losses"]) == whole["losses"]
