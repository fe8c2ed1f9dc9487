"""``civicwatch eval detections`` with slicing on the real VisDrone images, with the analysis model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_eval_detections_compares_slicing_with_the_whole_frame_on_visdrone(footage_dir):
    visdrone = footage_dir / "visdrone"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "civicwatch.cli",
            "eval",
            "detections",
            "--images",
            visdrone / "images",
            "--labels",
            visdrone / "labels",
            "--class-map",
            REPO / "benchmarks" / "dev-set" / "visdrone-classes.yaml",
            "--slice-tile",
            "320",
            "--compare",
            "--json",
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["slicing"] == {"tile": 320, "overlap": 0.2}
    whole, sliced = result["runs"]
    assert whole["setting"] == "whole frame" and sliced["setting"].startswith(
        "sliced, 320 px tiles"
    )
    assert whole["images"] == sliced["images"] == 3
    # 121 VisDrone people (pedestrian + people): the whole frame letterboxed into the model finds
    # almost none of them; tiles enlarged to the model input find several times as many, at
    # several times the cost (one inference per tile).
    person_whole, person_sliced = (
        whole["per_class"]["person"],
        sliced["per_class"]["person"],
    )
    assert person_whole["truths"] == person_sliced["truths"] == 121
    assert person_sliced["true_positives"] >= 3 * max(person_whole["true_positives"], 5)
    assert sliced["mAP50"] > whole["mAP50"]
    assert sliced["seconds_per_image"] > 3 * whole["seconds_per_image"]


def test_eval_detections_refuses_bad_slicing_options_with_exit_code_2(
    footage_dir, capsys
):
    from civicwatch.cli import main

    visdrone = footage_dir / "visdrone"
    base = [
        "eval",
        "detections",
        "--images",
        str(visdrone / "images"),
        "--labels",
        str(visdrone / "labels"),
    ]
    for extra, message in (
        (["--slice-tile", "16"], "slice tile"),
        (["--slice-tile", "320", "--slice-overlap", "0.9"], "slice overlap"),
        (["--slice-overlap", "0.3"], "needs --slice-tile"),
        (["--slice-tile", "320", "--tiles", "2x2"], "not both"),
        (["--compare"], "--compare needs"),
    ):
        assert main([*base, *extra]) == 2, extra
        assert message in capsys.readouterr().err, extra
