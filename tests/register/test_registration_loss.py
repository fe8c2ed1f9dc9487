"""Registration lost and regained: what happened while the drone's frames could not be placed on
the reference is not judged, not even by the state the tracker and rules carry across the loss."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import yaml

from detector.media.encode import H264Writer
from detector.pipeline import AnalyzeOptions, analyze
from tests.register.red_blobs import RedBlobs
from tests.tracks.test_stabilise import frames

BEIJING = "beijing-intersection/uadetrac_overpass.mp4"



def test_a_walker_who_stepped_in_while_registration_was_lost_is_not_judged_on_its_return(footage_dir, tmp_path):
    """A walker waits at the kerb of a crossing (green); the drone looks away (nothing to register)
    for 6 s, during which they step in and the signal turns red; registration comes back with them
    a step inside. Nobody saw when they entered: no case. (A fixed camera that saw nothing for 6 s
    gives the walker a new id, first seen inside: never judged. The drone's tracker was not told
    of the lost frames, kept the id, and the return read as an entry on red.)"""
    ground = frames(footage_dir / BEIJING, 1)[0]
    ground = cv2.cvtColor(cv2.cvtColor(ground, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(tmp_path / "reference.png"), ground)
    fps, lost = 10, (3.0, 9.0)
    writer = H264Writer(tmp_path / "flight.mp4", 960, 540, fps, Fraction(1, fps), crf=12, preset="veryfast")
    try:
        for n in range(11 * fps):
            t = n / fps
            if lost[0] <= t < lost[1]:
                picture = np.full_like(ground, 128)  # sky, blur: nothing to place on the reference
            else:
                picture = ground.copy()
                x = 372 if t < lost[0] else 392  # at the kerb (x = 400), then a step inside
                picture[200:300, x:x + 40] = (0, 0, 255)
            writer.encode_bgr(picture, n)
    finally:
        writer.close()
    scene = {"camera": "drone-lost", "kind": "drone", "timezone": "UTC", "frame_size": [960, 540],
             "reference_image": "reference.png",
             "signals": [{"name": "p", "timeline": [[0, "green"], [6, "red"]]}],
             "zones": [{"name": "zebra", "kind": "crosswalk", "signal": "p", "min_entry_distance": 10,
                        "polygon": [[400, 150], [800, 150], [800, 450], [400, 450]]}]}
    (tmp_path / "drone.scene.yaml").write_text(yaml.safe_dump(scene))

    analyze(tmp_path / "flight.mp4", tmp_path / "drone.scene.yaml", tmp_path / "out",
            AnalyzeOptions(evidence=False, slicing="off"), detector=RedBlobs(0, "person"))

    info = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert info["registration"]["unregistered"] == 60 and info["registration"]["registered"] == 50
    cases = json.loads((tmp_path / "out" / "cases.json").read_text())
    assert cases == [], [c["explanation"] for c in cases]
