"""Decode a clip, change every frame, encode the result: the annotated render and the redacted
public clip are both this loop with a different drawing function.

Frames keep the clip's own timestamps (``detector.media.frames`` policy) and come out upright;
``draw`` gets a BGR image and the frame's time plus ``t_offset`` (the clip's place in the source
video, so drawing can look up what the analysis saw at that instant).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from detector.decode import picture, probe
from detector.media.encode import H264Writer, even
from detector.media.frames import FrameReadError, iter_frames

DrawFn = Callable[[np.ndarray, float], "np.ndarray | None"]


@dataclass
class TransformResult:
    frames: int  # frames written
    kept: np.ndarray | None  # the output image of frame ``keep_index`` (first frame when None)
    dropped: int = 0  # frames ``draw`` refused (returned None): left out of the output


def transform_video(source: Path, out_path: Path, draw: DrawFn, *, t_offset: float = 0.0,
                    keep_index: int | None = None, crf: int = 23, preset: str = "veryfast") -> TransformResult:
    """Write ``draw(frame, t_offset + t)`` for every frame of ``source`` to ``out_path`` (H.264 MP4).

    ``draw`` may return None to leave a frame out (the redaction drops a frame it cannot make
    safe); the frame before it then stays on screen until the next one's timestamp."""
    info = probe(Path(source))
    writer = H264Writer(Path(out_path), even(info.width), even(info.height), info.fps, info.time_base, crf, preset)
    frames, index, dropped, kept = 0, 0, 0, None
    try:
        for df in iter_frames(Path(source), info, 0.0):
            image = draw(picture(df.frame, info.rotation, (info.width, info.height)), t_offset + df.t)
            index += 1
            if image is None:
                dropped += 1
                continue
            writer.encode_bgr(image, df.pts - info.first_pts)
            if index - 1 == (keep_index or 0):
                kept = image
            frames += 1
    finally:
        writer.close()
    if frames == 0:
        raise FrameReadError(f"{Path(source).name}: no frame to write")
    return TransformResult(frames, kept, dropped)
