"""A source whose timestamps repeat (a camera writing two frames with one time, here in MKV).

MP4 needs strictly increasing decode times, so the stream copy fails and the clip is transcoded;
the reason recorded in the case used to be the muxer's own message, which named only the
server's temporary staging file ("Invalid argument: '/…/cases/.staging-…/clip.mp4' returned 22").
"""

from __future__ import annotations

from fractions import Fraction


from footage_clips import reencode

from .helpers import read_video, write_one_case



def _repeating_mkv(footage_dir, path):
    """Real footage in MKV (H.264, no B-frames) where each pair of frames shares one timestamp."""
    reencode(footage_dir, path, "matroska", 40, lambda i: (i // 2) * 66, Fraction(1, 1000), {"bf": "0"})


def test_repeated_timestamps_are_named_and_no_server_path_is_recorded(footage_dir, tmp_path):
    source = tmp_path / "camera.mkv"
    _repeating_mkv(footage_dir, source)
    out = tmp_path / "run"
    cases = [write_one_case(source, out, 0.6, 0.8, 0.6, pre=0.3, post=0.3)]
    original = cases[0]["original"]
    assert original["method"] == "transcode"
    assert "timestamps repeat" in original["reason"], original["reason"]
    assert str(tmp_path) not in original["reason"] and "staging" not in original["reason"]
    clip = read_video(out / cases[0]["evidence"]["clip"])
    assert clip["codec"] == "h264" and clip["pix_fmt"] == "yuv420p" and len(clip["times"]) >= 15
