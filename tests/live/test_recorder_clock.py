"""The recorder's wall clock over long connections, with scripted packet timestamps and receive
times: real H.264 packets (a tiny encoded clip, looped) handed to the real ``Recorder`` as a
camera would, and a clock saying when each one arrived.

A camera's clock is not the server's: one whose timestamps run 200 ppm slow has put a wall clock
carried forward along them 2.2 s behind after three hours, and every case time with it. Segments
must stay within the drift tolerance of the receive clock however long the connection lasts,
and a connection without drift must keep its segments joined exactly. The first picture's wall
clock is its own receive time, not that of the packet read when the timing lookahead let it go.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from detector.media.recorder import DRIFT_TOLERANCE_S, Recorder, RecorderConfig, Segment

START = 1_777_593_600.0  # 2026-05-01T00:00:00Z
GOP = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """GOP pictures of 64x64 H.264, one keyframe then P-frames (no B-frames)."""
    path = tmp_path_factory.mktemp("clock") / "gop.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(GOP), "bf": "0", "preset": "ultrafast"}
        for i in range(GOP):
            image = np.full((64, 64, 3), 20 * i, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


class ScriptedCamera:
    """A connection of ``seconds`` of pictures at ``fps``: the camera stamps each picture on its own
    clock (``1 + drift`` camera seconds per real second), it arrives ``delay(i)`` seconds after it
    was taken; ``clock`` is the receive clock the recorder reads."""

    def __init__(self, clip: Path, seconds: float, fps: int, drift: float, delay):
        self.container = av.open(str(clip))
        self.stream = self.container.streams.video[0]
        self.source = [bytes(p) for p in self.container.demux(self.stream) if p.size]
        assert len(self.source) == GOP
        self.count, self.fps, self.drift, self.delay = int(seconds * fps), fps, drift, delay
        self.now = START
        self.sent: list[tuple[float, float]] = []  # (camera time, real time taken) per picture

    def clock(self) -> float:
        return self.now

    def demux(self, stream):
        tb: Fraction = stream.time_base
        step = int(round(1 / (self.fps * tb)))
        for i in range(self.count):
            packet = av.Packet(self.source[i % GOP])
            packet.pts = packet.dts = i * step
            packet.duration = step
            packet.is_keyframe = i % GOP == 0
            taken = START + i / self.fps / (1 + self.drift)  # camera time i/fps, real time taken
            self.now = taken + self.delay(i)
            self.sent.append((float(i * step * tb), taken))
            yield packet

    @property
    def streams(self):
        return self.container.streams

    @property
    def format(self):
        return self.container.format  # the clip's (MP4): the packets' decode times are their own

    def close(self) -> None:
        self.container.close()


class ScriptedRecorder(Recorder):
    def __init__(self, camera: ScriptedCamera, out: Path, segment_s: float):
        self.camera = camera
        self.segments: list[Segment] = []
        super().__init__(
            RecorderConfig("rtsp://camera.test/ch1", out, segment_s=segment_s),
            on_segment=self.segments.append,
            clock=camera.clock,
        )

    def _open(self):
        return self.camera


def record(camera: ScriptedCamera, out: Path, segment_s: float) -> list[Segment]:
    recorder = ScriptedRecorder(camera, out, segment_s)
    first, last, ended_by = recorder._record_connection(1, threading.Event(), None, "")
    assert ended_by == "the stream ended" and first is not None
    return recorder.segments


def _error(camera: ScriptedCamera, segment: Segment, stream_start: float) -> float:
    """Segment wall clock minus the real time its first picture was taken."""
    taken = dict(camera.sent)[stream_start]
    return segment.start.timestamp() - taken


def test_three_hours_of_a_drifting_camera_stay_on_the_receive_clock(clip, tmp_path):
    rng = random.Random(7)
    # 200 ppm slow, 40-400 ms of network delay (each keyframe, one picture in ten, only 40 ms)
    camera = ScriptedCamera(clip, 3 * 3600, 1, -200e-6, lambda i: 0.04 + (0 if i % 10 == 0 else rng.random() * 0.36))
    segments = record(camera, tmp_path, 60.0)
    assert len(segments) == 180
    stream_at = 0.0
    errors = []
    for seg in segments:
        errors.append(_error(camera, seg, stream_at))
        stream_at += seg.duration_s
    # the wall clock is the receive clock of the least delayed pictures (40 ms): the drift is
    # corrected each time it passes the tolerance (12 ms a segment at 200 ppm)
    assert max(abs(e - 0.04) for e in errors) <= DRIFT_TOLERANCE_S + 0.1, max(errors, key=abs)
    assert max(abs(e) for e in errors) < 1.0
    assert min(errors) < -0.3 and max(errors) < 0.3  # it did drift, and was brought back
    # stream time alone would have the last segment 2.1 s behind: what the old recorder did
    assert dict(camera.sent)[stream_at - segments[-1].duration_s] - (START + stream_at - segments[-1].duration_s) > 2.0
    assert all(seg.duration_s == 60.0 for seg in segments[:-1])  # durations stay exact stream time


def test_a_camera_without_drift_keeps_its_segments_joined(clip, tmp_path):
    rng = random.Random(3)
    camera = ScriptedCamera(clip, 3600, 1, 0.0, lambda i: 0.05 + rng.random() * 0.3)
    segments = record(camera, tmp_path, 60.0)
    assert len(segments) == 60
    assert all(b.start == a.end for a, b in zip(segments, segments[1:]))
    assert abs(segments[0].start.timestamp() - (START + 0.05)) < 0.31


def test_first_picture_stamped_when_it_arrived(clip, tmp_path):
    """The timing repair holds the first 24 packets back; at 2 fps the 24th arrives 11.5 s after
    the first: that was the first segment's wall clock."""
    camera = ScriptedCamera(clip, 60, 2, 0.0, lambda i: 0.1)
    segments = record(camera, tmp_path, 10.0)
    assert datetime.fromtimestamp(START + 0.1, timezone.utc) == segments[0].start


def test_a_stream_read_faster_than_real_time_keeps_its_own_timestamps(clip, tmp_path):
    """A file or a replay is read as fast as it comes (here twenty times real time): its timestamps
    ran from the receive clock by 95 % of every segment, which the drift correction took for a
    camera's clock and 're-read', starting each segment seconds before the previous one ended
    (names and start times out of order: the service's last segment was not the last recorded).
    No camera's clock is 1 % off; such a stream keeps its timestamps, segments joined."""
    camera = ScriptedCamera(clip, 600, 1, 0.0, lambda i: -0.95 * i)  # picture i arrives at i / 20 s
    segments = record(camera, tmp_path, 60.0)
    assert len(segments) == 10
    assert all(b.start == a.end for a, b in zip(segments, segments[1:]))
    assert segments[0].start == datetime.fromtimestamp(START, timezone.utc)
    assert [s.path.name for s in segments] == sorted(s.path.name for s in segments)
