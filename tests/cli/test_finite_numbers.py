"""Numbers on the command line are finite: ``nan`` or ``inf`` is refused with exit code 2 and the
option named, never a traceback (``--analysis-fps inf``) nor an analysis that writes ``NaN`` or
``Infinity`` into its JSON (``--span 0 inf``, ``--preroll nan``), which no JSON reader accepts."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("finite")
    video = folder / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), 10 * i, np.uint8))
    writer.release()
    scene = {"camera": "x", "frame_size": [64, 48],
             "zones": [{"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [40, 0], [40, 40], [0, 40]]}]}
    (folder / "scene.yaml").write_text(yaml.safe_dump(scene), encoding="utf-8")
    return folder


@pytest.mark.parametrize("extra, option", [
    (["--span", "0", "inf"], "--span"),
    (["--span", "0", "1", "--preroll", "nan"], "--preroll"),
    (["--analysis-fps", "inf"], "--analysis-fps"),
    (["--analysis-fps", "nan"], "--analysis-fps"),
    (["--pre", "nan"], "--pre"),
    (["--conf", "nan"], "--conf"),
])
def test_analyze_refuses_a_number_that_is_not_finite(clip, tmp_path, extra, option):
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "analyze", str(clip / "clip.mp4"), "--scene",
                          str(clip / "scene.yaml"), "--out", str(tmp_path / "out"), "--quiet", *extra],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, (run.stdout, run.stderr[-2000:])
    assert option in run.stderr and "finite" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra, option", [(["--analysis-fps", "inf"], "--analysis-fps"),
                                           (["--analysis-fps", "nan"], "--analysis-fps"),
                                           (["--until", "nan"], "--until")])
def test_mosaic_refuses_a_number_that_is_not_finite(clip, tmp_path, extra, option):
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "mosaic", str(clip / "clip.mp4"),
                          "--out", str(tmp_path / "m"), *extra], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, (run.stdout, run.stderr[-2000:])
    assert option in run.stderr and "finite" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_report_flight_refuses_seconds_that_are_not_finite(tmp_path, value):
    # nan passed the "more than 0" check and failed in the video writer (a traceback); inf made a
    # report whose cases are as long as their clips, whatever the option said
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "cases.json").write_text('[{"id": "c1", "evidence": {"clip": "cases/c1/clip.mp4"}}]', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "civicwatch.cli", "report", "flight", str(run_dir), "--all",
                          "--seconds", value, "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, (run.stdout, run.stderr[-2000:])
    assert "--seconds" in run.stderr and "finite" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "r").exists()
