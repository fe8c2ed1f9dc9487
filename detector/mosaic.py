"""A mosaic of a drone flight that moves along a road, and the registration of its frames to it.

A hovering drone sees one place, so every frame is registered to one reference image of it
(``detector.register``). A drone flying along a road sees new ground in every frame: after a few
seconds no frame overlaps any single reference. Such a flight is registered **frame to frame**
instead: each analysis frame to the previous registered one (ORB features spread over the picture,
USAC homography, the same fit and checks as ``register``; to the last keyframe rather than the
previous frame, see ``KEY_MOVE``), the transforms chained into the first textured
frame's plane and that plane laid out as one long image, the mosaic. Where the fit finds two
motions (the ground and a stream of cars) and the one covering more of the picture fails its
checks, the flight's last step carried on (``_carried_on``) says which is the ground. The operator draws the zones
(kerbs, lanes, crossings) on the mosaic, and the analysis maps every frame's detections into it
with the very transforms the mosaic was built from, so tracking, dwell and direction are computed
on the ground: a car parked at the kerb stays in one place while the picture sweeps past it.

Chaining errors add up along the flight (the far end of a long mosaic may be bent by a few
per cent), but the zones are drawn on the same chained plane the analysis uses, so they sit where
the operator drew them relative to each frame: the analysis reads the stored transforms and never
recomputes them. That is why a mosaic belongs to one flight video (its SHA-256 is recorded and
checked) and to the analysis rate it was built at.

Frames whose fit fails (blur, a sudden turn, too little ground in view) are left out of the chain
(the next frame is matched to the last good one) and, in the analysis, give no detections and no
cases, as unregistered drone frames do. More than ``MAX_MISSES`` failures in a row end the chain:
later frames are unregistered; the README says what is supported.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from detector.decode import DecodeReport, iter_frames, probe
from detector.hashing import sha256_file
from detector.register import ReferenceRegistration, RegistrationStats, map_points

FORMAT = "civicwatch-mosaic/1"
MAX_SIDE = 12000  # longest side of the mosaic image; a longer flight is drawn scaled down
MAX_MISSES = 10  # consecutive frames that cannot be matched to the keyframe end the chain
# Frames are matched to a keyframe, not to the previous frame: a slow flight moves a pixel or two
# between analysis frames, where the video codec's skipped blocks and feature quantisation make
# every step read as "no motion" and the chain falls behind the flight (measured: 25 of 135 px).
# A new keyframe is taken once the view has moved this share of the picture, or the matches agree
# less than this.
KEY_MOVE = 0.15
KEY_SHARE = 0.5


class MosaicError(ValueError):
    """A mosaic that cannot be built or used (no overlap, another video, unreadable file)."""


@dataclass
class MosaicFrame:
    t: float
    homography: list[float] | None  # frame px -> mosaic px, row-major 3x3; None: not registered
    quality: float | None = None  # share of feature matches agreeing with the frame-to-frame fit


@dataclass
class Mosaic:
    video: str
    video_sha256: str
    analysis_fps: float
    frame_size: tuple[int, int]
    size: tuple[int, int]  # mosaic image (width, height): the scene's frame_size
    image: str  # file name of the mosaic picture, beside the mosaic file
    frames: list[MosaicFrame] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "video": self.video, "video_sha256": self.video_sha256,
            "analysis_fps": self.analysis_fps, "frame_size": list(self.frame_size), "size": list(self.size),
            "image": self.image,
            "registered": sum(1 for f in self.frames if f.homography is not None), "frames_total": len(self.frames),
            "frames": [{"t": round(f.t, 4), "h": f.homography, "quality": f.quality} for f in self.frames],
        }


def load_mosaic(path: Path) -> Mosaic:
    """A mosaic file written by ``build_mosaic``, or ``MosaicError`` naming what is wrong."""
    name = Path(path).name
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise MosaicError(f"{name}: cannot read the mosaic file ({err})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if isinstance(found, str) and found.startswith(FORMAT.split("/")[0] + "/") and found != FORMAT:
        raise MosaicError(f"{name}: a mosaic file of format {found!r}; this version reads {FORMAT!r}: "
                          "build it again with civicwatch mosaic")
    if found != FORMAT:
        raise MosaicError(f"{name}: not a CivicWatch mosaic file (format {FORMAT!r} expected)")
    try:
        frames = [MosaicFrame(_number(f["t"], "t"), _homography(f["h"]), _optional_number(f.get("quality"), "quality"))
                  for f in data["frames"]]
        return Mosaic(_text(data["video"], "video"), _text(data["video_sha256"], "video_sha256"),
                      _number(data["analysis_fps"], "analysis_fps", positive=True),
                      _size(data["frame_size"], "frame_size"), _size(data["size"], "size"),
                      _text(data["image"], "image"), frames)
    except (KeyError, TypeError, ValueError) as err:
        raise MosaicError(f"{name}: malformed mosaic file ({err})") from None


# The file's fields, checked as they are read: a damaged file must fail here, naming the field,
# not halfway through an analysis that meets the bad frame.
def _number(value, what: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what}: a finite number expected, not {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{what}: must be positive, not {value!r}")
    return float(value)


def _optional_number(value, what: str) -> float | None:
    return None if value is None else _number(value, what)


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what}: text expected, not {value!r}")
    return value


def _size(value, what: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ValueError(f"{what}: [width, height] in pixels expected, not {value!r}")
    return (value[0], value[1])


def _homography(value) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 9:
        raise ValueError(f"h: nine numbers (a row-major 3x3 transform) or null expected, not {value!r}")
    return [_number(v, "h") for v in value]


def build_mosaic(video: Path, out_dir: Path, analysis_fps: float = 10.0, until_s: float | None = None,
                 model: str = "similarity") -> Mosaic:
    """Register the flight's analysis frames frame to frame, lay them out as one image and write
    ``mosaic.jpg`` (draw the zones on it) and ``mosaic.json`` (the transforms) into ``out_dir``.
    ``until_s``: only the flight's first seconds (its later frames are then unregistered)."""
    video, out_dir = Path(video), Path(out_dir)
    info = probe(video)
    w, h = info.width, info.height
    matcher = ReferenceRegistration((w, h), model=model)
    chain: list[tuple[float, np.ndarray | None, float | None]] = []  # t, frame px -> first placed frame px
    images: dict[float, np.ndarray] = {}
    key: np.ndarray | None = None  # the keyframe's transform into the first placed frame
    placed_at: list[tuple[float, np.ndarray]] = []  # the last two frames placed: t, transform
    misses = 0
    report = DecodeReport()
    for frame in iter_frames(video, analysis_fps, report, end_s=until_s):
        if frame.image is None:
            continue
        if key is None:
            # The chain starts at the first frame with enough texture: a flight that begins dark or
            # blurred (the camera still setting its exposure, the take-off) is chained from there,
            # its first frames unregistered.
            if matcher.set_reference(frame.image):
                key = np.eye(3)
                chain.append((frame.t, key, 1.0))
                placed_at.append((frame.t, key))
                images[frame.t] = frame.image
            else:
                chain.append((frame.t, None, None))
            continue
        if misses > MAX_MISSES:
            chain.append((frame.t, None, None))
            continue
        expected = np.linalg.inv(key) @ _carried_on(placed_at, frame.t)
        step, share = matcher.match(frame.image, expected=expected)  # this frame -> the keyframe
        if step is None:
            misses += 1
            chain.append((frame.t, None, round(share, 3) if share else None))
            continue
        misses = 0
        placed = key @ step
        chain.append((frame.t, placed, round(share, 3)))
        placed_at[:] = [*placed_at[-1:], (frame.t, placed)]
        images[frame.t] = frame.image
        if _moved(step, w, h) > KEY_MOVE * min(w, h) or share < KEY_SHARE:
            matcher.set_reference(frame.image)  # a new keyframe: the ground has moved on
            key = placed
    registered = [(t, H) for t, H, _ in chain if H is not None]
    if not registered:
        raise MosaicError(f"{video.name}: no frame has enough texture to start the chain (dark, blurred or "
                          "featureless pictures); no mosaic")
    if len(registered) < 2:
        raise MosaicError(f"{video.name}: fewer than two frames could be chained; no mosaic")
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    mapped = np.vstack([map_points(corners, H) for _, H in registered])
    x0, y0 = np.floor(mapped.min(axis=0))
    x1, y1 = np.ceil(mapped.max(axis=0))
    scale = min(1.0, MAX_SIDE / max(x1 - x0, y1 - y0))
    place = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale], [0, 0, 1]])
    size = (int(np.ceil((x1 - x0) * scale)), int(np.ceil((y1 - y0) * scale)))
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    for t, H in registered:  # later frames drawn over earlier ones: the freshest view of the ground
        to_mosaic = place @ H
        warped = cv2.warpPerspective(images[t], to_mosaic, size, flags=cv2.INTER_LINEAR)
        cover = cv2.warpPerspective(np.full((h, w), 255, np.uint8), to_mosaic, size, flags=cv2.INTER_NEAREST)
        canvas[cover > 0] = warped[cover > 0]
    out_dir.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_dir / "mosaic.jpg"), canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])
    frames = [MosaicFrame(t, None if H is None else [round(float(v), 9) for v in (place @ H).ravel()], q)
              for t, H, q in chain]
    mosaic = Mosaic(video.name, sha256_file(video), analysis_fps, (w, h), size, "mosaic.jpg", frames)
    (out_dir / "mosaic.json").write_text(json.dumps(mosaic.to_dict(), indent=1), encoding="utf-8")
    return mosaic


def _carried_on(placed_at: list[tuple[float, np.ndarray]], t: float) -> np.ndarray:
    """Where the frame at ``t`` lies (its px -> the first placed frame's) if the flight keeps the motion
    of its last step: that step repeated once per analysis interval since (the latest placement
    when only one frame is placed: a flight starts from rest, as far as the chain knows)."""
    t1, last = placed_at[-1]
    if len(placed_at) < 2:
        return last
    t0, before = placed_at[-2]
    step = np.linalg.inv(before) @ last  # the last frame's px -> the frame before's px
    repeats = max(1, round((t - t1) / (t1 - t0))) if t1 > t0 else 1
    return last @ np.linalg.matrix_power(step, min(repeats, MAX_MISSES + 1))


def _moved(hom: np.ndarray, w: int, h: int) -> float:
    """How far the picture's centre moved under ``hom`` (px)."""
    centre = np.array([[w / 2, h / 2]], np.float64)
    return float(np.linalg.norm(map_points(centre, hom) - centre))


class MosaicRegistration:
    """The analysis side: each frame's transform into the mosaic, read from the mosaic file.

    Behaves like ``ReferenceRegistration`` for the pipeline (``update`` gives frame px -> scene px,
    or None for a frame the mosaic does not place; ``stats`` counts both)."""

    def __init__(self, mosaic: Mosaic) -> None:
        self.mosaic = mosaic
        self._times = np.array([f.t for f in mosaic.frames], np.float64)
        self._tolerance = 0.5 / mosaic.analysis_fps
        self.stats = RegistrationStats(reference="mosaic")

    def update(self, t: float, frame_bgr: np.ndarray | None = None, moving: np.ndarray | None = None) -> np.ndarray | None:
        self.stats.frames += 1
        record = self._at(t)
        if record is None or record.homography is None:
            self.stats.unregistered += 1
            self.stats.unregistered_times.append(t)
            return None
        self.stats.registered += 1
        self.stats.quality.append(float(record.quality) if record.quality is not None else 1.0)
        return np.asarray(record.homography, np.float64).reshape(3, 3)

    def _at(self, t: float) -> MosaicFrame | None:
        if not len(self._times):
            return None
        i = int(np.argmin(np.abs(self._times - t)))
        return self.mosaic.frames[i] if abs(self._times[i] - t) <= self._tolerance else None


def check_mosaic_for(mosaic: Mosaic, source: Path, scene_size: tuple[int, int], analysis_fps: float) -> None:
    """The mosaic was built from this very video, at this rate, and the scene is drawn on it."""
    if tuple(scene_size) != tuple(mosaic.size):
        raise MosaicError(f"the scene's frame_size {list(scene_size)} is not the mosaic's size {list(mosaic.size)}: "
                          "draw the zones on the mosaic image and give its size as frame_size")
    if abs(analysis_fps - mosaic.analysis_fps) > 1e-6:
        raise MosaicError(f"the mosaic was built at {mosaic.analysis_fps:g} analysis frames a second, the analysis "
                          f"runs at {analysis_fps:g}: use the same rate (civicwatch mosaic --analysis-fps)")
    digest = sha256_file(source)
    if digest != mosaic.video_sha256:
        raise MosaicError(f"the mosaic was built from another video ({mosaic.video}, SHA-256 "
                          f"{mosaic.video_sha256[:12]}…), not {Path(source).name} ({digest[:12]}…)")
