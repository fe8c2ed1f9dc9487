"""The recorder against a real RTSP camera that goes away mid-stream and comes back.

The camera (Debian's GStreamer RTSP server) serves the real Beijing overpass clip's 2.3 s cut in a
loop (a keyframe every 2.3 s); it is killed while a segment is being written and restarted on the
same address a second later.
The recorder must finish the cut segment, reconnect by itself, report the gap with its times, and
every segment must be playable H.264 holding exactly the camera's picture data (the slice NAL
units the server read from the clip, byte for byte, in a contiguous run of the loop).
"""

from __future__ import annotations

import time
from pathlib import Path

from detector.media.recorder import Recorder, RecorderConfig, parse_segment_name, read_index

from .helpers import SHORT_CLIP, decoded_frames, picture_nals, recording


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_recorder_survives_a_camera_restart_and_reports_the_gap(rtsp_camera, footage_dir, tmp_path):
    out = tmp_path / "rec"
    segments, gaps = [], []
    recorder = Recorder(RecorderConfig(rtsp_camera.url, out, segment_s=3.0, read_timeout_s=3.0,
                                       backoff_initial_s=0.25, backoff_max_s=1.0),
                        on_segment=segments.append, on_gap=gaps.append)
    with recording(recorder) as thread:
        # the clip's keyframes are 2.3 s apart: the first segment ends at the third (4.6 s)
        _wait(lambda: len(segments) >= 1, 30, "the first segment")
        time.sleep(1.0)  # well inside the second segment
        rtsp_camera.kill()
        killed_at = time.time()
        _wait(lambda: len(segments) >= 2, 10, "the segment cut by the drop")
        time.sleep(1.0)  # down a while: the recorder retries, the gap must cover it
        # told while it lasts, open (the health page's "down since"), not only once it closed
        assert [(g.start, g.end) for g in gaps] == [(segments[1].end, None)]
        rtsp_camera.start()
        _wait(lambda: any(g.end is not None for g in gaps), 30, "the reconnect")
        _wait(lambda: len(segments) >= 3, 30, "a segment after the reconnect")
    assert not thread.is_alive()

    first, cut, after = segments[0], segments[1], segments[2]
    assert first.ended_by == "length" and cut.ended_by == "drop"
    assert first.connection == cut.connection != after.connection
    assert cut.start == first.end  # one connection's segments join without gap or overlap
    assert 4.5 < first.duration_s < 4.7  # cut at the first keyframe >= 3 s in, not the one at 2.3 s
    # the gap: from the last picture before the drop to the first picture after the reconnect
    closed = [g for g in gaps if g.end is not None]
    assert len(closed) == 1
    gap = closed[0]
    assert gap.start == cut.end and gap.end == after.start
    assert 1.0 <= gap.duration_s < 15.0
    assert gap.start.timestamp() <= killed_at + 1.0
    assert recorder.status.connections >= 2 and recorder.status.gaps == 1

    # the index on disk says the same
    listed, listed_gaps = read_index(out)
    assert [s["path"] for s in listed] == [s.path.name for s in segments]
    assert [g["end"] for g in listed_gaps if g["end"]] == [gap.end.isoformat()]
    assert not list(out.glob("*.part"))

    source = picture_nals(footage_dir / SHORT_CLIP)
    for segment in segments:
        assert parse_segment_name(segment.path.name) == segment.start.replace(
            microsecond=segment.start.microsecond // 1000 * 1000)
        pictures = picture_nals(segment.path)
        assert len(pictures) == segment.packets
        assert decoded_frames(segment.path) == segment.packets  # plays: every picture decodes
        at = source.index(pictures[0])
        assert all(p == source[(at + i) % len(source)] for i, p in enumerate(pictures)), segment.path.name


def test_recorder_reports_a_camera_that_never_answers(tmp_path):
    """No server at all: the recorder keeps retrying with backoff and, once stopped, leaves an
    open gap and no segment; it never raises."""
    from .helpers import free_port

    gaps = []
    recorder = Recorder(RecorderConfig(f"rtsp://127.0.0.1:{free_port()}/cam", Path(tmp_path), connect_timeout_s=1,
                                       backoff_initial_s=0.1, backoff_max_s=0.2), on_gap=gaps.append)
    with recording(recorder, join_s=10) as thread:
        time.sleep(1.5)
    assert not thread.is_alive()
    assert recorder.status.segments == 0 and recorder.status.connections == 0
    assert recorder.status.gap_open_since is not None and recorder.status.last_error
