"""Cameras that encode each picture as several slices (many IP cameras do), met through the real
RTSP server, which sends the parameter sets again before every slice of a keyframe (GStreamer's
rtph264pay with config-interval=-1; cameras built on it may do the same).

FFmpeg's H.264 parser takes a parameter set after a slice for the start of a new picture, so the
recorder got every keyframe as four packets, each one slice, all with the keyframe's presentation
time; the decode times FFmpeg guesses from presentation times (RTSP carries none) then repeated
for the pictures after it. A connection's first segment held its keyframe as four "pictures" and
lost the two pictures after it; later segments began with one slice of their keyframe, the rest
of it and pictures after it dropped for their repeated decode times. And after the camera's clock
jumped back, every B-picture (single-slice cameras too) was dropped until the timestamps caught
up with the old ones: FFmpeg's guesses went on from the times before the jump.

Every segment here must hold the camera's pictures whole and in an unbroken run (the slice NAL
units of each, byte for byte, and the same decoded pictures as the clip), the segments of one
timeline must follow on without a picture lost, and their times must be the pictures' times.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import av
import pytest

from detector.media.recorder import Recorder, RecorderConfig, read_index
from detector.media.streamcopy import nal_units

from footage_clips import reencode

from .helpers import RtspCamera, is_slice, picture_nals, recording

FPS = 30
GOP = 15  # a keyframe every 0.5 s: segments of 0.5 s, cut at each
FRAMES = 45  # a 1.5 s loop: three keyframes


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _frame_hashes(path: Path) -> tuple[list[str], int]:
    """The decoded pictures' hashes, and how many packets the decoder refused."""
    frames, refused = [], 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            try:
                frames += stream.codec_context.decode(packet if packet.size else None)
            except av.error.InvalidDataError:
                refused += 1
    return [hashlib.sha256(f.to_ndarray(format="gray").tobytes()).hexdigest() for f in frames], refused


@pytest.fixture(scope="module", params=[("h264", 4), ("h264", 1), ("hevc", 3)],
                ids=["4-slices", "1-slice", "h265-3-slices"])
def clip(request, footage_dir, tmp_path_factory) -> Path:
    """The short clip at 320x180 (half a second to make), ``param`` slices a picture, B-frames;
    H.264, or H.265 as many Chinese IP cameras send it (x265 cuts 320x180 into at most 3 slices,
    one per row of 64-pixel blocks)."""
    codec, slices = request.param
    path = tmp_path_factory.mktemp("slices") / f"slices-{codec}-{slices}.mp4"
    if codec == "hevc":
        params = f"slices={slices}:keyint={GOP}:min-keyint={GOP}:bframes=2:pools=1:frame-threads=1:log-level=error"
        reencode(footage_dir, path, "mp4", frames=FRAMES, codec="libx265", options={"x265-params": params})
    else:
        reencode(footage_dir, path, "mp4", frames=FRAMES, options={"g": str(GOP), "threads": "1", "slices": str(slices)})
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.reorder_depth > 0  # B-frames: decode order is not presentation order
    return path


def _numbers(path: Path, source: list[bytes]) -> list[int | None]:
    """Each packet's slices as the clip's picture number in decode order (None: not a whole one)."""
    return [source.index(p) if p in source else None for p in picture_nals(path)]


def _check(segments, clip: Path) -> None:
    """Every segment: whole pictures of the clip in an unbroken run from a keyframe, decoding
    without a fault to the clip's own pictures, its duration the time they span; the segments
    of one timeline follow on without a picture lost and without a gap or overlap in time. (A
    segment the camera's drop ended may end with the part of a picture it got before where that
    cannot be told: the recorder leaves out a picture with fewer slices than the one before, see
    ``test_a_picture_cut_off_by_the_camera_going_off_does_not_end_its_segment``.)"""
    source = picture_nals(clip)
    assert len(source) == FRAMES
    source_frames = set(_frame_hashes(clip)[0])
    previous = None
    for segment in segments:
        pictures = picture_nals(segment.path)
        found = [source.index(p) if p in source else None for p in pictures]
        assert len(found) == segment.packets, segment
        at = found[0]
        assert at is not None and at % GOP == 0, f"{segment.path.name} does not begin with a whole keyframe: {found}"
        # the camera killed while it sent a picture: the slices that came of it end the segment
        cut = segment.ended_by == "drop" and found[-1] is None and len(found) > 1
        if cut:
            assert source[(at + len(found) - 1) % FRAMES].startswith(pictures[-1]), segment.path.name
        assert found[: len(found) - cut] == [(at + i) % FRAMES for i in range(len(found) - cut)], (
            f"{segment.path.name}: pictures cut, lost or out of order: {found}"
        )
        frames, refused = _frame_hashes(segment.path)
        assert refused <= cut and segment.packets - cut <= len(frames) <= segment.packets, segment.path.name
        assert len(set(frames) - source_frames) <= cut, f"{segment.path.name}: pictures unlike the clip's"
        if segment.ended_by == "length":
            assert segment.packets % GOP == 0, segment  # cut at a keyframe: whole groups of pictures
            assert abs(segment.duration_s - segment.packets / FPS) < 0.002, segment
        if previous is not None and previous[0].connection == segment.connection:
            assert segment.start == previous[0].end, (previous[0], segment)
            assert at == (previous[1] + previous[0].packets) % FRAMES, "pictures lost between segments"
        previous = segment, at


def test_a_multi_slice_camera_is_recorded_whole_also_across_a_reconnect(clip, tmp_path):
    camera = RtspCamera(clip)
    camera.start()
    out = tmp_path / "rec"
    segments, gaps = [], []
    recorder = Recorder(
        RecorderConfig(camera.url, out, segment_s=0.5, read_timeout_s=3.0, backoff_initial_s=0.1, backoff_max_s=0.2),
        on_segment=segments.append,
        on_gap=gaps.append,
    )
    try:
        with recording(recorder):
            _wait(lambda: len(segments) >= 3, 20, "three segments")
            camera.kill()
            _wait(lambda: any(s.ended_by != "length" for s in segments), 10, "the segment cut by the drop")
            camera.start()
            _wait(
                lambda: len({s.connection for s in segments}) == 2 and segments[-1].sequence >= 2,
                20,
                "two segments after the reconnect",
            )
    finally:
        camera.kill()
    assert [s.connection for s in segments].count(segments[-1].connection) >= 2
    _check(segments, clip)
    [gap] = [g for g in gaps if g.end is not None]
    [cut] = [s for s in segments if s.ended_by == "drop"]
    assert gap.start == cut.end and gap.end == next(s.start for s in segments if s.connection != cut.connection)
    listed, _ = read_index(out)
    assert [(s["path"], s["start"], s["end"], s["packets"]) for s in listed] == [
        (s.path.name, s.start.isoformat(), s.end.isoformat(), s.packets) for s in segments
    ]


def test_a_multi_slice_camera_whose_clock_jumps_back_loses_no_picture(clip, tmp_path):
    """The jump back by one loop (1.5 s) with the connection up: the pictures before it end their
    timeline at the loop's last one, and those after it begin the next one at the loop's first
    keyframe, whole, with every B-picture after it (FFmpeg's decode times, guessed from the
    presentation times before the jump, put them all out of order)."""
    camera = RtspCamera(clip, flags=("--clock-reset",))
    camera.start()
    segments = []
    recorder = Recorder(
        RecorderConfig(camera.url, tmp_path, segment_s=0.5, read_timeout_s=3.0), on_segment=segments.append
    )
    try:
        with recording(recorder):
            _wait(lambda: any(s.ended_by == "clock" for s in segments[:-2]), 20, "two segments after the jump")
    finally:
        camera.kill()
    assert recorder.status.connections == 1
    [k] = [i for i, s in enumerate(segments) if s.ended_by == "clock"]
    before, after = segments[k], segments[k + 1]
    assert after.connection == before.connection + 1 and after.start >= before.end
    _check(segments, clip)
    source = picture_nals(clip)
    assert _numbers(before.path, source)[-1] == FRAMES - 1  # the loop recorded to its end
    assert _numbers(after.path, source)[0] == 0  # and the next from its start


def test_the_next_slice_of_a_picture_is_told_by_its_header_in_either_framing(clip):
    """What joins the pieces: a packet whose first slice is not its picture's first, read from the
    slice header in length-prefixed (MP4, FLV) and start-code (RTSP, MPEG-TS) framing alike."""
    from detector.media.recorder import _continues_picture

    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        hevc = stream.codec_context.name == "hevc"
        size = (stream.codec_context.extradata[21 if hevc else 4] & 3) + 1
        packets = [bytes(p) for p in container.demux(stream) if p.size]
    # a NAL unit that is no slice before the slices: an SEI (H.264) / an access unit delimiter (H.265)
    other = bytes([0x46, 0x01, 0x50]) if hevc else bytes([0x06, 0x05, 0x01, 0x80])
    if not clip.name.endswith("-1.mp4"):  # the pictures are really cut into slices
        assert max(len([u for u in nal_units(p, size) if is_slice(u, hevc)]) for p in packets) > 1
    for data in packets:
        units = list(nal_units(data, size))
        slices = [u for u in units if is_slice(u, hevc)]
        for framing, length_size in (
            (lambda us: b"".join(len(u).to_bytes(size, "big") + u for u in us), size),
            (lambda us: b"".join(b"\0\0\0\1" + u for u in us), None),
        ):
            assert not _continues_picture(framing(units), length_size, hevc)
            for k in range(1, len(slices)):
                assert _continues_picture(framing([other] + slices[k:]), length_size, hevc)


def test_a_picture_cut_off_by_the_camera_going_off_does_not_end_its_segment(footage_dir, tmp_path, caplog):
    """The camera goes off after sending the first of the four slices of its 21st picture. That
    slice was recorded as the segment's last picture, which decoded to a smeared one (or not at
    all) at the very moment a reviewer looks for what happened before the camera dropped. The
    segment ends with the last whole picture, every one before it kept."""
    clip = tmp_path / "slices-h264-4.mp4"
    reencode(footage_dir, clip, "mp4", frames=FRAMES, options={"g": str(GOP), "threads": "1", "slices": "4"})
    cut_at = GOP + 5  # decode order: the second keyframe's segment holds pictures 15..19, then the cut one
    caplog.set_level(logging.INFO, logger="detector.media.recorder")
    camera = RtspCamera(clip, flags=(f"--cut-picture-after={cut_at}",))
    camera.start()
    segments = []
    recorder = Recorder(RecorderConfig(camera.url, tmp_path / "rec", segment_s=0.5, read_timeout_s=3.0,
                                       backoff_initial_s=5.0), on_segment=segments.append)
    try:
        with recording(recorder):
            _wait(lambda: any(s.ended_by == "drop" for s in segments), 20, "the segment ended by the drop")
    finally:
        camera.kill()
    [dropped] = [s for s in segments if s.ended_by == "drop"]
    source = picture_nals(clip)
    assert _numbers(dropped.path, source) == list(range(GOP, cut_at))  # whole pictures, none lost
    frames, refused = _frame_hashes(dropped.path)
    assert refused == 0 and len(frames) == cut_at - GOP
    said = [r.getMessage() for r in caplog.records if "in the middle of a picture" in r.getMessage()]
    assert said == ["the stream ended in the middle of a picture (1 of 4 slices): the picture is left out"]
