"""The command line does what README's command table says, in the two places it did not.

- ``eval detections (--images DIR --labels DIR [--format yolo|voc] | --frames FRAMES.json)``: one
  source of labelled pictures or the other. Given both, ``--frames`` won and the folders (and
  ``--format``) were dropped without a word: a score of other pictures than the user named.
- ``analyze`` uses the manifest's ``analysis_model`` when no ``--model`` is given (README,
  "Models"), but ``models list`` only showed the manifest's ``default:`` entry (YOLOv3-tiny) as
  "default", so a new user read the wrong model as the one analysing their footage.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from civicwatch.cli import main
from detector.models.manifest import load_manifest
from detector.models.paths import MODELS_DIR_ENV


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--images", "IMAGES"], "--images"),
        (["--labels", "LABELS", "--format", "voc"], "--labels, --format"),
        (["--format", "yolo"], "--format"),
    ],
)
def test_eval_detections_refuses_image_folders_together_with_frames(tmp_path, capsys, extra, named):
    (tmp_path / "IMAGES").mkdir()
    (tmp_path / "LABELS").mkdir()
    frames = tmp_path / "frames.json"
    frames.write_text(json.dumps({"frames": []}))
    args = [str(tmp_path / a) if a in ("IMAGES", "LABELS") else a for a in extra]
    assert main(["eval", "detections", "--frames", str(frames), *args]) == 2
    err = capsys.readouterr().err
    assert f"not both ({named} with --frames)" in err, err


def test_models_list_names_the_model_analyze_uses(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))  # nothing cached: nothing is fetched or read
    manifest = load_manifest()
    expected = manifest.analysis_model or manifest.default.name
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["analysis_model"] == expected
    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert f"analysis model: {expected} (what analyze, the service and eval use without --model)" in text
    (line,) = [row for row in text.splitlines() if row.startswith(f"  {expected} ")]
    assert line.endswith("the analysis model")


@pytest.mark.parametrize(
    "command, option, value",
    [
        (["analyze", "clip.mp4", "--scene", "s.yaml", "--out", "out"], "--conf", "2"),
        (["analyze", "clip.mp4", "--scene", "s.yaml", "--out", "out"], "--conf", "-0.1"),
        (["analyze", "clip.mp4", "--scene", "s.yaml", "--out", "out"], "--person-conf", "5"),
        (["eval", "detections", "--frames", "frames.json"], "--conf", "0"),
    ],
)
def test_a_score_threshold_outside_0_to_1_is_refused_naming_the_option(tmp_path, capsys, command, option, value):
    """Detector scores are 0-1: ``--conf 2`` ran a whole analysis that kept no box and reported
    0 cases (exit 0); ``--conf -0.1`` kept every box. Bad input: exit 2 before any work."""
    with pytest.raises(SystemExit) as stop:
        main([*(str(tmp_path / a) if "." in a else a for a in command), option, value])
    assert stop.value.code == 2
    assert f"argument {option}: {value} is not a score" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("until", ["0", "-1"])
def test_mosaic_until_not_positive_is_refused_naming_the_option(tmp_path, capsys, until):
    """``mosaic --until -1`` read no frame and said the footage had no texture to start from: the
    user was sent to look at their flight for what was a typo in the command."""
    from still_clips import still_clip

    video = tmp_path / "flight.mp4"
    still_clip(np.full((48, 64, 3), 90, np.uint8), video, frames=5, fps=10)
    assert main(["mosaic", str(video), "--out", str(tmp_path / "m"), "--until", until]) == 2
    err = capsys.readouterr().err
    assert "--until must be a positive number of seconds" in err and "texture" not in err, err
    assert not (tmp_path / "m").exists()


def test_render_of_one_case_folder_refuses_a_case_id_of_another(tmp_path, capsys):
    """``render CASE_DIR --case OTHER`` rendered CASE_DIR's own case and said nothing of OTHER:
    the user who named a case got another one's clip."""
    case_dir = tmp_path / "run" / "cases" / "cam-wrong_way-00000500-12"
    case_dir.mkdir(parents=True)
    (case_dir / "case.json").write_text("{}")
    assert main(["render", str(case_dir), "--case", "cam-wrong_way-00001700-53"]) == 2
    err = capsys.readouterr().err
    assert "is the case folder of cam-wrong_way-00000500-12, not of cam-wrong_way-00001700-53" in err, err
    assert not (case_dir / "annotated.mp4").exists()


def test_report_flight_refuses_the_scene_of_another_camera(tmp_path, capsys):
    """``--scene`` is "the scene file the run was analysed with" (README, "Flight report"): one of
    another camera was taken, and its place and time zone went onto this flight's report."""
    run = tmp_path / "run"
    run.mkdir()
    case = {"id": "bj-wrong_way-00000500-12", "camera": "bj-overpass", "evidence": {"clip": "cases/x/clip.mp4"}}
    (run / "cases.json").write_text(json.dumps([case]))
    (run / "analysis.json").write_text(json.dumps({"camera": "bj-overpass"}))
    scene = tmp_path / "other.yaml"
    scene.write_text(
        "camera: renmin-rd\nplace: 人民路口\nframe_size: [320, 240]\nzones:\n"
        "  - {name: a, kind: no_parking, polygon: [[0, 0], [300, 0], [300, 200]]}\n"
    )
    out = tmp_path / "report"
    assert main(["report", "flight", str(run), "--all", "--scene", str(scene), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "other.yaml is the scene of camera 'renmin-rd', but this run's cases are of camera 'bj-overpass'" in err
    assert not out.exists()
