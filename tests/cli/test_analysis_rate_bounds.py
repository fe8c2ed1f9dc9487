"""``--analysis-fps`` is refused outside 0.1-1000 with exit code 2, and ``--slice-tile 0`` is a
clear error. ``--analysis-fps 1e300`` passed the "positive" check and hung the decoder for ever
(its analysis grid, a tiny step added to the next analysis time, never moved); 1e-300 analysed
the first frame only and said nothing; ``--slice-tile 0`` was read as "no tile given", passed the
early check and ended in a traceback from the pipeline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from civicwatch.commands import analysis_fps_problem
from tests.cli.test_finite_numbers import clip  # noqa: F401 - the fixture


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicwatch.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["1e300", "1e-300", "0.05", "5000"])
def test_analyze_and_mosaic_refuse_an_analysis_rate_out_of_range(clip, tmp_path, value):  # noqa: F811
    for command in (["analyze", str(clip / "clip.mp4"), "--scene", str(clip / "scene.yaml"), "--out",
                     str(tmp_path / "out"), "--quiet"], ["mosaic", str(clip / "clip.mp4"), "--out", str(tmp_path / "m")]):
        run = _run(*command, "--analysis-fps", value)
        assert run.returncode == 2, (command[0], run.stderr[-2000:])
        assert "--analysis-fps must be between 0.1 and 1000" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "m").exists()


def test_the_bounds_themselves_are_accepted():
    assert analysis_fps_problem(0.1) is None and analysis_fps_problem(1000.0) is None
    assert analysis_fps_problem(10.0) is None


def test_a_slice_tile_of_zero_is_a_clear_error(clip, tmp_path):  # noqa: F811
    run = _run("analyze", str(clip / "clip.mp4"), "--scene", str(clip / "scene.yaml"), "--out", str(tmp_path / "out"),
               "--quiet", "--slicing", "on", "--slice-tile", "0")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "slice tile" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()
