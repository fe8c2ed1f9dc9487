"""``civicwatch analyze PHOTO``: FFmpeg opens a JPEG or PNG, whatever its name, as a one-frame
video, so a photo given by mistake was "analysed" (0 cases, exit 0, an output folder with a signed
manifest) as if it were footage in which nothing happened. Refused now as the service refuses such
an upload, before the model is loaded and before anything is written."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from civicwatch.cli import main

SCENE = Path(__file__).resolve().parents[2] / "samples" / "scenes" / "beijing-overpass.yaml"


@pytest.mark.parametrize("name", ["junction.jpg", "junction.png", "junction.mp4"])
def test_a_photo_is_refused_as_not_a_video(tmp_path, capsys, name):
    picture = np.full((540, 960, 3), 90, np.uint8)
    cv2.rectangle(picture, (300, 300), (420, 380), (30, 30, 200), -1)
    ok, data = cv2.imencode(".png" if name.endswith(".png") else ".jpg", picture)
    assert ok
    photo = tmp_path / name  # a .mp4 name does not make it a video
    photo.write_bytes(data.tobytes())
    out = tmp_path / "run"
    assert main(["analyze", str(photo), "--scene", str(SCENE), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"error: video: {name}: a single still picture" in err and "not a video" in err
    assert not out.exists()
