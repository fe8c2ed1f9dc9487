"""Splitting a source into owned spans: the plan, the pre-roll each rule needs, and decoding a span
with exactly the frames a read from the top gives there."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.decode import DecodeReport, iter_frames
from detector.pipeline import AnalyzeOptions, _segment_read
from detector.decode import probe
from detector.scene import load_scene
from detector.segments import Span, plan_segments, required_preroll

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "benchmarks" / "dev-set"
BEIJING = ROOT.parent / "shared" / "footage" / "beijing-intersection" / "uadetrac_overpass.mp4"
MOTORWAY = ROOT.parent / "shared" / "footage" / "motorway-cyclist" / "video02.avi"


def test_spans_cover_the_source_once_and_a_short_tail_joins_the_last():
    spans = plan_segments(130.0, 60.0)
    assert spans == [Span(0.0, 60.0), Span(60.0, 130.0)]  # a 10 s tail starts no worker of its own
    assert plan_segments(150.0, 60.0) == [Span(0.0, 60.0), Span(60.0, 120.0), Span(120.0, 150.0)]
    assert plan_segments(20.0, 60.0) == [Span(0.0, 20.0)]
    assert plan_segments(0.0, 60.0) == []
    with pytest.raises(ValueError):
        plan_segments(10.0, 0.0)


def test_each_decision_moment_belongs_to_exactly_one_span():
    spans = plan_segments(29.96, 10.0)
    for t in (0.0, 9.99, 10.0, 10.01, 19.999, 20.0, 29.96):
        owners = [s for i, s in enumerate(spans) if s.owns(t, last=i == len(spans) - 1)]
        assert len(owners) == 1, (t, owners)


def test_pre_roll_covers_the_longest_history_a_rule_of_the_scene_judges_by():
    parking = load_scene(DEV_SET / "beijing-stopped.scene.yaml")
    limit = max(z.max_stop_s + z.gap_s for z in parking.zones if z.kind == "no_parking")
    assert required_preroll(parking) > limit
    lanes = load_scene(DEV_SET / "motorway-drill.scene.yaml")
    assert required_preroll(lanes) > max(z.window_s for z in lanes.zones)
    assert required_preroll(lanes) < required_preroll(parking) + 60  # no rule: no minute of waste


def test_a_span_reads_its_pre_roll_before_and_the_evidence_post_roll_after():
    scene = load_scene(DEV_SET / "beijing-stopped.scene.yaml")
    info = probe(BEIJING)
    span, preroll, read = _segment_read(scene, info, AnalyzeOptions(span=(6.0, 7.9), preroll_s=2.0, post=1.0))
    assert span == Span(6.0, 7.9) and preroll == 2.0 and read == (4.0, None)  # 8.9 is past the end (8.4)
    _, _, read = _segment_read(scene, info, AnalyzeOptions(span=(3.0, 4.0), preroll_s=5.0, post=1.0))
    assert read == (0.0, 5.0)
    for bad in ((4.0, 4.0), (-1.0, 2.0), (9.0, 12.0)):
        with pytest.raises(ValueError, match="span"):
            _segment_read(scene, info, AnalyzeOptions(span=bad))


@pytest.mark.parametrize("video", [BEIJING, MOTORWAY], ids=["h264-mp4", "mpeg4-avi"])
def test_a_span_decodes_the_frames_a_read_from_the_top_gives_there(video):
    """Same times and analysis grid after a seek as without one (MP4 and AVI indexes). Frame
    indices after a seek are estimated from the time (exact at a constant rate only)."""
    whole = [round(f.t, 4) for f in iter_frames(video, 10, DecodeReport()) if f.image is not None]
    part = [round(f.t, 4)
            for f in iter_frames(video, 10, DecodeReport(), start_s=3.05, end_s=6.0) if f.image is not None]
    expected = [t for t in whole if 3.05 - 1e-6 <= t <= 6.0 + 1e-6]
    assert len(expected) >= 25 and part == expected
