"""``verify --source`` must refuse a stream-copied clip whose packets are intact but whose
container turns or mirrors the picture.

The check compared NAL units (and, since 30b02ee, their times); a display matrix added to the
clip's MP4 (a mirror: every rider now goes the other way, a wrong-way case reversed; or a half
turn) changes what a player shows without touching a packet, and passed as the camera's own.
"""

from __future__ import annotations

import av
import pytest

from footage_clips import reencode

from detector.decode import probe
from detector.media.streamcopy import copy_clip, verify_copy


def _remux(clip, out, **display):
    """The clip's packets, byte for byte and with their times, under a display matrix."""
    with av.open(str(clip)) as src, av.open(str(out), "w", format="mp4") as dst:
        stream = src.streams.video[0]
        ostream = dst.add_stream_from_template(stream)
        ostream.set_display_rotation(**display)
        for packet in src.demux(stream):
            if packet.size == 0:
                continue
            packet.stream = ostream
            dst.mux(packet)


@pytest.mark.parametrize("display", [dict(degrees=0, hflip=True), dict(degrees=180), dict(degrees=0, vflip=True)])
def test_a_mirrored_or_turned_copy_of_the_packets_is_refused(footage_dir, tmp_path, display):
    source = tmp_path / "camera.mp4"
    reencode(footage_dir, source, "mp4", 45)
    copied = copy_clip(source, tmp_path / "clip.mp4", 0.3, 0.9, probe(source))
    assert verify_copy(tmp_path / "clip.mp4", source, copied.packets) == []
    _remux(tmp_path / "clip.mp4", tmp_path / "turned.mp4", **display)
    problems = verify_copy(tmp_path / "turned.mp4", source, copied.packets)
    assert any("display" in p for p in problems), problems
