"""A drone flight without a reference image, analysed in segments (a split job, ``--span``): each
segment registers to the flight's first textured frame, where the zones are drawn, as a run from
the top does, not to the first frame it reads itself."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import yaml

from detector.media.encode import H264Writer
from detector.pipeline import AnalyzeOptions, analyze
from tests.register.red_blobs import RedBlobs

STILL = "drone-stills/drone_pedestrian.jpg"  # in ../shared/footage-more



def test_a_segment_of_a_drifting_flight_places_the_zones_where_the_flight_began(footage_dir, tmp_path):
    """The drone drifts 120 px in its first 4 s, then hovers; a car parks at 9-12 s just right of
    the no-parking zone drawn on the first frame. The whole run raises nothing; the segment from
    8 s (read from 1.5 s, its pre-roll) placed the zones by its own first frame, 45 px along the
    drift, which put the car inside and raised a parking case the flight does not have."""
    big = cv2.imread(str(footage_dir.parent / "footage-more" / STILL))
    ground = cv2.resize(big, (1600, 1067), interpolation=cv2.INTER_AREA)[200:740]
    ground = cv2.cvtColor(cv2.cvtColor(ground, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    fps = 10
    writer = H264Writer(tmp_path / "flight.mp4", 960, 540, fps, Fraction(1, fps), crf=14, preset="veryfast")
    try:
        for n in range(14 * fps):
            t = n / fps
            picture = ground.copy()
            if 9 <= t < 12:
                picture[250:290, 410:450] = (0, 0, 255)  # ground x 410-450: right of the zone (100-400)
            x0 = round(30 * min(t, 4.0))
            writer.encode_bgr(picture[:, x0:x0 + 960], n)
    finally:
        writer.close()
    scene = {"camera": "drone-drift", "kind": "drone", "timezone": "UTC", "frame_size": [960, 540],
             "zones": [{"name": "kerb", "kind": "no_parking", "max_stop_s": 1, "gap_s": 0.5,
                        "polygon": [[100, 100], [400, 100], [400, 440], [100, 440]]}]}
    (tmp_path / "drone.scene.yaml").write_text(yaml.safe_dump(scene))

    runs = {}
    for name, span in (("whole", None), ("segment", (8.0, 14.0))):
        analyze(tmp_path / "flight.mp4", tmp_path / "drone.scene.yaml", tmp_path / name,
                AnalyzeOptions(evidence=False, slicing="off", span=span), detector=RedBlobs(2, "car"))
        runs[name] = json.loads((tmp_path / name / "cases.json").read_text())
        info = json.loads((tmp_path / name / "analysis.json").read_text())
        assert info["registration"]["reference"] == "first frame" and info["registration"]["unregistered"] == 0
    assert info["preroll_s"] == 6.5
    assert runs["whole"] == []
    assert runs["segment"] == [], [c["details"]["anchor"] for c in runs["segment"]]
