"""Manifest + verify: every written file hashed; a changed byte or a missing file is named."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from civicwatch.cli import main
from detector.evidence import EvidenceConflictError, verify, write_cases, write_manifest
from detector.signing import default_key_path, load_or_create_key, sign_manifest

from .helpers import make_event, make_logs, make_scene

SOURCE = "beijing-intersection/uadetrac_overpass_short.mp4"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, footage_dir):
    """An output folder as the pipeline leaves it: cases, cases.json and the manifest."""
    root = tmp_path_factory.mktemp("analysis")
    out = root / "out"
    scene_path = root / "scene.yaml"
    scene_path.write_text("camera: bj-overpass-01\n# stands in for the scene file\n", encoding="utf-8")
    model_path = root / "model.onnx"
    model_path.write_bytes(b"not really a model")
    tracks, signals = make_logs()
    cases = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=[make_event()], track_log=tracks,
                        signal_log=signals, out_dir=out, pre=0.3, post=0.3)
    (out / "log.txt").write_text("other output also gets hashed\n")
    write_manifest(out, source=footage_dir / SOURCE, scene_path=scene_path, model_path=model_path,
                   software_version="0.1.0", extra={"analysis_fps": 10})
    sign_manifest(out, load_or_create_key(default_key_path()))  # the session's key (tests/conftest.py)
    return out, cases, scene_path, model_path


@pytest.fixture
def out_copy(analysed, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(analysed[0], copy)
    return copy, analysed[1][0]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_lists_every_file_and_the_inputs(analysed, footage_dir):
    out, cases, scene_path, model_path = analysed
    manifest = json.loads((out / "manifest.json").read_text())
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and p.name not in ("manifest.json", "manifest.sig"))
    assert [f["path"] for f in manifest["files"]] == on_disk
    assert len(on_disk) == 8  # 6 case files (clip, tracks, sheet, snapshot, crop, case), cases.json, log.txt
    for entry in manifest["files"]:
        assert entry["sha256"] == sha(out / entry["path"])
        assert entry["size"] == (out / entry["path"]).stat().st_size
    assert manifest["inputs"]["source"] == {
        "name": "uadetrac_overpass_short.mp4", "sha256": sha(footage_dir / SOURCE),
        "size": (footage_dir / SOURCE).stat().st_size,
        # this file says nothing of itself (detector.media.metadata)
        "metadata": {"creation_time": None, "creation_time_raw": None, "location": None, "make": None,
                     "model": None, "serial": None}}
    assert manifest["inputs"]["scene"]["sha256"] == sha(scene_path)
    assert manifest["inputs"]["model"]["name"] == "model.onnx"
    assert manifest["inputs"]["model"]["sha256"] == sha(model_path)
    assert manifest["software_version"] == "0.1.0" and manifest["extra"] == {"analysis_fps": 10}
    assert manifest["created_utc"].endswith("+00:00")


def test_intact_folder_verifies(analysed, capsys, footage_dir):
    out = analysed[0]
    assert verify(out) == []
    assert verify(out, source=footage_dir / SOURCE, strict=True) == []
    assert main(["verify", str(out)]) == 0
    assert capsys.readouterr().out.strip().startswith("OK: 8 files verified, signed by key ")


def test_flipped_byte_is_named(out_copy, capsys):
    out, case = out_copy
    clip = out / case["evidence"]["clip"]
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))
    assert verify(out) == [f"changed: {case['evidence']['clip']}"]
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    assert case["evidence"]["clip"] in printed and "OK" not in printed


def test_deleted_file_is_reported_missing(out_copy, capsys):
    out, case = out_copy
    (out / case["evidence"]["snapshot"]).unlink()
    (out / "log.txt").unlink()
    problems = verify(out)
    assert sorted(problems) == sorted([f"missing: {case['evidence']['snapshot']}", "missing: log.txt"])
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr().out
    assert case["evidence"]["snapshot"] in printed and "log.txt" in printed


def test_tampering_hidden_by_a_new_manifest_is_still_found(out_copy, analysed):
    """Rewriting the manifest after changing a clip does not hide it: cases.json holds the
    hashes taken when each file was written."""
    out, case = out_copy
    clip = out / case["evidence"]["crop"]
    clip.write_bytes(clip.read_bytes()[:-10])
    (out / "manifest.json").unlink()
    _, _, scene_path, model_path = analysed
    write_manifest(out, source=scene_path, scene_path=scene_path, model_path=None, software_version="x")
    problems = verify(out)
    assert len(problems) == 1 and case["evidence"]["crop"] in problems[0]


def test_strict_reports_unlisted_files(out_copy):
    out, _ = out_copy
    (out / "extra.txt").write_text("added later")
    assert verify(out) == []
    assert verify(out, strict=True) == ["unlisted: extra.txt"]


def test_missing_or_unreadable_manifest_exits_2(out_copy, tmp_path, capsys):
    out, _ = out_copy
    assert main(["verify", str(tmp_path / "nowhere")]) == 2
    (out / "manifest.json").write_text("{ not json")
    assert main(["verify", str(out)]) == 2
    assert verify(out)[0].startswith("unreadable: manifest.json")
    (out / "manifest.json").unlink()
    assert main(["verify", str(out)]) == 2
    assert verify(out) == ["missing: manifest.json"]


def test_manifest_of_the_wrong_shape_is_named(out_copy):
    """A manifest that is JSON but not a manifest says what is wrong with it, not a Python
    KeyError ("unreadable: manifest.json ('files')")."""
    out, _ = out_copy
    (out / "manifest.json").write_text('{"version": 1}')
    assert verify(out) == ["unreadable: manifest.json (no list of files)"]
    (out / "manifest.json").write_text('{"files": {"a": 1}}')
    assert verify(out) == ["unreadable: manifest.json ('files' is not a list)"]
    (out / "manifest.json").write_text("[1, 2]")
    assert verify(out) == ["unreadable: manifest.json (not a JSON object)"]


def test_manifest_is_not_overwritten(out_copy, analysed, footage_dir):
    out, _ = out_copy
    _, _, scene_path, model_path = analysed
    before = sha(out / "manifest.json")
    # Same files, same inputs: the existing manifest stands.
    write_manifest(out, source=footage_dir / SOURCE, scene_path=scene_path, model_path=model_path,
                   software_version="0.1.0")
    assert sha(out / "manifest.json") == before
    (out / "new.txt").write_text("x")
    with pytest.raises(EvidenceConflictError):
        write_manifest(out, source=footage_dir / SOURCE, scene_path=scene_path, model_path=model_path,
                       software_version="0.1.0")
    assert sha(out / "manifest.json") == before


def test_a_file_that_is_no_zip_or_a_missing_source_exits_2(out_copy, tmp_path, capsys):
    out, _ = out_copy
    notes = tmp_path / "notes.txt"
    notes.write_text("not an analysis\n")
    assert main(["verify", str(notes)]) == 2
    assert "notes.txt: neither an output folder nor a zip file" in capsys.readouterr().err
    assert main(["verify", str(out), "--source", str(tmp_path / "gone.mp4")]) == 2
    assert "gone.mp4: no such file" in capsys.readouterr().err
    assert main(["verify", str(out), "--source", str(tmp_path)]) == 2
    assert "a folder, not a video file" in capsys.readouterr().err
