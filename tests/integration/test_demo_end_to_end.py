"""The real detector on the demo footage: every planted violation found, nothing else flagged."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
import yaml

from detector.evidence.render import render_annotated

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class DemoAnalysis:
    """The analysis's cases (cases.json) and warnings (analysis.json), as ``analyze`` returned them."""

    cases: list[dict]
    warnings: list[str]
    ingested: list[str]  # the pipeline ids of the cases the service took in from the run


@pytest.fixture(scope="module")
def demo_run(demo_service_run, demo_footage):
    """The real pipeline on the whole demo footage with the default options, as ``civicwatch demo
    run``'s worker ran it: the session's one analysis of it (tests/conftest.py), which
    tests/demo/test_demo_run.py checks too; analysing it here again cost minutes a session."""
    run = demo_service_run
    assert run.code == 0 and run.run_dir is not None, (run.code, run.out[-800:], run.err[-2000:])
    out = run.run_dir
    cases = json.loads((out / "cases.json").read_text())
    warnings = json.loads((out / "analysis.json").read_text())["warnings"]
    truth = yaml.safe_load(demo_footage.ground_truth.read_text())
    return DemoAnalysis(cases, warnings, run.ingested), truth, out


def _matches(case: dict, planted: dict) -> bool:
    if case["rule"] != planted["rule"] or case["zone"] != planted["zone"]:
        return False
    # The case must overlap the planted span and start near it (tracks need a moment to confirm).
    overlaps = case["start_s"] < planted["end_s"] and case["end_s"] > planted["start_s"]
    return overlaps and abs(case["start_s"] - planted["start_s"]) <= 3.0


def test_every_planted_violation_is_found_once_and_nothing_else(demo_run):
    result, truth, _ = demo_run
    cases = result.cases
    unmatched = list(cases)
    for planted in truth["violations"]:
        hits = [c for c in cases if _matches(c, planted)]
        assert len(hits) == 1, f"planted {planted['rule']} in {planted['zone']}: {len(hits)} cases: {cases}"
        unmatched.remove(hits[0])
        accepted = planted.get("accept_classes", [planted["object_class"]])
        if planted["rule"] != "litter":
            assert hits[0]["object_class"] in accepted
    assert unmatched == [], f"flagged beyond the planted violations: {[c['explanation'] for c in unmatched]}"
    assert result.warnings == []


def test_cases_carry_times_and_explanations(demo_run):
    result, _, out = demo_run
    listed = json.loads((out / "cases.json").read_text())
    assert sorted(c["id"] for c in listed) == result.ingested  # the service took in every case listed
    for case in listed:
        assert case["camera"] == "demo-crossing-01"
        assert case["start_time"].startswith("2024-05-01T08:00") and case["start_time"].endswith("+08:00")
        assert case["explanation"] and case["track_ids"]
        assert 0 < case["confidence"] <= 1
    red = next(c for c in listed if c["rule"] == "red_light_pedestrian")
    assert "after ped_main turned red" in red["explanation"]
    litter = next(c for c in listed if c["rule"] == "litter")
    assert "person #" in litter["explanation"], "the litter case should name the person who left it"


def test_the_litter_case_shows_the_dropped_wrapper_not_a_ghost(demo_run):
    # A van passing in front of the plaza before the detector boxed it once made the background
    # model start over from a frame that held its roof; the case then showed that strip.
    from civicwatch.demo.recipe import load_recipe

    _, _, out = demo_run
    litter = next(c for c in json.loads((out / "cases.json").read_text()) if c["rule"] == "litter")
    x1, y1, x2, y2 = litter["details"]["object_box"]
    rest_x, rest_y = load_recipe().props["litter_wrapper"].rest  # where the wrapper lies (bottom centre)
    assert x1 - 5 <= rest_x <= x2 + 5 and y1 - 5 <= rest_y - 10 <= y2 + 5, (x1, y1, x2, y2)


def test_clips_are_browser_playable_h264_with_their_full_frame_count(demo_run, tmp_path):
    result, _, out = demo_run
    for case in result.cases:
        # The demo is H.264: the original clip is the source's packets; the annotated clip is made
        # on demand from it and the case's track file, frame for frame.
        assert case["original"]["method"] == "stream_copy"
        folder = shutil.copytree(out / Path(case["evidence"]["clip"]).parent, tmp_path / case["id"])
        render_annotated(folder)
        for path in (folder / "clip.mp4", folder / "annotated.mp4"):
            head = path.read_bytes()[:4096]
            assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                assert stream.codec_context.name == "h264"
                assert stream.codec_context.pix_fmt == "yuv420p"
                frames = sum(1 for _ in container.decode(stream))
            span = case["clip_end_s"] - case["clip_start_s"]
            expected = span * 15.0  # the demo's frame rate
            assert abs(frames - expected) <= 2, f"{path.name}: {frames} frames for {span:.2f} s"
        for kind in ("snapshot", "crop"):
            assert (out / case["evidence"][kind]).read_bytes()[:2] == b"\xff\xd8"


def test_verify_passes_then_names_a_flipped_byte(demo_run, tmp_path):
    _, _, out = demo_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    ok = subprocess.run([sys.executable, "-m", "civicwatch.cli", "verify", str(copy)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    manifest = json.loads((copy / "manifest.json").read_text())
    inputs = manifest["inputs"]
    assert inputs["source"]["sha256"] and inputs["scene"]["sha256"] and inputs["model"]["sha256"]
    originals = manifest["extra"]["originals"]
    assert len(originals) == 4 and all(o["method"] == "stream_copy" and o["packets"]["count"] > 0
                                       and o["source_sha256"] == inputs["source"]["sha256"] for o in originals.values())
    clip = next(copy.glob("cases/*/clip.mp4"))
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0x01
    clip.write_bytes(bytes(data))
    bad = subprocess.run([sys.executable, "-m", "civicwatch.cli", "verify", str(copy)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert clip.relative_to(copy).as_posix() in bad.stdout + bad.stderr


def test_the_flight_report_of_the_approved_demo_cases(demo_run, demo_footage, tmp_path):
    # ``civicwatch report flight`` on the real analysis, every case approved (a decisions file of
    # ids): one captioned H.264 video as long as the cases' few seconds, each case listed, one page.
    from civicwatch.cli import main

    result, _, out = demo_run
    ids = [c["id"] for c in result.cases]
    decisions = tmp_path / "approved.json"
    decisions.write_text(json.dumps(ids))
    report = tmp_path / "report"
    assert main(["report", "flight", str(out), "--decisions", str(decisions), "--scene", str(demo_footage.scene),
                 "--unit", "朝阳交警支队", "--out", str(report)]) == 0
    record = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in record["cases"]] == ids
    with av.open(str(report / "flight.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = sum(1 for _ in container.decode(stream))
        duration = float(stream.duration * stream.time_base)
    fps = record["video"]["fps"]
    spans = [c["source_span_s"][1] - c["source_span_s"][0] for c in record["cases"]]
    assert all(0 < s <= 6.0 for s in spans)
    assert frames == round(record["video"]["title_s"] * fps) + sum(round(s * fps) for s in spans)
    assert duration == pytest.approx(frames / fps, abs=1.5 / fps)
    html = (report / "report.html").read_text(encoding="utf-8")
    assert all(f'data-case="{cid}"' in html for cid in ids) and html.count('<li class="case"') == len(ids)
    assert "演示街道" in html and "Demo street" in html  # the scene's place in both languages
    pdf = (report / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
