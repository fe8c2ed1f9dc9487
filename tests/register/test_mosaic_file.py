"""A damaged or foreign mosaic file is refused when it is read, naming what is wrong, before any
analysis work: never a traceback halfway through the flight."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml

from detector.mosaic import FORMAT, MosaicError, MosaicRegistration, load_mosaic

H = [1.0, 0.0, 5.0, 0.0, 1.0, 7.0, 0.0, 0.0, 1.0]
GOOD = {"format": FORMAT, "video": "flight.mp4", "video_sha256": "ab" * 32, "analysis_fps": 5.0,
        "frame_size": [64, 48], "size": [80, 120], "image": "mosaic.jpg", "registered": 2, "frames_total": 3,
        "frames": [{"t": 0.0, "h": H, "quality": 1.0}, {"t": 0.2, "h": H, "quality": 0.8},
                   {"t": 0.4, "h": None, "quality": None}]}


def frames_with(**change) -> list[dict]:
    return [{**f, **change} if f["h"] is not None else f for f in GOOD["frames"]]


BAD = {
    "a homography of 8 numbers": {"frames": frames_with(h=H[:8])},
    "a homography as text": {"frames": frames_with(h="identity")},
    "a ragged homography": {"frames": frames_with(h=[[1, 2], [3]])},
    "a homography with NaN": {"frames": frames_with(h=[float("nan")] * 9)},
    "a quality as text": {"frames": frames_with(quality="good")},
    "a time that is not finite": {"frames": frames_with(t=float("inf"))},
    "a frame that is not an object": {"frames": [1, 2]},
    "a hash that is not text": {"video_sha256": 5},
    "an image name that is not text": {"image": 7},
    "a size as text": {"size": "80x120"},
    "a size of three numbers": {"size": [80, 120, 3]},
    "a negative size": {"size": [-80, 120]},
    "a rate of zero": {"analysis_fps": 0},
    "a rate that is not finite": {"analysis_fps": float("inf")},
}


@pytest.mark.parametrize("what", BAD)
def test_a_malformed_mosaic_file_is_refused_when_read(tmp_path, what):
    path = tmp_path / "mosaic.json"
    path.write_text(json.dumps({**GOOD, **BAD[what]}), encoding="utf-8")
    with pytest.raises(MosaicError, match="mosaic.json: malformed mosaic file"):
        load_mosaic(path)


def test_the_good_file_loads_and_places_its_frames(tmp_path):
    path = tmp_path / "mosaic.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    reg = MosaicRegistration(load_mosaic(path))
    assert np.allclose(reg.update(0.2), np.asarray(H).reshape(3, 3)) and reg.update(0.4) is None


def test_a_mosaic_of_another_format_version_says_so(tmp_path):
    path = tmp_path / "mosaic.json"
    path.write_text(json.dumps({**GOOD, "format": "civicwatch-mosaic/0"}), encoding="utf-8")
    with pytest.raises(MosaicError, match="civicwatch-mosaic/0.*civicwatch mosaic"):
        load_mosaic(path)


def test_analyze_with_a_malformed_mosaic_exits_2_before_any_work(tmp_path):
    video = tmp_path / "flight.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    (tmp_path / "mosaic.json").write_text(json.dumps({**GOOD, **BAD["a homography of 8 numbers"]}), encoding="utf-8")
    scene = {"camera": "road", "kind": "drone", "frame_size": GOOD["size"], "mosaic": "mosaic.json",
             "zones": [{"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [40, 0], [40, 40], [0, 40]]}]}
    (tmp_path / "scene.yaml").write_text(yaml.safe_dump(scene), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "analyze", str(video), "--scene",
                          str(tmp_path / "scene.yaml"), "--out", str(tmp_path / "out"), "--analysis-fps", "5", "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "mosaic" in run.stderr and "malformed" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()
