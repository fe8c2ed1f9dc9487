"""Clip cutting on real footage: full frame rate, source timing, H.264 yuv420p, faststart."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from detector.evidence.clips import BestEffortClock, ClipError, cut_clip, iter_frames, probe

from .helpers import read_video, top_level_atoms

SHORT_MP4 = "beijing-intersection/uadetrac_overpass_short.mp4"
MOTORWAY_AVI = "motorway-cyclist/video02.avi"
GIF = "aerial-parking-lot/person-bicycle-car-detection.gif"
KEYFRAMED_MP4 = "aerial-parking-lot/car-detection.mp4"  # keyframes every 4.8 s


def paint_marker(frame: np.ndarray, t: float) -> np.ndarray:
    frame[:8, :8] = (0, 0, 255)
    return frame


def check_h264_faststart(path: Path) -> dict:
    info = read_video(path)
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"
    assert info["width"] % 2 == 0 and info["height"] % 2 == 0
    atoms = top_level_atoms(path)
    assert "moov" in atoms and "mdat" in atoms
    assert atoms.index("moov") < atoms.index("mdat"), atoms
    return info


@pytest.mark.parametrize(
    "name, start, end",
    [(SHORT_MP4, 0.5, 1.5), (MOTORWAY_AVI, 10.0, 13.0), (GIF, 1.0, 2.5)],
)
def test_cut_keeps_every_source_frame(footage_dir, tmp_path, name, start, end):
    source = footage_dir / name
    src = probe(source)
    clip, annotated = tmp_path / "clip.mp4", tmp_path / "annotated.mp4"
    result = cut_clip(source, clip, start, end, draw=paint_marker, annotated_path=annotated, key_t=(start + end) / 2)

    # The source frames in the span, read independently and in full.
    with av.open(str(source)) as c:
        t0 = None
        src_times = []
        for f in c.decode(video=0):
            t0 = f.time if t0 is None else t0
            src_times.append(f.time - t0)
    in_span = [t for t in sorted(src_times) if start - 1e-6 <= t <= end + 1e-6]

    out = check_h264_faststart(clip)
    ann = check_h264_faststart(annotated)
    expected = (end - start) * src.fps
    assert abs(len(out["times"]) - expected) <= 1.5, (len(out["times"]), expected)
    assert abs(len(out["times"]) - len(in_span)) <= 1
    assert len(ann["times"]) == len(out["times"]) == result.frames
    assert (out["width"], out["height"]) == (src.width + src.width % 2, src.height + src.height % 2)
    # Duration and spacing follow the source's timestamps.
    assert out["times"][0] == pytest.approx(0.0, abs=1e-3)
    assert out["times"][-1] == pytest.approx(result.end_s - result.start_s, abs=0.002)
    assert result.end_s - result.start_s == pytest.approx(in_span[-1] - in_span[0], abs=1.5 / src.fps)
    # The annotated copy carries the drawing, the original does not.
    assert ann["images"][0][:6, :6, 2].mean() > 200 and ann["images"][0][:6, :6, :2].mean() < 60
    assert not (out["images"][0][:6, :6, 2].mean() > 200 and out["images"][0][:6, :6, :2].mean() < 60)
    # The key frame is the one nearest the requested instant.
    assert abs(result.key.t - (start + end) / 2) <= 0.5 / src.fps + 0.02
    assert result.key.image_bgr.shape[:2] == (src.height, src.width)


def test_clip_clamped_to_the_video(footage_dir, tmp_path):
    source = footage_dir / SHORT_MP4
    result = cut_clip(source, tmp_path / "c.mp4", -3.0, 99.0)
    info = read_video(tmp_path / "c.mp4")
    assert len(info["times"]) == 69  # the whole 2.3 s file
    assert result.start_s == 0.0
    assert result.end_s == pytest.approx(68 / 30, abs=1e-3)


def test_span_outside_the_video_is_an_error(footage_dir, tmp_path):
    with pytest.raises(ClipError):
        cut_clip(footage_dir / SHORT_MP4, tmp_path / "c.mp4", 50.0, 60.0)


def test_seeks_to_the_keyframe_before_the_start(footage_dir):
    source = footage_dir / KEYFRAMED_MP4
    first = next(iter(iter_frames(source, probe(source), 20.0)))
    # Keyframes lie every 4.8 s: decoding starts at 19.2 s, not at the top of the file.
    assert 18.0 < first.t <= 20.0


def _write_vfr_source(path: Path, size: tuple[int, int], times: list[float]) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            img = np.full((size[1], size[0], 3), (i * 20) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)


def test_irregular_source_timing_is_kept(tmp_path):
    """Times come from the stream: a frame counter would space these evenly."""
    times = [0.0, 0.1, 0.15, 0.4, 0.45, 0.9, 1.0, 1.3]
    source = tmp_path / "vfr.mp4"
    _write_vfr_source(source, (64, 48), times)
    result = cut_clip(source, tmp_path / "c.mp4", 0.12, 1.0)
    got = read_video(tmp_path / "c.mp4")["times"]
    want = [t - 0.15 for t in times if 0.12 <= t <= 1.0]
    assert got == pytest.approx(want, abs=2e-3)
    assert result.start_s == pytest.approx(0.15, abs=1e-3)


def test_odd_sized_source_is_padded_not_scaled(tmp_path):
    source = tmp_path / "odd.avi"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 81, 61, "yuvj420p"
        for i in range(10):
            img = np.full((61, 81, 3), 200, np.uint8)
            for p in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    cut_clip(source, tmp_path / "c.mp4", 0.0, 10.0)
    got = read_video(tmp_path / "c.mp4")
    assert (got["width"], got["height"]) == (82, 62)
    assert len(got["times"]) == 10
    img = got["images"][3]
    assert img[:61, :81].mean() > 150  # picture kept at its own size
    assert img[:, 81:].mean() < 60 and img[61:, :].mean() < 60  # the padding is black


class _Frame:
    def __init__(self, pts, dts):
        self.pts, self.dts = pts, dts


def test_best_effort_clock_switches_to_dts_when_pts_misbehave():
    """AVI with packed B-frames: pts arrive out of order, dts increase (video02.avi does this)."""
    clock = BestEffortClock()
    pts = [1, 4, 6, 5, 7, 9, 8, 10]
    dts = [3, 4, 5, 6, 7, 8, 9, 10]
    got = [clock(_Frame(p, d)) for p, d in zip(pts, dts)]
    assert got[:3] == [1, 4, 6]
    assert got[3:] == dts[3:]
    good = BestEffortClock()
    assert [good(_Frame(p, None)) for p in (0, 512, 1024)] == [0, 512, 1024]
