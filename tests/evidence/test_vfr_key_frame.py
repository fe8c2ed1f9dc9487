"""The key frame's index in ``clip.mp4`` on a variable-frame-rate source.

``key_frame.clip_index`` (which frame of the clip the key frame is: the public exposure still is
taken at that index by ``service.redaction``) was ``(key.t - clip_start) * fps`` with the nominal
(average) rate. A camera or phone whose rate changes during the recording (a DVR dropping to 10
fps, then back to 30) put it many frames away from the key frame, at another moment.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from footage_clips import reencode

from .helpers import read_video, write_one_case


def _vfr(i: int) -> int:
    """10 fps for 2 s, then 30 fps (milliseconds)."""
    return i * 100 if i < 20 else 2000 + (i - 20) * 100 // 3


def test_clip_index_is_the_key_frame_on_a_variable_frame_rate_source(footage_dir, tmp_path):
    source = tmp_path / "dvr.mp4"
    reencode(footage_dir, source, "mp4", 69, _vfr, Fraction(1, 1000))
    case = write_one_case(source, tmp_path / "run", 3.0, 3.2, 3.0, pre=2.0, post=0.3)
    clip = read_video(tmp_path / "run" / case["evidence"]["clip"])
    key = case["key_frame"]
    shown_at = clip["times"][key["clip_index"]] - clip["times"][0] + case["clip_start_s"]
    assert shown_at == pytest.approx(key["t"], abs=0.02)
