"""``annotated.mp4`` made on demand from a case folder: the original clip with the overlay burnt in.

During the analysis only the original clip is cut (by stream copy where possible) and the review
page draws the overlay itself. A burnt-in copy is still wanted for an export, a publication or a
reviewer who asks for one; it is rendered here from ``clip.mp4`` and ``tracks.json`` alone, once,
and kept: a second request returns the same file. Like every evidence file it is written under a
temporary name and renamed into place complete, and its SHA-256 is returned for the record.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from detector.evidence.annotate import Annotator
from detector.evidence.casetrack import TRACKS_FILE, load_case_tracks
from detector.hashing import sha256_file
from detector.media.transform import transform_video

ANNOTATED_FILE = "annotated.mp4"
CLIP_FILE = "clip.mp4"


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    sha256: str
    frames: int
    reused: bool  # True when the file already existed and was returned as it was


def render_annotated(
    case_dir: Path, *, clip_path: Path | None = None, tracks_path: Path | None = None,
    crf: int = 23, preset: str = "veryfast",
) -> RenderedFile:
    """Write ``case_dir/annotated.mp4`` (if not there yet) and return it with its SHA-256."""
    case_dir = Path(case_dir)
    target = case_dir / ANNOTATED_FILE
    if target.is_file():
        return RenderedFile(target, sha256_file(target), 0, True)
    clip_path = Path(clip_path or case_dir / CLIP_FILE)
    tracks = load_case_tracks(Path(tracks_path or case_dir / TRACKS_FILE))
    annotator = Annotator(tracks.scene, track_log=tracks.track_log, signal_log=tracks.signal_log,
                          event=tracks.event)
    tmp = case_dir / f".{ANNOTATED_FILE}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        frames = transform_video(clip_path, tmp, annotator, t_offset=tracks.clip_start_s, crf=crf, preset=preset).frames
        try:
            os.link(tmp, target)  # atomic "create if absent": a concurrent render loses cleanly
        except FileExistsError:
            return RenderedFile(target, sha256_file(target), 0, True)
    finally:
        tmp.unlink(missing_ok=True)
    return RenderedFile(target, sha256_file(target), frames, False)
