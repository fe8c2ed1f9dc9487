"""Bad input: a clear message and the right exit code, and nothing lost that was found."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from tests.blind_detector import NoBoxes

pytestmark = pytest.mark.integration


def civicwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicwatch.cli", *map(str, args)], capture_output=True, text=True)


def test_text_file_named_mp4_is_refused_with_exit_code_2(demo_footage, tmp_path):
    fake = tmp_path / "evidence.mp4"
    fake.write_text("this is not a video\n")
    run = civicwatch("analyze", fake, "--scene", demo_footage.scene, "--out", tmp_path / "out")
    assert run.returncode == 2
    assert "evidence.mp4" in run.stderr and "not a readable video" in run.stderr
    assert not (tmp_path / "out").exists()


def test_malformed_scene_names_the_field_before_reading_video(tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_text("camera: x\nframe_size: [640, 360]\nzones:\n  - {name: a, kind: lane, polygon: [[0, 0], [1, 1]]}\n")
    run = civicwatch("analyze", tmp_path / "missing.mp4", "--scene", scene, "--out", tmp_path / "out")
    assert run.returncode == 2
    assert "zones[0].polygon" in run.stderr and "zones[0].direction" in run.stderr


def test_truncated_video_keeps_the_cases_before_the_damage(demo_footage, tmp_path):
    """Read at 5 analysis frames a second on the whole frame only (``--regions off``): the red-light
    and wrong-way cases before the cut are found that way too (decided at ~19 s and ~25 s), and what
    is tested is the read ending at the damage, not the detector's reach."""
    data = demo_footage.video.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: int(len(data) * 0.6)])  # the demo is faststart: its index survives
    out = tmp_path / "out"
    run = civicwatch("analyze", truncated, "--scene", demo_footage.scene, "--out", out, "--pre", "1", "--post", "1",
                     "--analysis-fps", "5", "--regions", "off")
    assert run.returncode == 0, run.stderr
    assert "truncated" in run.stderr
    import json

    cases = json.loads((out / "cases.json").read_text())
    rules = sorted(c["rule"] for c in cases)
    # Red light at ~19 s and wrong way at ~24 s lie before the cut (~30 s); litter (37 s) after.
    assert "red_light_pedestrian" in rules and "wrong_way" in rules
    assert "litter" not in rules
    analysis = json.loads((out / "analysis.json").read_text())
    assert any("truncated" in w for w in analysis["warnings"])


def test_damage_in_the_middle_is_skipped_and_the_cases_after_it_are_found(demo_footage, tmp_path):
    """20 kB of garbage over the recording at ~27 s (a bad sector, a dropped chunk of a camera's
    upload): the decoder refuses those packets. The analysis used to stop there (the litter case
    at ~37 s was lost) and the evidence reader crashed on the same packets; now both skip to the
    next keyframe (every 2 s in the demo), say so, and go on."""
    import random

    data = bytearray(demo_footage.video.read_bytes())
    at = int(len(data) * 0.62)
    data[at:at + 20000] = random.Random(7).randbytes(20000)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out"
    run = civicwatch("analyze", damaged, "--scene", demo_footage.scene, "--out", out, "--pre", "1", "--post", "1",
                     "--quiet")
    assert run.returncode == 0, run.stderr
    warning = next(w for w in json.loads((out / "analysis.json").read_text())["warnings"]
                   if "the decoder refused packets at" in w)
    gap = re.search(r"at (\d+\.\d+)-(\d+\.\d+) s", warning)
    assert gap and 20.0 < float(gap.group(1)) < float(gap.group(2)) <= 36.0, warning
    assert "went on after them" in warning and warning in run.stderr
    cases = json.loads((out / "cases.json").read_text())
    assert sorted(c["rule"] for c in cases) == ["illegal_parking", "litter", "red_light_pedestrian", "wrong_way"]
    litter = next(c for c in cases if c["rule"] == "litter")
    assert litter["start_s"] > float(gap.group(2))  # found after the damage
    for rel in litter["evidence"].values():
        assert (out / rel).is_file(), rel  # its stills and clip were read past the damage too


def test_output_folder_with_an_analysis_is_not_overwritten(demo_footage, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    run = civicwatch("analyze", demo_footage.video, "--scene", demo_footage.scene, "--out", out)
    assert run.returncode == 2 and "already holds an analysis" in run.stderr
    assert (out / "manifest.json").read_text() == "{}"


@pytest.mark.parametrize("left", ["manifest.sig", "analysis.json"])
def test_output_folder_with_any_file_of_an_analysis_is_refused_before_the_work(demo_footage, tmp_path, left):
    out = tmp_path / "out"
    out.mkdir()
    (out / left).write_text("from an earlier run\n")
    run = civicwatch("analyze", demo_footage.video, "--scene", demo_footage.scene, "--out", out, "--quiet")
    assert run.returncode == 2 and f"already holds an analysis ({left})" in run.stderr, run.stderr
    assert sorted(p.name for p in out.iterdir()) == [left]  # nothing written beside it
    assert (out / left).read_text() == "from an earlier run\n"


def test_drone_scene_without_reference_is_registered_to_its_first_frame(demo_footage, tmp_path):
    """Without a reference image a drone scene's frames are registered to the flight's first frame.
    Detected with ``--slicing off``: a drone scene slices by default (a whole-frame pass plus a
    grid of tiles per frame, several times the detector's work), and what is tested here is the
    registration, which takes the same frames and masks the detections of either pass."""
    import yaml

    scene = yaml.safe_load(demo_footage.scene.read_text())
    scene["kind"] = "drone"
    path = tmp_path / "drone.yaml"
    path.write_text(yaml.safe_dump(scene, allow_unicode=True))
    short = tmp_path / "short.mp4"
    short.write_bytes(demo_footage.video.read_bytes()[: len(demo_footage.video.read_bytes()) // 10])
    run = civicwatch("analyze", short, "--scene", path, "--out", tmp_path / "out", "--slicing", "off", "--quiet")
    assert run.returncode == 0, run.stderr
    registration = json.loads((tmp_path / "out" / "analysis.json").read_text())["registration"]
    assert registration["reference"] == "first frame"
    assert registration["registered"] > 0 and registration["frames"] == registration["registered"] + registration["unregistered"]


def test_scene_file_that_is_not_text_is_refused_with_exit_code_2(tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_bytes(b"\x00\x00\x00\x18ftypisom\xf6\xff binary, e.g. the video given as the scene")
    run = civicwatch("analyze", tmp_path / "missing.mp4", "--scene", scene, "--out", tmp_path / "out")
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "scene.yaml: not a UTF-8 text file" in run.stderr


def test_folder_given_as_the_video_is_named_as_a_folder(demo_footage, tmp_path):
    (tmp_path / "clips").mkdir()
    run = civicwatch("analyze", tmp_path / "clips", "--scene", demo_footage.scene, "--out", tmp_path / "out")
    assert run.returncode == 2 and "clips: is a folder, not a video file" in run.stderr


def test_output_path_that_is_a_file_is_refused_before_the_analysis(demo_footage, tmp_path):
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me\n")
    for out in (taken, taken / "run"):
        run = civicwatch("analyze", demo_footage.video, "--scene", demo_footage.scene, "--out", out, "--quiet")
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr and "notes.txt is a file, not a folder" in run.stderr
    assert taken.read_text() == "keep me\n"


SCENE = "camera: x\nframe_size: [960, 540]\nzones:\n  - {{name: a, kind: crosswalk, signal: s, polygon: {poly}}}\nsignals:\n{signals}"
INSIDE = "[[0, 0], [100, 0], [100, 100]]"


def test_zones_and_signal_heads_outside_the_frame_are_refused_by_field():
    from detector.scene import SceneError, load_scene_text

    with pytest.raises(SceneError, match=r"zones\[0\]\.polygon: lies outside the frame \(frame_size 960x540\)"):
        load_scene_text(SCENE.format(poly="[[1000, 0], [1900, 0], [1900, 1000]]", signals="  - {name: s, roi: [5, 5, 10, 10]}"))
    with pytest.raises(SceneError, match=r"signals\[0\]\.roi: lies outside the frame") as err:
        load_scene_text(SCENE.format(poly=INSIDE, signals="  - {name: s, roi: [1920, 100, 10, 20]}"))
    assert err.value.errors[0]["field"] == "signals[0].roi"
    # corners drawn a little past the edge are fine: the part inside the frame is seen
    load_scene_text(SCENE.format(poly="[[900, 500], [1000, 500], [1000, 600]]", signals="  - {name: s, roi: [955, 5, 10, 10]}"))


def test_yes_no_true_false_where_a_number_belongs_is_refused_by_field():
    """YAML reads ``true``/``yes``/``on`` as booleans; pydantic took them as 1 (a frame 1 px wide)."""
    from detector.scene import SceneError, load_scene_text

    signals = "  - {name: s, roi: [5, 5, 10, 10]}"
    with pytest.raises(SceneError, match=r"frame_size: true/false \(or yes/no, on/off\) where a number is expected"):
        load_scene_text(SCENE.format(poly=INSIDE, signals=signals).replace("[960, 540]", "[true, 540]"))
    with pytest.raises(SceneError, match=r"zones\[0\]\.polygon: true/false \(or yes/no, on/off\) where a number is expected"):
        load_scene_text(SCENE.format(poly="[[0, 0], [100, 0], [100, yes]]", signals=signals))
    with pytest.raises(SceneError, match=r"signals\[0\]\.roi: true/false \(or yes/no, on/off\) where a number is expected"):
        load_scene_text(SCENE.format(poly=INSIDE, signals="  - {name: s, roi: [5, on, 10, 10]}"))
    # fields that are flags still take them
    drone = SCENE.format(poly=INSIDE, signals=signals) + "\nslicing: {enabled: false}\n"
    assert load_scene_text(drone).slicing.enabled is False


def test_two_signals_of_one_name_are_refused_but_a_recorded_scene_still_loads():
    from detector.scene import Scene, SceneError, load_scene_text

    text = SCENE.format(poly=INSIDE, signals="  - {name: s, roi: [5, 5, 10, 10]}\n  - {name: s, timeline: [[0, red]]}")
    with pytest.raises(SceneError, match=r"signals: signal names must be unique; repeated: \['s'\]"):
        load_scene_text(text)
    import yaml

    # a case's tracks.json keeps the scene it was judged by: checks added later do not refuse it
    assert Scene.model_validate(yaml.safe_load(text), context={"recorded": True}).signals[1].name == "s"


def test_unloadable_model_exits_2_before_anything_is_written(demo_footage, tmp_path):
    model = tmp_path / "detector.onnx"
    model.write_bytes(b"\x00garbage, not an ONNX graph")
    for given in (model, tmp_path / "missing.onnx"):
        run = civicwatch("analyze", demo_footage.video, "--scene", demo_footage.scene, "--out", tmp_path / "out",
                         "--model", given, "--quiet")
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr and "error: model:" in run.stderr and given.name in run.stderr
    assert not (tmp_path / "out").exists()


def test_optional_scene_keys_left_empty_take_their_defaults():
    from detector.scene import load_scene_text

    scene = load_scene_text("camera: x\nkind:\ntimezone:\nframe_size: [960, 540]\n"
                            "zones: [{name: a, kind: no_parking, polygon: " + INSIDE + "}]\n"
                            "signals:\n  # - {name: ped-main, roi: [5, 5, 10, 10]}   (commented out: no signals)\n")
    assert scene.signals == [] and scene.timezone == "Asia/Shanghai" and scene.kind == "fixed"


def test_avi_cut_short_is_named_truncated(tmp_path):
    """An AVI cut short loses its index at the end of the file: FFmpeg then guesses the duration
    from the file's size, so the check against the container's duration saw nothing wrong. The
    header's frame count still says how long the video was."""
    import av
    import numpy as np

    whole = tmp_path / "whole.avi"
    with av.open(str(whole), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        rng = np.random.default_rng(1)
        for i in range(200):  # 8 s
            image = np.full((240, 320, 3), 90, np.uint8)
            image[100:140, (i * 2) % 280:(i * 2) % 280 + 40] = rng.integers(0, 255, (40, 40, 3), np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    scene = tmp_path / "scene.yaml"
    scene.write_text("camera: x\nframe_size: [320, 240]\nzones:\n  - {name: a, kind: no_parking, polygon: "
                     "[[0, 0], [320, 0], [320, 240], [0, 240]], max_stop_s: 60}\n")
    for video, truncated in ((whole, False), (cut, True)):
        out_dir = tmp_path / f"out-{video.stem}"
        run = civicwatch("analyze", video, "--scene", scene, "--out", out_dir, "--analysis-fps", "2")
        assert run.returncode == 0, run.stderr
        warnings = json.loads((out_dir / "analysis.json").read_text())["warnings"]
        said = [w for w in warnings if "container says 8.0 s" in w and "truncated" in w]
        assert bool(said) is truncated, warnings


def test_landscape_scene_on_an_upright_phone_video_is_refused_before_the_work(footage_dir, tmp_path):
    """A phone clip stored landscape with a rotation flag (players, and CivicWatch, show it
    upright, 720x1280). A scene drawn on the unturned 1280x720 picture used to be stretched onto
    the upright one without a word, every zone across the wrong axes."""
    video = footage_dir.parent / "footage-more" / "litter" / "di_bo_17.mp4"
    scene = tmp_path / "scene.yaml"
    scene.write_text("camera: x\nframe_size: [1280, 720]\nzones:\n  - {name: a, kind: no_litter, polygon: "
                     "[[0, 400], [1280, 400], [1280, 720], [0, 720]]}\n")
    run = civicwatch("analyze", video, "--scene", scene, "--out", tmp_path / "out")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "frame_size" in run.stderr and "1280x720 (landscape)" in run.stderr and "720x1280 (portrait)" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "out").exists()


def test_scene_of_another_shape_is_analysed_with_a_warning(tmp_path):
    """A 4:3 scene on a 16:9 video: its zones are stretched to fit, and the analysis says so."""
    import numpy as np
    from still_clips import still_clip

    from detector.pipeline import AnalyzeOptions, analyze

    video = tmp_path / "wide.mp4"
    still_clip(np.full((180, 320, 3), 90, np.uint8), video, frames=10, fps=10)
    scene = tmp_path / "scene.yaml"
    scene.write_text("camera: x\nframe_size: [640, 480]\nzones:\n  - {name: a, kind: no_parking, polygon: "
                     "[[0, 300], [640, 300], [640, 480], [0, 480]]}\n")

    result = analyze(video, scene, tmp_path / "out", AnalyzeOptions(evidence=False, motion_gate=False),
                     detector=NoBoxes())
    said = [w for w in result.warnings if "640x480" in w and "320x180" in w]
    assert said and "stretched 1.33x" in said[0], result.warnings
    same = tmp_path / "same.yaml"
    same.write_text(scene.read_text().replace("[640, 480]", "[640, 360]").replace("480]", "360]"))
    assert not [w for w in analyze(video, same, tmp_path / "out2", AnalyzeOptions(evidence=False, motion_gate=False),
                                   detector=NoBoxes()).warnings if "stretched" in w]
