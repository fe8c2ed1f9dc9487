"""MPEG-TS from a camera or DVR: one keyframe for a long stretch (a long GOP), seeking in the middle.

FFmpeg's MPEG-TS seek lands on the packet nearest the time, not on a keyframe; with no keyframe
after it the decoder outputs nothing. Both readers then took the empty read for the whole
answer: every case's evidence failed ("no frame near ...") and a split job's later segments saw
no frames at all.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from footage_clips import reencode
from detector.decode import DecodeReport, probe
from detector.decode import iter_frames as analysis_frames
from detector.evidence.originals import verify_originals
from detector.media.frames import iter_frames as evidence_frames

from .helpers import read_video, write_one_case

FRAMES = 40  # 1.3 s at 30 fps, one keyframe (x264's default GOP is 250 frames)


def _camera_ts(footage_dir, path, start_pts=10 * 3600 * 90000):
    """Real footage as a small H.264 MPEG-TS whose clock starts 10 h in (a DVR's running clock)."""
    reencode(footage_dir, path, "mpegts", FRAMES, lambda i: start_pts + i * 3000, Fraction(1, 90000))


def test_evidence_reader_seeking_into_a_long_gop_reads_from_the_top(footage_dir, tmp_path):
    source = tmp_path / "camera.ts"
    _camera_ts(footage_dir, source)
    info = probe(source)
    times = [df.t for df in evidence_frames(source, info, 0.7) if df.t >= 0.7 - 1e-6]
    assert times and times[0] == pytest.approx(0.7, abs=0.02) and len(times) == FRAMES - 21


def test_split_segment_in_a_long_gop_sees_its_frames(footage_dir, tmp_path):
    source = tmp_path / "camera.ts"
    _camera_ts(footage_dir, source)
    report = DecodeReport()
    times = [f.t for f in analysis_frames(source, 10, report, start_s=0.5, end_s=1.0)]
    assert times[0] == pytest.approx(0.5, abs=1e-3) and times[-1] == pytest.approx(1.0, abs=1e-3)
    assert len(times) == 16 and report.error is None


def test_case_in_a_long_gop_camera_ts_is_cut_and_verifies(footage_dir, tmp_path):
    source = tmp_path / "camera.ts"
    _camera_ts(footage_dir, source)
    out = tmp_path / "run"
    cases = [write_one_case(source, out, 0.7, 0.9, 0.7, pre=0.2, post=0.2)]
    case = cases[0]
    assert case["original"]["method"] == "stream_copy"
    clip = read_video(out / case["evidence"]["clip"])
    assert clip["codec"] == "h264" and clip["pix_fmt"] == "yuv420p"
    assert case["clip_start_s"] + case["clip_offset_s"] == pytest.approx(0.5, abs=0.02)
    report = verify_originals(out, source)
    assert report.copied == 1 and report.problems == []
