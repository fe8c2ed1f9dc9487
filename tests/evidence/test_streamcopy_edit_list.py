"""A phone clip trimmed in the phone's editor: the MP4 keeps every frame and an edit list that
starts playback later. The stream copy of a case near the start began at the keyframe before the
edit: its clip showed half a second the source never plays, and the case said the clip started at
video time -0.5 s. Such a span is transcoded from the frames a player shows instead."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from footage_clips import reencode
from detector.decode import DecodeReport, iter_frames

from .helpers import read_video, write_one_case



def _trimmed_phone_clip(footage_dir, path, trim_s=0.5):
    """Real footage as a 30 fps H.264 MP4 (one keyframe), its edit list moved ``trim_s`` in."""
    reencode(footage_dir, path, "mp4", 45)
    data = bytearray(path.read_bytes())
    at = data.find(b"mdhd")
    assert data[at + 4] == 0  # version 0: 32-bit times
    media_scale = struct.unpack_from(">I", data, at + 16)[0]
    at = data.find(b"elst")
    assert data[at + 4] == 0 and struct.unpack_from(">I", data, at + 8)[0] == 1  # one edit, 32-bit
    duration, media_time = struct.unpack_from(">Ii", data, at + 12)
    struct.pack_into(">Ii", data, at + 12, duration - int(trim_s * 1000), media_time + int(trim_s * media_scale))
    path.write_bytes(bytes(data))


def test_case_near_a_trimmed_start_shows_only_what_the_source_plays(footage_dir, tmp_path):
    source = tmp_path / "phone.mp4"
    _trimmed_phone_clip(footage_dir, source)
    shown = [f.image for f in iter_frames(source, None, DecodeReport(), all_images=True)]
    assert len(shown) == 30  # the edit list hides the first 15 of 45 frames
    out = tmp_path / "run"
    cases = [write_one_case(source, out, 0.3, 0.5, 0.3, pre=0.3, post=0.2)]
    case = cases[0]
    assert case["clip_start_s"] >= 0.0
    assert case["original"]["method"] == "transcode" and "edit list" in case["original"]["reason"]
    clip = read_video(out / case["evidence"]["clip"])
    assert len(clip["images"]) == case["clip_frames"] == 22  # 0.0 .. 0.7 s at 30 fps
    # The clip's first frame is the source's first shown frame, not one from before the edit.
    assert np.abs(clip["images"][0].astype(int) - shown[0].astype(int)).mean() < 6
    assert case["clip_start_s"] + case["clip_offset_s"] == pytest.approx(0.0, abs=0.02)
