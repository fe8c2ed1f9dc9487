"""A video or scene whose file name is not UTF-8 is refused before any work, naming the file. The
name is written into the case records (JSON, UTF-8): the analysis ran to its end, failed there
with a traceback and left a half-written output folder that a rerun was refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.cli.test_finite_numbers import clip  # noqa: F401 - the fixture


def _analyze(video, scene, out):  # noqa: ANN001, ANN202
    return subprocess.run([sys.executable, "-m", "civicwatch.cli", "analyze", video, "--scene", scene, "--out", out,
                           "--quiet"], capture_output=True, text=True, timeout=180)


def test_a_video_or_scene_named_in_another_encoding_is_refused_and_nothing_is_written(clip, tmp_path):  # noqa: F811
    odd = os.fsencode(str(tmp_path)) + b"/bad\xffname"
    shutil.copy(clip / "clip.mp4", odd + b".mp4")
    shutil.copy(clip / "scene.yaml", odd + b".yaml")
    out = tmp_path / "out"
    run = _analyze(os.fsdecode(odd + b".mp4"), str(clip / "scene.yaml"), str(out))
    assert run.returncode == 2, run.stderr[-2000:]
    assert "not valid UTF-8" in run.stderr and "Traceback" not in run.stderr
    run = _analyze(str(clip / "clip.mp4"), os.fsdecode(odd + b".yaml"), str(out))
    assert run.returncode == 2, run.stderr[-2000:]
    assert "not valid UTF-8" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()
    run = _analyze(str(clip / "clip.mp4"), str(clip / "scene.yaml"), str(out))  # the folder is still free
    assert run.returncode == 0, run.stderr[-2000:]
