"""A live window samples the frames a read of its whole recording samples (``grid_origin_s``).

A live segment is analysed in a window that starts somewhere inside an unbroken recording. Without
the recording's grid, a window starting 8.4 s in samples other pictures at 4 frames a second than a
read from the recording's start does (8.4 s is 33.6 analysis steps), so two neighbouring windows
could each place a case's decision on the other's side of their boundary: found twice, or never.
"""

from __future__ import annotations

from detector.decode import DecodeReport, iter_frames
from detector.media.concat import Part, concat_remux

from .helpers import CLIP

FPS = 4.0  # a step of 7.5 frames of the 30 fps clip: off the 8.4 s joins


def _sampled(path, origin: float = 0.0) -> list[float]:
    return [round(origin + f.t, 4) for f in iter_frames(path, FPS, DecodeReport(), grid_origin_s=origin)
            if f.image is not None]


def test_window_on_the_recordings_grid_samples_the_recordings_frames(footage_dir, tmp_path):
    clip = footage_dir / CLIP  # 252 frames, 8.4 s: played three times is the "recording"
    recording = concat_remux([Part(clip, 8.4)] * 3, tmp_path / "recording.mp4")
    window = concat_remux([Part(clip, 8.4)] * 2, tmp_path / "window.mp4")  # its 2nd and 3rd part
    whole = [t for t in _sampled(recording.path) if t >= 8.4 - 1e-6]
    assert _sampled(window.path, origin=8.4) == whole
    assert [round(8.4 + t, 4) for t in _sampled(window.path)] != whole  # the file's own grid differs
