"""Case folders: original clip (stream copy) + track file + snapshot + crop + case.json, hashed as
written; the annotated clip rendered from them on demand."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime

import cv2
import pytest

from detector.evidence import EvidenceConflictError, probe, write_cases
from detector.evidence.render import render_annotated

from .helpers import make_event, make_logs, make_scene, read_video, top_level_atoms

SOURCE = "beijing-intersection/uadetrac_overpass_short.mp4"
PRE = POST = 0.5


def events():
    return [
        make_event(),  # person #7 on red, 1.2..1.6 s
        make_event(rule="wrong_way", zone="lane-1", start_s=0.3, end_s=0.8, key_t=0.6, object_class="car",
                   track_ids=[3], confidence=0.9, explanation="drove against the lane", key_box=None, path=[],
                   signal=None, details={"cosine": -0.9}),
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory, footage_dir):
    out = tmp_path_factory.mktemp("evidence")
    tracks, signals = make_logs()
    cases = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=events(), track_log=tracks,
                        signal_log=signals, out_dir=out, pre=PRE, post=POST)
    return out, cases


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_case_folders_hold_all_evidence(written):
    out, cases = written
    assert len(cases) == 2
    assert len({c["id"] for c in cases}) == 2
    assert cases[0]["id"] == "bj-overpass-01-wrong_way-00000300-3"  # time order, readable
    assert cases[1]["id"] == "bj-overpass-01-red_light_pedestrian-00001200-7"
    for case in cases:
        folder = out / "cases" / case["id"]
        assert sorted(p.name for p in folder.iterdir()) == [
            "case.json", "clip.mp4", "crop.jpg", "sheet.jpg", "snapshot.jpg", "tracks.json"]
        for kind, rel in case["evidence"].items():
            assert (out / rel).is_file()
            assert case["sha256"][kind] == sha(out / rel)
    assert not [p for p in (out / "cases").iterdir() if p.name.startswith(".")]  # no staging left


def test_clips_cover_the_span_at_full_rate(written, footage_dir):
    out, cases = written
    fps = probe(footage_dir / SOURCE).fps
    for case in cases:
        clip = read_video(out / case["evidence"]["clip"])
        want_start = max(0.0, case["start_s"] - PRE)
        want_end = min(68 / 30, case["end_s"] + POST)
        # Stream copy: the clip starts at the keyframe at or before the span, and the player seeks
        # to clip_offset_s, where the span starts.
        assert case["original"]["method"] == "stream_copy"
        assert case["clip_start_s"] <= want_start + 1e-6
        assert case["clip_start_s"] + case["clip_offset_s"] == pytest.approx(want_start, abs=1 / fps)
        assert case["clip_end_s"] >= want_end - 1 / fps
        assert clip["times"][0] == pytest.approx(0.0, abs=1e-6)
        assert len(clip["times"]) == case["clip_frames"]
        assert clip["times"][-1] == pytest.approx(case["clip_end_s"] - case["clip_start_s"], abs=1e-3)
        assert clip["codec"] == "h264" and clip["pix_fmt"] == "yuv420p"
        atoms = top_level_atoms(out / case["evidence"]["clip"])
        assert atoms.index("moov") < atoms.index("mdat")


def test_annotated_clip_is_rendered_on_demand_once(written, tmp_path):
    out, cases = written
    folder = tmp_path / "case"
    shutil.copytree(out / "cases" / cases[1]["id"], folder)
    made = render_annotated(folder)
    assert not made.reused and made.sha256 == sha(folder / "annotated.mp4")
    clip, ann = read_video(folder / "clip.mp4"), read_video(folder / "annotated.mp4")
    assert ann["times"] == pytest.approx(clip["times"], abs=1e-3)
    atoms = top_level_atoms(folder / "annotated.mp4")
    assert atoms.index("moov") < atoms.index("mdat")
    # The overlay is drawn: the annotated key frame differs from the original around the offender.
    k = cases[1]["key_frame"]["clip_index"]
    x1, y1, x2, y2 = (int(v / 2) for v in cases[1]["key_box"])
    diff = abs(ann["images"][k][y1 - 4:y2 + 4, x1 - 4:x2 + 4].astype(int) - clip["images"][k][y1 - 4:y2 + 4, x1 - 4:x2 + 4].astype(int))
    assert diff.mean() > 10
    again = render_annotated(folder)
    assert again.reused and again.sha256 == made.sha256


def test_snapshot_and_crop(written):
    out, cases = written
    red = cases[1]
    snap = cv2.imread(str(out / red["evidence"]["snapshot"]))
    assert snap.shape == (540, 960, 3)
    assert red["key_frame"]["t"] == pytest.approx(1.2, abs=1 / 60)
    x1, y1, x2, y2 = red["crop_box_video_px"]
    crop = cv2.imread(str(out / red["evidence"]["crop"]))
    assert crop.shape == (y2 - y1, x2 - x1, 3)
    # Scene box (1920x1080) scaled to the 960x540 video, with a margin around it.
    kx1, ky1, kx2, ky2 = (v / 2 for v in red["key_box"])
    assert x1 < kx1 and y1 < ky1 and x2 > kx2 and y2 > ky2
    assert x2 - x1 < 3 * (kx2 - kx1)
    # The crop is original pixels: it equals that region of the clip's key frame (up to coding loss).
    clip = read_video(out / red["evidence"]["clip"])
    frame = clip["images"][red["key_frame"]["clip_index"]]
    assert abs(frame[y1:y2, x1:x2].astype(int) - crop.astype(int)).mean() < 12
    # The car case has no key_box: its crop comes from the track log at key_t.
    car = cases[0]
    assert car["crop_box_video_px"] is not None
    assert cv2.imread(str(out / car["evidence"]["crop"])).shape[:2] != (540, 960)


def test_case_records(written):
    out, cases = written
    red = cases[1]
    on_disk = json.loads((out / red["evidence"]["case"]).read_text(encoding="utf-8"))
    assert on_disk == {**red, "sha256": {k: v for k, v in red["sha256"].items() if k != "case"}}
    assert red["sha256"]["case"] == sha(out / red["evidence"]["case"])
    index = json.loads((out / "cases.json").read_text(encoding="utf-8"))
    assert index == cases
    for key in ("id", "rule", "camera", "zone", "start_s", "end_s", "start_time", "end_time", "timezone",
                "object_class", "track_ids", "confidence", "key_frame", "explanation", "evidence",
                "offender_track", "frame_size", "clip_start_s", "clip_end_s", "clip_offset_s", "original", "sha256"):
        assert key in red, key
    assert red["rule"] == "red_light_pedestrian" and red["camera"] == "bj-overpass-01"
    assert red["track_ids"] == [7] and red["zone"] == "crosswalk-north"
    assert red["start_time"] == "2024-05-01T08:00:01.200+08:00"
    assert datetime.fromisoformat(red["end_time"]) == datetime.fromisoformat("2024-05-01T00:00:01.600+00:00")
    assert red["timezone"] == "Asia/Shanghai" and red["frame_size"] == [1920, 1080]
    assert red["evidence"]["clip"] == f"cases/{red['id']}/clip.mp4"
    # Offender boxes over the clip span only, and only the offender.
    track = red["offender_track"]
    assert {p["track_id"] for p in track} == {7}
    assert track[0]["t"] >= red["clip_start_s"] - 1e-6 and track[-1]["t"] <= red["clip_end_s"] + 1e-6
    assert len(track) >= 10
    assert cases[0]["details"] == {"cosine": -0.9}


def test_no_wall_clock_without_start_time(tmp_path, footage_dir):
    tracks, signals = make_logs()
    cases = write_cases(source=footage_dir / SOURCE, scene=make_scene(start_time=None),
                        events=[make_event(start_s=0.1, end_s=0.2, key_t=0.1)], track_log=tracks,
                        signal_log=signals, out_dir=tmp_path, pre=0.0, post=0.1)
    assert cases[0]["start_time"] is None and cases[0]["end_time"] is None
    assert cases[0]["key_frame"]["time"] is None
    assert cases[0]["clock"]["source"] is None and "no wall-clock time" in cases[0]["clock"]["warning"]


def test_case_says_where_its_clock_came_from(written, tmp_path, footage_dir):
    _, cases = written
    assert cases[1]["clock"]["source"] == "scene" and cases[1]["clock"]["video_start"].startswith("2024-05-01T08:00")
    tracks, signals = make_logs()
    uploaded = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=[make_event()], track_log=tracks,
                           signal_log=signals, out_dir=tmp_path, pre=0.0, post=0.1, clock_source="upload")
    assert uploaded[0]["clock"]["source"] == "upload" and "upload" in uploaded[0]["clock"]["from"]


def test_existing_evidence_is_never_overwritten(written, tmp_path, footage_dir):
    out, cases = written
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    tracks, signals = make_logs()
    red = events()[0]
    before = {p: sha(p) for p in copy.rglob("*") if p.is_file()}
    # Writing into a folder that already holds cases is refused, whether the content matches or not:
    # re-encoding need not be byte-identical, so nothing is ever replaced.
    with pytest.raises(EvidenceConflictError, match="already holds cases"):
        write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=events(), track_log=tracks,
                    signal_log=signals, out_dir=copy, pre=PRE, post=POST)
    red.explanation = "something else"
    with pytest.raises(EvidenceConflictError, match="red_light_pedestrian-00001200-7"):
        write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=[red], track_log=tracks,
                    signal_log=signals, out_dir=copy, pre=PRE, post=POST)
    assert {p: sha(p) for p in copy.rglob("*") if p.is_file()} == before
    assert not [p for p in (copy / "cases").iterdir() if p.name.startswith(".")]


def test_same_start_same_track_gets_distinct_ids(tmp_path, footage_dir):
    tracks, signals = make_logs()
    evs = [make_event(start_s=0.2, end_s=0.3, key_t=0.2), make_event(zone="lane-1", start_s=0.2, end_s=0.3, key_t=0.2)]
    cases = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=evs, track_log=tracks,
                        signal_log=signals, out_dir=tmp_path, pre=0.0, post=0.0)
    assert len({c["id"] for c in cases}) == 2


def test_pipeline_names_the_clock_it_used(footage_dir):
    from dataclasses import replace

    from detector.pipeline import AnalyzeOptions, wall_clock_start

    info = probe(footage_dir / SOURCE)
    scene = make_scene()
    assert wall_clock_start(scene, info, AnalyzeOptions())[1] == "scene"
    bare = make_scene(start_time=None)
    given = datetime.fromisoformat("2024-06-01T10:00:00+08:00")
    assert wall_clock_start(bare, info, AnalyzeOptions(start_time=given)) == (given, "upload")
    stamped = replace(info, creation_time="2023-03-04T05:06:07.000000Z")
    start, source = wall_clock_start(bare, stamped, AnalyzeOptions())
    assert source == "container" and start.year == 2023
    assert wall_clock_start(bare, replace(info, creation_time=None), AnalyzeOptions()) == (None, None)


def test_render_command_makes_the_annotated_clip_for_a_run(written, tmp_path):
    from civicwatch.cli import main

    out, cases = written
    copy = shutil.copytree(out, tmp_path / "run")
    assert main(["render", str(copy), "--case", cases[0]["id"]]) == 0
    assert (copy / "cases" / cases[0]["id"] / "annotated.mp4").is_file()
    assert not (copy / "cases" / cases[1]["id"] / "annotated.mp4").exists()
    assert main(["render", str(copy), "--case", "no-such-case"]) == 2
    broken = copy / "cases" / cases[1]["id"]
    (broken / "tracks.json").write_text("{}")
    assert main(["render", str(broken)]) == 1  # an unreadable track file is named, nothing written
    assert not (broken / "annotated.mp4").exists()
    (broken / "tracks.json").write_text("[]")  # valid JSON, not a track file: named, no traceback
    assert main(["render", str(broken)]) == 1
    assert not (broken / "annotated.mp4").exists()


def test_each_case_has_an_evidence_sheet_of_three_stills_and_a_closeup(written):
    out, cases = written
    for case in cases:
        sheet = cv2.imread(str(out / case["evidence"]["sheet"]))
        # Two panels per row at the source's 960 px: wider than the 1280 px the record asks for.
        assert sheet is not None and sheet.shape[1] >= 1280 and sheet.shape[0] >= 720


def test_a_span_too_short_for_three_stills_has_no_sheet(tmp_path, footage_dir):
    tracks, signals = make_logs()
    cases = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=[make_event()], track_log=tracks,
                        signal_log=signals, out_dir=tmp_path, pre=0.0, post=0.0)
    assert "sheet" not in cases[0]["evidence"] and "sheet" not in cases[0]["sha256"]
    assert not (tmp_path / "cases" / cases[0]["id"] / "sheet.jpg").exists()


def test_overlapping_cases_share_one_decode_pass(tmp_path, footage_dir, monkeypatch):
    import detector.evidence.writer as writer

    passes = []
    real = writer.stills_at
    monkeypatch.setattr(writer, "stills_at", lambda *a, **k: passes.append(a[2]) or real(*a, **k))
    tracks, signals = make_logs()
    write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=events(), track_log=tracks,
                signal_log=signals, out_dir=tmp_path, pre=PRE, post=POST)
    assert len(passes) == 1  # 0.3-0.8 s and 1.2-1.6 s with 0.5 s either side overlap
    assert len(passes[0]) >= 2 * 4  # each case's key frame and three sheet stills
