"""``verify --source`` must refuse a stream-copied clip whose packets are intact but retimed.

The check compared the clip's NAL units with the source's, and nothing else: the same packets
remuxed with every timestamp doubled (the offence played at half speed, a parked car standing
twice as long, a rider half as fast) passed as "the camera's own packets".
"""

from __future__ import annotations

import av

from footage_clips import reencode

from detector.decode import probe
from detector.media.streamcopy import copy_clip, verify_copy


def _retimed(clip, out, factor):
    """The clip's packets, byte for byte, with every timestamp multiplied by ``factor``."""
    with av.open(str(clip)) as src, av.open(str(out), "w", format="mp4") as dst:
        stream = src.streams.video[0]
        ostream = dst.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.size == 0:
                continue
            packet.pts *= factor
            packet.dts *= factor
            packet.stream = ostream
            dst.mux(packet)


def test_a_retimed_copy_of_the_packets_is_refused(footage_dir, tmp_path):
    source = tmp_path / "camera.mp4"
    reencode(footage_dir, source, "mp4", 60)  # 2 s, H.264 with B-frames
    copied = copy_clip(source, tmp_path / "clip.mp4", 0.5, 1.2, probe(source))
    assert verify_copy(tmp_path / "clip.mp4", source, copied.packets) == []
    _retimed(tmp_path / "clip.mp4", tmp_path / "slow.mp4", 2)
    problems = verify_copy(tmp_path / "slow.mp4", source, copied.packets)
    assert any("times" in p for p in problems), problems
