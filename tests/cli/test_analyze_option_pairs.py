"""Options that only act together with another are refused alone, exit code 2, instead of being
dropped without a word. ``civicwatch analyze``: ``--preroll`` without ``--span``, ``--full-every``
with ``--regions off`` or on an analysis that slices, ``--slice-tile`` / ``--slice-overlap`` when the analysis does not slice
(``--slicing off``, or a fixed camera's scene without a ``slicing`` field), each refused before the
video is read or the model loaded. ``civicwatch report flight``: ``--redaction-policy`` without
``--publication``."""

from __future__ import annotations

import pytest
import yaml

from civicwatch.cli import main


def _scene(folder, **extra):
    scene = {"camera": "x", "frame_size": [64, 48],
             "zones": [{"name": "kerb", "kind": "no_parking", "polygon": [[0, 0], [40, 0], [40, 40], [0, 40]]}],
             **extra}
    path = folder / "scene.yaml"
    path.write_text(yaml.safe_dump(scene), encoding="utf-8")
    return path


@pytest.mark.parametrize("extra, says", [
    (["--preroll", "3"], "--preroll only applies with --span"),
    (["--regions", "off", "--full-every", "3"], "--full-every needs the zone tiles"),
    (["--slicing", "off", "--slice-tile", "256"], "not with --slicing off"),
    (["--slice-tile", "256"], "this scene does not slice"),
    (["--slice-overlap", "0.3"], "this scene does not slice"),
    (["--slicing", "on", "--full-every", "2"], "this analysis slices the whole frame instead"),
])
def test_an_option_that_would_do_nothing_is_refused(tmp_path, capsys, extra, says):
    # The video does not exist: the refusal comes before it is opened.
    args = ["analyze", str(tmp_path / "missing.mp4"), "--scene", str(_scene(tmp_path)), "--out", str(tmp_path / "out"),
            "--quiet", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scene_extra, extra", [
    ({"slicing": {"tile": 320}}, ["--slice-tile", "256"]),  # a fixed scene that slices
    ({"kind": "drone"}, ["--slice-overlap", "0.3"]),  # drone scenes slice by default
    ({}, ["--slicing", "on", "--slice-tile", "256"]),
    ({}, ["--full-every", "2"]),  # a fixed scene: zone tiles
])
def test_the_options_pass_where_they_act(tmp_path, capsys, scene_extra, extra):
    # Past the option checks the missing video is what stops it (exit 2, "video:").
    args = ["analyze", str(tmp_path / "missing.mp4"), "--scene", str(_scene(tmp_path, **scene_extra)),
            "--out", str(tmp_path / "out"), "--quiet", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: video:" in err and "slice" not in err


def test_report_flight_refuses_a_redaction_policy_without_publication(tmp_path, capsys):
    # The internal report shows the original media: the policy would be dropped without a word.
    run = tmp_path / "run"
    run.mkdir()
    assert main(["report", "flight", str(run), "--all", "--redaction-policy", "all"]) == 2
    err = capsys.readouterr().err
    assert "--redaction-policy applies with --publication only" in err
    assert not (tmp_path / "run-flight-report").exists()
