"""A signal that can never be red (a plan without red, an empty log) silently turns off the
red-light rule of the crossings that use it; the analysis warnings name it."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.scene import load_scene, load_scene_text
from tests.blind_detector import NoBoxes

REPO = Path(__file__).resolve().parents[2]

SCENE = """
camera: x
frame_size: [640, 360]
zones:
  - {name: zebra, kind: crosswalk, polygon: [[0, 200], [600, 200], [600, 300], [0, 300]], signal: %s}
signals:
  - {name: plan, schedule: {cycle_s: 60, red: []}}
  - {name: log, timeline: []}
  - {name: good-plan, schedule: {cycle_s: 60, red: [[0, 30]]}}
  - {name: green-clip, timeline: [[0.0, green]]}
"""


def test_a_plan_without_red_and_an_empty_log_are_named():
    warnings = load_scene_text(SCENE % "plan", "t.yaml").never_red_signals()
    assert len(warnings) == 2, warnings
    plan, log = warnings
    assert plan.startswith("signals[0] (plan): the schedule has no red interval") and "red-light case" in plan
    assert log.startswith("signals[1] (log): the timeline is empty")


SHIPPED = sorted(p for p in [*REPO.glob("samples/**/*.yaml"), *REPO.glob("benchmarks/dev-set/*.scene.yaml")]
                 if "build" not in p.parts and "\nzones:" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_scenes_we_ship_have_no_signal_that_is_never_red(path):
    assert load_scene(path).never_red_signals() == []


def test_the_analysis_warnings_name_a_signal_that_is_never_red(tmp_path):
    import numpy as np
    from still_clips import still_clip

    from detector.pipeline import AnalyzeOptions, analyze

    video = tmp_path / "still.mp4"
    still_clip(np.full((360, 640, 3), 90, np.uint8), video, frames=5, fps=10)
    scene = tmp_path / "scene.yaml"
    scene.write_text(SCENE % "plan", encoding="utf-8")

    result = analyze(video, scene, tmp_path / "out", AnalyzeOptions(evidence=False, motion_gate=False),
                     detector=NoBoxes())
    assert [w.split(" ")[0] for w in result.warnings if "red-light case" in w] == ["signals[0]", "signals[1]"]
