"""MKV with B-frames (what OBS and many recorders write): the first packets come without decode
times, so the first keyframe was skipped and every case in the first group of pictures was
transcoded, with the reason "no keyframe at or before the span". It is copied now, and verifies."""

from __future__ import annotations

import av
import pytest

from detector.evidence.originals import verify_originals
from footage_clips import reencode

from .helpers import read_video, write_one_case


def test_a_case_in_the_first_gop_of_an_mkv_with_b_frames_is_copied_and_verifies(footage_dir, tmp_path):
    source = tmp_path / "recorder.mkv"
    reencode(footage_dir, source, "matroska", 45)  # x264 defaults: B-frames, one keyframe
    with av.open(str(source)) as c:
        first = next(c.demux(video=0))
        assert first.is_keyframe and first.dts is None  # the demuxer's own answer: no decode time
    out = tmp_path / "run"
    cases = [write_one_case(source, out, 0.6, 0.9, 0.7, pre=0.2, post=0.2)]
    case = cases[0]
    assert case["original"]["method"] == "stream_copy", case["original"]
    clip = read_video(out / case["evidence"]["clip"])
    assert clip["codec"] == "h264" and clip["pix_fmt"] == "yuv420p" and len(clip["times"]) >= 30
    assert case["clip_start_s"] + case["clip_offset_s"] == pytest.approx(0.4, abs=0.04)
    report = verify_originals(out, source)
    assert report.copied == 1 and report.problems == []


def test_a_case_in_a_later_gop_of_an_mkv_records_the_sources_range_and_verifies(footage_dir, tmp_path):
    """The copied range was read after muxing, which had rewritten the packets' times into the MP4
    track's time base (1/16000 for Matroska's 1/1000): the record named a range 16 times too long,
    `civicwatch verify --source` found the clip's packets "differ" from the source, and the clip's
    end time was wrong."""
    source = tmp_path / "recorder.mkv"
    reencode(footage_dir, source, "matroska", 45, options={"g": "15"})  # keyframes at 0, 0.5, 1.0 s
    out = tmp_path / "run"
    cases = [write_one_case(source, out, 0.8, 0.9, 0.8, pre=0.2, post=0.1)]
    case = cases[0]
    assert case["original"]["method"] == "stream_copy", case["original"]
    assert case["clip_start_s"] == pytest.approx(0.5, abs=0.02)
    shown = read_video(out / case["evidence"]["clip"])["times"]
    assert case["clip_end_s"] == pytest.approx(case["clip_start_s"] + shown[-1], abs=0.04)
    report = verify_originals(out, source)
    assert report.copied == 1 and report.problems == []
