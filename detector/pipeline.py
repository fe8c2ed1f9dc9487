"""The one function the CLI and the service call: analyse this source with this scene.

decode → detect → track → signals → background → rules → evidence, with decoding in its own
thread feeding a small bounded queue, so that PyAV's decoder and onnxruntime (both release the
GIL) run at the same time on the two cores. Only analysis frames (default 10 fps) reach the
detector; clips are later cut from the original stream at its full rate.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from civicwatch import __version__
from detector.background import StaticObjectFinder
from detector.decode import DecodedFrame, DecodeReport, VideoInfo, VideoOpenError, iter_frames, probe
from detector.class_scores import DEFAULT_PERSON_CONF, ClassScores
from detector.detect import ObjectDetector, load_analysis_detector
from detector.evidence.manifest import write_manifest
from detector.evidence.tracklog import SignalLog, TrackLog
from detector.evidence.writer import flight_record, write_cases
from detector.identity import IdentityGuard
from detector.lowlight import LowLight
from detector.media.metadata import parse_creation_time
from detector.mosaic import Mosaic, MosaicError, MosaicRegistration, check_mosaic_for, load_mosaic
from detector.motion_gate import MotionGate
from detector.regions import FocusSettings, ZoneRegionDetector, regions_tiles, zone_regions
from detector.register import (
    ReferenceRegistration,
    as_homography,
    detections_to_scene,
    map_boxes_h,
    registration_losses,
    unregistered_warning,
)
from detector.riders import RIDER, RiderLinker
from detector.rules import build_rules
from detector.rules.merge import merge_events
from detector.scene import NoLitterZone, Scene, SceneError, load_scene
from detector.segments import Span, SpanError, required_preroll
from detector.signals import build_signal_providers
from detector.signing import default_key_path, load_or_create_key, sign_manifest
from detector.slicing import frame_tiles, resolve_slicing
from detector.stabilise import CameraMotion, to_reference
from detector.track import TRACKED_CLASSES, ObjectTracker
from detector.types import (
    Detections,
    FrameContext,
    SignalColor,
    TrackObservation,
    ViolationEvent,
)
from detector.zone_counts import ZoneTrackCounter

log = logging.getLogger(__name__)


class OutputFolderError(ValueError):
    """The output folder cannot be used: a file stands in its place, or it cannot be made there."""


class OutputExistsError(OutputFolderError):
    """The output folder already holds an analysis; evidence is never overwritten."""


def check_output_folder(out_dir: Path) -> None:
    """Refuse, before any work, an output folder that the evidence could not be written into
    (instead of failing after the whole video has been analysed)."""
    # every name the analysis writes: one left by an earlier run (say its manifest.sig alone) would
    # otherwise be found only when written, after the whole video, with the folder half-filled
    held = [name for name in ("manifest.json", "manifest.sig", "cases.json", "cases", "analysis.json")
            if (out_dir / name).exists()]
    if held:
        raise OutputExistsError(f"{out_dir} already holds an analysis ({', '.join(held)}); choose a new output folder")
    check_writable_folder(out_dir)


def check_writable_folder(out_dir: Path) -> None:
    """``OutputFolderError`` when ``out_dir`` is a file, lies under one, or cannot be made for lack
    of permission: checked before a long run, not found when its results are written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir} is a file, not a folder; choose a new output folder")
    above = out_dir.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputFolderError(f"{out_dir}: {above} is a file, not a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{out_dir}: no permission to write in {above}")


class AnalysisCancelled(RuntimeError):
    """The caller asked to stop; nothing half-written is left claiming to be a result."""


@dataclass
class AnalyzeOptions:
    model: str | None = None  # None: the default model from models/manifest.yaml
    analysis_fps: float = 10.0
    pre: float = 5.0
    post: float = 5.0
    conf: float = 0.3
    # People's own detection threshold (None: ``conf``); see detector.class_scores.
    person_conf: float | None = DEFAULT_PERSON_CONF
    # Tracker: the score an unclaimed detection needs to start a track, and the consecutive
    # analysis frames that confirm it (detector.track.ObjectTracker).
    track_birth: float = 0.3
    track_confirm: int = 2
    threads: int | None = None
    # Wall clock of the first frame when the scene has none (upload metadata); ISO 8601 with offset.
    start_time: datetime | None = None
    # True: ``start_time`` wins over the scene's (an operator's recording time for one upload
    # beats the camera's default); cases then say their clock came from the upload.
    start_time_overrides_scene: bool = False
    # Who flew the footage (upload form / API; optional), carried into every case record.
    drone_id: str | None = None
    pilot: str | None = None
    # Also detect on tiles around the scene's zones at model resolution ("look where the rules
    # look"); "off" detects on the whole frame only.
    regions: str = "zones"
    # The whole-frame pass runs on every n-th analysis frame when zone tiles are on.
    full_every: int = 1
    max_region_tiles: int = 4
    # A closer look (``detector.regions.FocusSettings``): up to this many windows a frame, at twice
    # the frame's size, where the frame pass and the tiles found people under 40 px tall; 0: off.
    # Measured on the development set in benchmarks/README.md ("Choosing the analysis model").
    focus_windows: int = 0
    # Sliced inference over the whole frame (detector.slicing), for objects too small for the
    # whole-frame pass: "auto" lets the scene decide (its ``slicing`` field; without one, on for
    # drone scenes, off for fixed cameras), "on" / "off" override it. When it slices, the slice
    # grid replaces the zone tiles. ``slice_tile`` (px of the video) and ``slice_overlap`` (of a
    # tile) override the scene's; None: the scene's, else 320 px and 0.2.
    slicing: str = "auto"
    slice_tile: int | None = None
    slice_overlap: float | None = None
    # Register each analysis frame of a fixed camera to the first (sway, drift) and map the
    # detections into the first frame's pixels, where the zones were drawn.
    stabilise: bool = True
    # False: cases.json holds the case records without clips, snapshots or manifest (for
    # evaluation runs over a development set, where only what was found matters).
    evidence: bool = True
    # Also burn the overlay into ``annotated.mp4`` for every case during the analysis. Off by
    # default: the review page draws the overlay over the original clip from ``tracks.json``, and
    # ``detector.evidence.render_annotated`` makes the annotated clip on demand.
    annotated_clips: bool = False
    # Skip detection on analysis frames where the picture has not changed since the last
    # detection (reusing its boxes), at least one detection every 2 s; see detector.motion_gate.
    motion_gate: bool = True
    # "auto": contrast-lift dark frames (CLAHE on luminance) for the detector only; "off": never.
    lowlight: str = "auto"
    # Private key that signs manifest.json (created on first use, mode 600); None: this user's
    # default (``detector.signing.default_key_path``). The service passes its own.
    signing_key: Path | None = None
    # Drone scenes: the reference image the frames are registered to (the service passes its
    # camera's reference frame); None: the scene's own ``reference_image``, else the flight's
    # first textured frame.
    reference_image: Path | None = None
    # One segment of a split analysis (a worker's share of a long upload, a live segment): the
    # part of the source it owns, in source seconds [start, end). It reads ``preroll_s`` before
    # it (None: ``detector.segments.required_preroll``) and ``post`` after it, and keeps only the
    # cases decided inside it, so consecutive spans give every case once. None: the whole source.
    span: tuple[float, float] | None = None
    preroll_s: float | None = None
    # Seconds of an unbroken recording before this file's first frame (a live camera's window:
    # service.live): the analysis grid is laid from the recording's start, so windows sample the
    # frames a read of the whole recording samples and neighbours agree on decision times.
    grid_origin_s: float = 0.0
    # Fixed cameras: the picture their sway is measured against (the camera's reference frame,
    # where the zones were drawn). None: the first frame of the source. A segment that starts
    # reading later anchors there too, not on its own first frame: every segment of a source then
    # measures the same small shifts the whole run measures, and a decision near a boundary is
    # taken at the same moment by both neighbours (measured on the Beijing drill looped: anchored
    # on their own first frames, 3 of 18 wrong-way decisions moved by 0.2-0.4 s).
    anchor_image: Path | None = None

    def class_scores(self) -> ClassScores:
        return ClassScores(self.conf, self.person_conf)


@dataclass
class Progress:
    fraction: float  # 0..1 of the video analysed (evidence writing is the last 10 %)
    frames: int
    video_s: float
    stage: str


@dataclass
class StageTimings:
    """Seconds spent per stage; decode runs in its own thread, so stages overlap in wall time."""

    decode: float = 0.0
    detect: float = 0.0
    track: float = 0.0
    rules: float = 0.0
    evidence: float = 0.0
    wall: float = 0.0
    analysis_frames: int = 0
    frames_decoded: int = 0
    video_s: float = 0.0

    @property
    def speed(self) -> float:
        """Seconds of video per second of wall time."""
        return self.video_s / self.wall if self.wall > 0 else 0.0


@dataclass
class AnalysisResult:
    out_dir: Path
    cases: list[dict]
    warnings: list[str] = field(default_factory=list)
    timings: StageTimings = field(default_factory=StageTimings)
    video: VideoInfo | None = None


_END = object()


def _decode_worker(path: Path, fps: float, out: queue.Queue, report: DecodeReport, timings: StageTimings,
                   stop: threading.Event, read: tuple[float, float | None] = (0.0, None),
                   grid_origin_s: float = 0.0) -> None:
    try:
        started = time.perf_counter()
        for frame in iter_frames(path, fps, report, start_s=read[0], end_s=read[1], grid_origin_s=grid_origin_s):
            if stop.is_set():
                break
            if frame.image is not None:
                timings.decode += time.perf_counter() - started
                out.put(frame)
                started = time.perf_counter()
        timings.decode += time.perf_counter() - started
    except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
        out.put(err)
    finally:
        out.put(_END)


def wall_clock_start(scene: Scene, info: VideoInfo, options: AnalyzeOptions) -> tuple[datetime | None, str | None]:
    """Where case times come from, with the name of the source used (None when none is known).

    Fixed camera: the operator's upload time when it overrides the scene (the service's uploads),
    else the scene's start_time, then the upload time, then the container's creation_time.
    Drone scene: the upload time, then the container's creation_time (the flight's own clock),
    then the scene's start_time; a drone scene describes a place, not a flight, so its
    start_time is only a last resort.
    """
    container = parse_creation_time(info.creation_time)  # None for missing or never-set clocks
    drone = scene.kind == "drone"
    if options.start_time is not None and (options.start_time_overrides_scene or drone):
        return options.start_time, "upload"
    if drone and container is not None:
        return container, "container"
    if scene.start_time is not None:
        return scene.start_time, "scene"
    if options.start_time is not None:
        return options.start_time, "upload"
    if container is not None:
        return container, "container"
    return None, None


class _Stages:
    """The per-frame stages after decoding, kept together so the loop body stays readable."""

    def __init__(self, scene: Scene, info: VideoInfo, detector: ObjectDetector, options: AnalyzeOptions,
                 reference: np.ndarray | None = None):
        self.scene = scene
        self.detector = detector
        self.scores = options.class_scores()
        sw, sh = scene.frame_size
        self.to_scene = (sw / info.width, sh / info.height)
        self.to_frame = (info.width / sw, info.height / sh)
        self.region_detector = _region_detector(scene, info, detector, options)
        self.tracker = ObjectTracker(options.analysis_fps, birth_threshold=options.track_birth,
                                     confirm_frames=options.track_confirm)
        self.identity = IdentityGuard()
        # A fixed camera's sway is taken out against its first frame; a drone's every frame is
        # registered to the scene's reference image (detector.register), where the zones are.
        drone = scene.kind == "drone"
        self.motion = CameraMotion() if options.stabilise and not drone else None
        if drone and isinstance(reference, Mosaic):  # a flight along a road: frame to frame, into its mosaic
            self.registration = MosaicRegistration(reference)
        elif drone:
            try:
                self.registration = ReferenceRegistration(tuple(scene.frame_size), reference)
            except ValueError as err:  # a blank, black or blurred reference: nothing to register to
                raise SceneError(f"reference_image: {err}", [{"field": "reference_image", "loc": ["reference_image"],
                                                              "type": "reference_image", "msg": str(err)}]) from None
        else:
            self.registration = None
        self._quality: dict[float, float] = {}  # analysis time -> registration quality (drone)
        self.registered_at: list[tuple[float, bool]] = []  # (analysis time, registered) per drone frame
        self.gate = MotionGate() if options.motion_gate else None
        self._last_detections: Detections | None = None
        # analysis time -> 3x3 from the reference's scene px to that picture's scene px
        self._back: dict[float, np.ndarray] = {}
        self.lowlight = LowLight() if options.lowlight == "auto" else None
        self.riders = RiderLinker(calibration=scene.calibration.homography() if scene.calibration is not None else None)
        self.signals = build_signal_providers(scene)
        self.rules = build_rules(scene)
        self.finder = StaticObjectFinder(scene) if any(isinstance(z, NoLitterZone) for z in scene.zones) else None
        self._pixel_readers = self.finder is not None or any(sig.roi is not None for sig in scene.signals)
        self.track_log = TrackLog()
        self.signal_log = SignalLog()
        self.events: list[ViolationEvent] = []
        self.zone_counts = ZoneTrackCounter(scene.zones)

    def reference_from_top(self, source: Path, options: AnalyzeOptions, read_from: float) -> None:
        """A drone flight without a reference image is registered to its first textured frame. A
        read that starts later (a segment) takes that frame too, with its moving objects kept off,
        as a run from the top takes it: its own first frame is where the drone looked when the
        segment began, and the zones, drawn on the flight's first frame, would be placed by it
        wherever the drone had drifted meanwhile. None textured before the read: its own first
        textured frame is the flight's."""
        for frame in iter_frames(source, options.analysis_fps, DecodeReport(), end_s=read_from,
                                 grid_origin_s=options.grid_origin_s):
            if frame.t >= read_from:
                return
            if frame.image is None:
                continue
            detect_on = self.lowlight(frame.image) if self.lowlight is not None else frame.image
            found = self.region_detector.detect(detect_on)
            if self.registration.set_reference(frame.image, found.xyxy[self.scores.kept(found)]):
                return

    def anchor_on(self, image: np.ndarray) -> None:
        """Take ``image`` as the picture camera sway is measured against, with its moving objects
        kept off (as the first frame of a whole run is taken)."""
        detect_on = self.lowlight(image) if self.lowlight is not None else image
        found = self.region_detector.detect(detect_on)
        self.motion.update(image, found.xyxy[self.scores.kept(found)])

    def run(self, frame: DecodedFrame, timings: StageTimings) -> None:
        t0 = time.perf_counter()
        if self.gate is not None and self._last_detections is not None and self.gate.may_skip(frame.t, frame.image):
            detections = self._last_detections  # nothing changed since they were found
        else:
            detect_on = self.lowlight(frame.image) if self.lowlight is not None else frame.image
            detections = self.region_detector.detect(detect_on)
            if self.gate is not None:
                self.gate.detected(frame.t, frame.image)
                self._last_detections = detections
        kept = self.scores.kept(detections)
        image = frame.image
        unseen = None
        to_frame = self.to_frame
        if self.registration is not None:
            hom = self.registration.update(frame.t, frame.image, detections.xyxy[kept])
            self.registered_at.append((frame.t, hom is not None))
            if hom is None:  # a frame that cannot be placed on the reference reaches no rule
                # The tracker still counts it as a frame where nothing was seen: its tracks age over
                # the loss as over an occlusion. Skipped, the loss did not exist for it, and a walker
                # who stepped onto a crossing while the drone looked away kept their id and "entered"
                # when registration came back, judged by the signal of that moment.
                self.tracker.update(frame.t, Detections.empty(detections.class_names))
                self._signals_unregistered(frame.t)
                timings.detect += time.perf_counter() - t0
                return
            self._quality[frame.t] = self.registration.stats.quality[-1]
            detections = detections_to_scene(detections, hom)  # frame px -> the reference's scene px
            sx, sy = self.to_scene
            self._back[frame.t] = np.diag([sx, sy, 1.0]) @ np.linalg.inv(hom)
            self.track_log.add_view(frame.t, self._back[frame.t])  # zones drawn where they lie now
            if self._pixel_readers:
                size = tuple(self.scene.frame_size)
                image = cv2.warpPerspective(frame.image, hom, size, borderMode=cv2.BORDER_REPLICATE)
                real = cv2.warpPerspective(np.full(frame.image.shape[:2], 255, np.uint8), hom, size,
                                           flags=cv2.INTER_NEAREST)
                unseen = cv2.erode(real, np.ones((9, 9), np.uint8)) < 255
                to_frame = (1.0, 1.0)
        elif self.motion is not None:
            anchors = self.motion.stats.reanchored
            matrix = self.motion.update(frame.image, detections.xyxy[kept])
            detections = to_reference(detections, matrix)
            if self.motion.stats.reanchored != anchors and self.finder is not None:
                step = self.motion.reanchor_step
                if step is None:
                    self.finder.restart()  # the view was lost: the background model starts over
                else:  # a pan: the background model moves with the picture
                    (sx, sy), (fx, fy) = self.to_scene, self.to_frame
                    self.finder.reproject(np.diag([sx, sy, 1.0]) @ as_homography(step) @ np.diag([fx, fy, 1.0]))
            # Rules work in the reference's pixels; evidence shows boxes where they are in *this*
            # picture, so keep the way back for every analysis instant the camera had moved.
            if not np.allclose(matrix, np.eye(2, 3), atol=0.05):
                (sx, sy), (fx, fy) = self.to_scene, self.to_frame
                back = np.linalg.inv(as_homography(matrix))
                self._back[frame.t] = np.diag([sx, sy, 1.0]) @ back @ np.diag([fx, fy, 1.0])
            # Pixel readers (background model, signal ROI) see the picture as the reference framed it.
            if self._pixel_readers and not np.allclose(matrix, np.eye(2, 3), atol=0.05):
                h, w = image.shape[:2]
                image = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
                # Where the warped picture holds no real pixels (plus a margin for interpolation).
                real = cv2.warpAffine(np.full((h, w), 255, np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST)
                unseen = cv2.erode(real, np.ones((9, 9), np.uint8)) < 255
        if self.registration is None:
            detections = detections.scaled(*self.to_scene)
        detections = detections.subset(kept)
        t1 = time.perf_counter()
        observations = self.tracker.update(frame.t, detections)
        observations = self.riders.update(self.identity.update(frame.t, observations))
        observations = [self._mark_truncated(o) for o in observations]
        self.zone_counts.update(observations)
        if frame.index % 50 == 0:
            self.riders.forget({o.track_id for o in self.track_log.at(frame.t - 5.0)} | {o.track_id for o in observations})
        self.track_log.add(frame.t, [self._on_picture(o) for o in observations] if self._back else observations)
        t2 = time.perf_counter()
        states: dict[str, SignalColor] = {
            name: provider.observe(frame.t, image, to_frame) for name, provider in self.signals.items()
        }
        self.signal_log.add(frame.t, states)
        static = ()
        if self.finder is not None:
            scene_image = self._scene_sized(image)
            static = self.finder.update(frame.t, scene_image, observations, _untracked(frame.t, detections), unseen)
        ctx = FrameContext(frame.t, frame.index, tuple(observations), states, tuple(static), self._signals_unsure())
        for rule in self.rules:
            self.events.extend(rule.update(ctx))
        t3 = time.perf_counter()
        timings.detect += t1 - t0
        timings.track += t2 - t1
        timings.rules += t3 - t2

    def _signals_unregistered(self, t: float) -> None:
        """The signals at a drone frame that could not be registered: a plan or a log still says
        the colour (its changes keep their times), a head read from the picture has no pixels
        (``SignalProvider.unread``). Logged for the evidence and handed to the rules that keep a
        signal history; nothing in view is judged."""
        states = {name: provider.unread(t) for name, provider in self.signals.items()}
        self.signal_log.add(t, states)
        ctx = FrameContext(t, -1, (), states, (), self._signals_unsure())
        for rule in self.rules:
            signals_only = getattr(rule, "signals_only", None)  # rules that judge by a signal's history
            if signals_only is not None:
                signals_only(ctx)

    def _signals_unsure(self) -> dict[str, float | None]:
        out = {}
        for name, provider in self.signals.items():
            unsure, read_before = provider.unsure_since()
            if unsure:
                out[name] = read_before
        return out

    def finish(self, t_end: float) -> None:
        for rule in self.rules:
            self.events.extend(rule.finish(t_end))
        self.events = [self._event_on_picture(e) for e in merge_events(self.events, links=self.riders.links())]
        if self.registration is not None:
            self.events = [self._with_registration(e) for e in self.events]

    def _with_registration(self, ev: ViolationEvent) -> ViolationEvent:
        """A drone case says its footage was registered to the reference, and how well over its span."""
        span = [q for t, q in self._quality.items() if ev.start_s - 0.05 <= t <= ev.end_s + 0.05]
        stats = self.registration.stats
        details = {**ev.details, "registration": {
            "registered": True, "reference": stats.reference, "frames": len(span),
            "mean_quality": round(float(np.mean(span)), 3) if span else None,
            "min_quality": round(float(np.min(span)), 3) if span else None,
        }}
        return replace(ev, details=details)

    # -- from the stabilised reference back to the picture ------------------------------------
    def _back_at(self, t: float) -> np.ndarray | None:
        if not self._back:
            return None
        if t in self._back:
            return self._back[t]
        nearest = min(self._back, key=lambda k: abs(k - t))
        return self._back[nearest] if abs(nearest - t) <= 0.2 else None

    def _box_on_picture(self, box, t: float):
        back = self._back_at(t)
        if back is None or box is None:
            return box
        x1, y1, x2, y2 = map_boxes_h(np.array([box], np.float64), back)[0]
        return (float(x1), float(y1), float(x2), float(y2))

    def _mark_truncated(self, o: TrackObservation, margin: float = 2.0) -> TrackObservation:
        x1, y1, x2, y2 = self._box_on_picture(o.box, o.t)
        w, h = self.scene.frame_size
        cut = "".join(side for side, hit in (("l", x1 <= margin), ("t", y1 <= margin), ("r", x2 >= w - margin),
                                             ("b", y2 >= h - margin)) if hit)  # fmt: skip
        return replace(o, truncated=True, cut=cut) if cut else o

    def _on_picture(self, o: TrackObservation) -> TrackObservation:
        return replace(o, box=self._box_on_picture(o.box, o.t))

    def _event_on_picture(self, ev: ViolationEvent) -> ViolationEvent:
        """An event's key box and path in the pixels of the frames they were seen in."""
        if not self._back:
            return ev
        path = []
        for t, x, y in ev.path:
            bx = self._box_on_picture((x, y, x, y), t)
            path.append((t, round(bx[0], 1), round(bx[1], 1)))
        details = dict(ev.details)
        if "object_box" in details:  # litter: the object, as seen at the key moment
            details["object_box"] = [round(v, 1) for v in self._box_on_picture(details["object_box"], ev.key_t)]
        return replace(ev, key_box=self._box_on_picture(ev.key_box, ev.key_t), path=path, details=details)

    def _scene_sized(self, image: np.ndarray) -> np.ndarray:
        sw, sh = self.scene.frame_size
        if image.shape[1] == sw and image.shape[0] == sh:
            return image
        return cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)


def _region_detector(scene: Scene, info: VideoInfo, detector: ObjectDetector,
                     options: AnalyzeOptions) -> ZoneRegionDetector:
    """The whole frame plus tiles over the zones' region, in the video's own pixels; or, when the
    analysis slices (``resolve_slicing``), the whole frame plus the slice grid over all of it."""
    slicing = resolve_slicing(options.slicing, scene.kind, scene.slicing, options.slice_tile, options.slice_overlap)
    focus = FocusSettings(max_windows=options.focus_windows) if options.focus_windows else None
    if slicing is not None:
        return ZoneRegionDetector(detector, frame_tiles((info.width, info.height), slicing), slicing=slicing,
                                  focus=focus)
    tiles = []
    if options.regions == "zones":
        sx, sy = info.width / scene.frame_size[0], info.height / scene.frame_size[1]
        polygons = [[(x * sx, y * sy) for x, y in z.polygon] for z in scene.zones]
        regions = zone_regions(polygons, (info.width, info.height), max_regions=options.max_region_tiles)
        mh, mw = detector.input_size
        # A region as large as the frame gains nothing over the frame pass unless it is split.
        whole = sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions) >= 0.8 * info.width * info.height
        big = any(max((r[2] - r[0]) / mw, (r[3] - r[1]) / mh) > 1.5 for r in regions)
        if regions and (not whole or big):
            tiles = regions_tiles(regions, detector.input_size, max_tiles=options.max_region_tiles)
            if whole and len(tiles) == 1:
                tiles = []
    elif options.regions != "off":
        raise ValueError(f"regions must be 'zones' or 'off', got {options.regions!r}")
    return ZoneRegionDetector(detector, tiles, full_every=options.full_every if tiles else 1, focus=focus)


def _stabilise_anchor(source: Path, options: AnalyzeOptions, read_from: float) -> np.ndarray | None:
    """The picture a fixed camera's sway is measured against when it is not the first frame read:
    the one given (a camera's reference frame), else the source's first frame for a read that
    starts later (a segment). None: the first frame read, as a whole run takes it."""
    if options.anchor_image is not None:
        image = cv2.imread(str(options.anchor_image), cv2.IMREAD_COLOR)
        if image is None:
            raise SceneError(f"anchor image {Path(options.anchor_image).name!r} is missing or not an image")
        info = probe(source)
        if (image.shape[1], image.shape[0]) != (info.width, info.height):
            image = cv2.resize(image, (info.width, info.height), interpolation=cv2.INTER_AREA)
        return image
    if read_from <= 0:
        return None
    first = next((f.image for f in iter_frames(source, options.analysis_fps, DecodeReport(), end_s=0.0)
                  if f.image is not None), None)
    return first


def _flight_mosaic(scene: Scene, scene_path: Path, source: Path, options: AnalyzeOptions) -> Mosaic:
    """The mosaic a drone scene along a road is drawn on, checked against this video and rate."""
    def refuse(msg: str) -> SceneError:
        return SceneError(f"mosaic: {msg}", [{"field": "mosaic", "loc": ["mosaic"], "type": "mosaic", "msg": msg}])

    if scene.reference_image or options.reference_image is not None:
        raise refuse("give either a mosaic (a flight along a road) or a reference image (a hovering flight), not both")
    try:
        mosaic = load_mosaic(scene_path.parent / scene.mosaic)
        check_mosaic_for(mosaic, source, tuple(scene.frame_size), options.analysis_fps)
    except MosaicError as err:
        raise refuse(str(err)) from None
    return mosaic


def _drone_reference(scene: Scene, scene_path: Path, options: AnalyzeOptions,
                     source: Path | None = None) -> np.ndarray | Mosaic | None:
    """The image a drone scene's frames are registered to: the one given with the analysis, else
    the scene's ``reference_image`` (relative to the scene file); None for fixed cameras or when
    neither is given (the flight's first textured frame is used). Read before any heavy work, so a
    missing or unreadable file fails at once with its name."""
    if scene.kind != "drone":
        return None
    if scene.mosaic:
        return _flight_mosaic(scene, scene_path, source, options)
    path = options.reference_image
    if path is None and scene.reference_image:
        path = scene_path.parent / scene.reference_image
    if path is None:
        return None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SceneError(f"reference_image: {Path(path).name!r} is missing or not an image",
                         [{"field": "reference_image", "loc": ["reference_image"], "type": "reference_image",
                           "msg": f"{Path(path).name!r} is missing or not an image"}])
    return image


def _bare_case(index: int, ev: ViolationEvent, track_log: TrackLog) -> dict:
    """A case record without evidence files (``AnalyzeOptions.evidence = False``)."""
    track = track_log.track(ev.track_ids, ev.start_s - 1.0, ev.end_s + 1.0)
    return {
        "id": f"{ev.rule}-{index + 1:03d}", "rule": ev.rule, "zone": ev.zone,
        "start_s": round(ev.start_s, 3), "end_s": round(ev.end_s, 3),
        "decided_s": round(ev.decided, 3), "object_class": ev.object_class,
        "track_ids": list(ev.track_ids), "confidence": ev.confidence, "explanation": ev.explanation,
        "key_frame": {"t": round(ev.key_t, 3)}, "key_box": list(ev.key_box) if ev.key_box else None,
        "details": ev.details, "evidence": None,
        "offender_track": [{"t": round(o.t, 3), "track_id": o.track_id, "box": [round(v, 1) for v in o.box]}
                           for o in track],
    }


def _untracked(t: float, detections: Detections) -> list[TrackObservation]:
    """Detections of classes the tracker ignores (bottles, bags...), to name litter candidates."""
    out = []
    for box, conf, name in zip(detections.xyxy, detections.confidence, detections.names()):
        if name not in TRACKED_CLASSES:
            out.append(TrackObservation(t, -1, name, tuple(float(v) for v in box), float(conf)))
    return out


def container_length(info: VideoInfo) -> float:
    """How long the container says the video is (seconds; 0 when it does not say): its duration,
    or its header's frame count at the nominal rate where that is longer (an AVI cut short)."""
    by_count = info.frame_count / info.fps if info.frame_count and info.fps else 0.0
    return max(info.duration_s or 0.0, by_count)


# Scene and video shapes this far apart (ratio of their width/height ratios) stretch the zones
# visibly: 3 % is ~16 px at the edge of a 1080p frame; encoders' 1088-line frames stay well inside.
SHAPE_TOLERANCE = 0.03


def scene_shape_warnings(scene: Scene, info: VideoInfo) -> list[str]:
    """Refuse a fixed camera's scene drawn on a picture turned a quarter from the video's, and warn
    about one of another shape.

    Zones are drawn in the scene's ``frame_size`` and scaled to the video's size on each axis, so
    a scene drawn on the unturned picture of a phone video (a portrait video whose rotation flag
    players honour, and so does CivicWatch) would be stretched across the wrong axes without a
    word, and every case found in it would be wrong. A drone scene's zones are drawn on its
    reference image, which registration maps onto each frame whatever their shapes.
    """
    if scene.kind == "drone" or not info.width or not info.height:
        return []
    sw, sh = scene.frame_size
    scene_ratio, video_ratio = sw / sh, info.width / info.height
    if abs(scene_ratio / video_ratio - 1.0) <= SHAPE_TOLERANCE:
        return []

    def shape(ratio: float) -> str:
        return "portrait" if ratio < 1 / (1 + SHAPE_TOLERANCE) else "landscape" if ratio > 1 + SHAPE_TOLERANCE else "square"

    if {shape(scene_ratio), shape(video_ratio)} == {"portrait", "landscape"}:
        raise SceneError(
            f"frame_size: the scene is drawn on a {sw}x{sh} ({shape(scene_ratio)}) picture but the video shows "
            f"{info.width}x{info.height} ({shape(video_ratio)}): draw the zones on the picture as a player shows it "
            "(a phone video's rotation flag is honoured, so its picture is upright)"
        )
    return [
        f"the scene is drawn on a {sw}x{sh} picture but the video is {info.width}x{info.height}, another shape: "
        f"the zones are stretched {video_ratio / scene_ratio:.2f}x across to fit it; check frame_size"
    ]


def zone_class_warnings(scene: Scene, model_classes: Collection[str]) -> list[str]:
    """Classes a zone lists that nothing ever gives it: a typo (``carr``) or a class the model or
    the tracker does not have silently turns the zone's rule off. Warned, not refused: a scene
    written for another model keeps loading. Rules see tracked classes (and ``rider``); a litter
    zone's labels are any class of the model, or ``object`` (found by the background model)."""
    out = []
    for i, zone in enumerate(scene.zones):
        if not zone.classes:
            continue
        known = (set(model_classes) | {"object"}) if zone.kind == "no_litter" else set(TRACKED_CLASSES) | {RIDER}
        unseen = [c for c in zone.classes if c not in known]
        if unseen:
            seen = "the model's classes and object" if zone.kind == "no_litter" else ", ".join(sorted(known))
            out.append(f"zones[{i}] ({zone.name}): classes {unseen} are never seen by this zone's rule (it sees "
                       f"{seen}); check the spelling")
    return out


def _unwritable_name(path: Path) -> str | None:
    """Why ``path``'s name cannot go into the case records, or None. A name that is not UTF-8
    (bytes from another system's encoding) cannot be written into JSON: the analysis ran to its
    end, failed writing the records and left a half-written output folder a rerun was refused."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return (f"{shown!r}: the file name is not valid UTF-8, and it is written into the case records; "
                "rename the file")
    return None


def analyze(
    source: Path,
    scene_path: Path,
    out_dir: Path,
    options: AnalyzeOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    detector: ObjectDetector | None = None,
) -> AnalysisResult:
    """Analyse ``source`` with the scene at ``scene_path`` and write the case folder ``out_dir``.

    The scene is validated and the video probed before any heavy work, so bad input fails in
    well under a second with a message naming the problem (``SceneError`` / ``VideoOpenError``).
    """
    options = options or AnalyzeOptions()
    source, scene_path, out_dir = Path(source), Path(scene_path), Path(out_dir)
    if (bad := _unwritable_name(source)) is not None:
        raise VideoOpenError(bad)
    if (bad := _unwritable_name(scene_path)) is not None:
        raise SceneError(bad)
    scene = load_scene(scene_path)
    info = probe(source)
    shape_warnings = scene_shape_warnings(scene, info)
    check_output_folder(out_dir)
    start, clock_source = wall_clock_start(scene, info, options)
    if start is not None and scene.start_time != start:
        scene = scene.model_copy(update={"start_time": start})
    reference = _drone_reference(scene, scene_path, options, source)
    if options.focus_windows < 0:  # before the model is loaded
        raise ValueError(f"focus_windows must be 0 (off) or a number of windows, got {options.focus_windows}")
    # Bad slicing settings fail here, before the model is loaded (``SlicingError``).
    resolve_slicing(options.slicing, scene.kind, scene.slicing, options.slice_tile, options.slice_overlap)
    span, preroll, read = _segment_read(scene, info, options)  # a bad span fails before the model loads
    floor = options.class_scores().floor
    detector = detector or load_analysis_detector(options.model, conf=floor, threads=options.threads)
    if getattr(detector, "conf", floor) > floor:
        detector.conf = floor  # a detector loaded for other settings (the service's cache) reports lower boxes too
    # Loaded (or created) before the work, so that an unusable key fails in a second, not after it.
    signing_key = load_or_create_key(options.signing_key or default_key_path()) if options.evidence else None

    timings = StageTimings()
    wall0 = time.perf_counter()
    stages = _Stages(scene, info, detector, options, reference)
    anchor = _stabilise_anchor(source, options, read[0]) if stages.motion is not None else None
    if anchor is not None:
        stages.anchor_on(anchor)
    if isinstance(stages.registration, ReferenceRegistration) and reference is None and read[0] > 0:
        stages.reference_from_top(source, options, read[0])
    report = DecodeReport()
    frames: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    worker = threading.Thread(
        target=_decode_worker, args=(source, options.analysis_fps, frames, report, timings, stop, read,
                                     options.grid_origin_s),
        name="civicwatch-decode", daemon=True,
    )
    worker.start()
    duration = info.duration_s or 0.0
    read_from, read_to = read[0], (read[1] if read[1] is not None else duration)
    try:
        while True:
            item = frames.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            if should_cancel is not None and should_cancel():
                raise AnalysisCancelled("analysis cancelled")
            stages.run(item, timings)
            timings.analysis_frames += 1
            if progress is not None:
                length = read_to - read_from
                fraction = min(max(item.t - read_from, 0.0) / length, 1.0) * 0.9 if length > 0 else 0.0
                progress(Progress(fraction, item.index + 1, item.t, "analyse"))
    finally:
        stop.set()
        while worker.is_alive():  # drain so the decoder is never blocked on a full queue
            try:
                frames.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()

    t_end = report.last_t
    stages.finish(t_end)
    said = container_length(info)
    warnings: list[str] = (shape_warnings + scene.ignored_fields() + scene.never_red_signals()
                           + zone_class_warnings(scene, getattr(detector, "class_names", {}).values()))
    registration = None
    if stages.registration is not None:
        # Counted over the frames this run owns (a segment's span; all for a whole run): a
        # segment's pre-roll is its neighbour's, and a split job adds its segments' up.
        last = span is None or (bool(duration) and span.end >= duration - 1e-3)
        owned = (lambda t: span.owns(t, last=last)) if span is not None else None
        mine = [(t, ok) for t, ok in stages.registered_at if owned is None or owned(t)]
        losses = registration_losses(stages.registered_at, 1.0 / options.analysis_fps, owned)
        registration = {**stages.registration.stats.to_dict(), "owned_frames": len(mine),
                        "owned_unregistered": sum(not ok for _, ok in mine), "losses": losses}
        if registration["owned_unregistered"]:
            warnings.append(unregistered_warning(registration["owned_unregistered"], registration["owned_frames"],
                                                 stages.registration.stats.reference, losses))
    if report.damaged:
        warnings.append(
            f"the video is damaged or truncated: the decoder refused packets at {report.damage_text()}; those "
            "frames, and the ones after them up to the next keyframe, were skipped (nothing was analysed there) "
            "and the analysis went on after them"
        )
    if report.size_changes:
        changes = ", ".join(f"{w}x{h} from {t:.2f} s" for t, w, h in report.size_changes)
        warnings.append(
            f"the picture size changes during the video ({changes}; it starts at {info.width}x{info.height}): "
            "those frames were scaled to the first size, so the zones fit them only if the camera's view stayed "
            "the same"
        )
    if report.error:
        warnings.append(
            f"the video is damaged or truncated: {report.error}; cases found before that point are kept"
        )
    elif said and (read[1] is None or read_to >= duration) and t_end + max(1.0, 0.02 * said) < said:
        # A truncated MP4 whose index survived decodes "cleanly" and just stops early; an AVI cut
        # short loses its index, FFmpeg then guesses the duration from the file's size, and only
        # the header's frame count still knows how long the video was.
        warnings.append(
            f"the video ends at {t_end:.1f} s but its container says {said:.1f} s: the file is "
            "truncated or damaged; cases found before that point are kept"
        )
    if report.frames_decoded == 0:
        warnings.append("no frame could be decoded")
    if clock_source is None:
        warnings.append(
            "no wall-clock time is known for this video (no start_time in the scene, none given with the "
            "upload, no creation_time in the file): cases carry video seconds only"
        )

    if progress is not None:
        progress(Progress(0.9, report.frames_decoded, t_end, "evidence"))
    t_ev = time.perf_counter()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFolderError(f"{out_dir}: cannot make the output folder ({err.strerror})") from None
    events = sorted(stages.events, key=lambda e: (e.start_s, e.rule, e.zone))
    if span is not None:
        last = bool(duration) and span.end >= duration - 1e-3  # the last segment keeps its end
        events = [e for e in events if span.owns(e.decided, last=last)]
    if options.evidence:
        cases = write_cases(
            source=source, scene=scene, events=events, track_log=stages.track_log,
            signal_log=stages.signal_log, out_dir=out_dir, pre=options.pre, post=options.post,
            annotated=options.annotated_clips, clock_source=clock_source,
            flight=flight_record(options.drone_id, options.pilot),
        )
    else:
        cases = [_bare_case(i, ev, stages.track_log) for i, ev in enumerate(events)]
        (out_dir / "cases.json").write_text(json.dumps(cases, indent=2, ensure_ascii=False), encoding="utf-8")
    (out_dir / "analysis.json").write_text(
        json.dumps(
            {
                "source": source.name,
                "camera": scene.camera,
                "video": {"width": info.width, "height": info.height, "fps": info.fps, "codec": info.codec,
                          "duration_s": info.duration_s, "frames_decoded": report.frames_decoded},
                "model": detector.name,
                "analysis_fps": options.analysis_fps,
                "span": span.as_list() if span is not None else None,
                "preroll_s": preroll,
                "grid_origin_s": options.grid_origin_s,
                "detection": {"conf": options.conf, "person_conf": options.person_conf,
                              "region_tiles": [list(t) for t in stages.region_detector.tiles],
                              "full_every": stages.region_detector.full_every,
                              "slicing": stages.region_detector.slicing_dict(),
                              "focus": (stages.region_detector.focus.to_dict()
                                        if stages.region_detector.focus is not None else None)},
                "tracks": {"identity_splits": stages.identity.splits, "fragments_joined": stages.identity.joins},
                "camera_motion": stages.motion.stats.to_dict() if stages.motion is not None else None,
                "registration": registration,
                "motion_gate": stages.gate.stats.to_dict() if stages.gate is not None else None,
                "low_light_frames": stages.lowlight.enhanced_frames if stages.lowlight is not None else 0,
                "warnings": warnings,
                "tracks_seen": stages.zone_counts.tracks_seen(),
                "tracks_per_zone": stages.zone_counts.tracks_per_zone(),
                "cases": len(cases),
                "evidence": options.evidence,
            },
            indent=2, ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    if options.evidence:
        # How each case's clip.mp4 relates to the source (stream copy with its packet range, or a
        # transcode), in the signed manifest too, not only in the case files it lists.
        originals = {c["id"]: {"clip": c["evidence"]["clip"], **c["original"]} for c in cases if c.get("original")}
        write_manifest(out_dir, source=source, scene_path=scene_path, model_path=detector.model_path,
                       software_version=__version__, extra={"originals": originals})
        sign_manifest(out_dir, signing_key)
    timings.evidence = time.perf_counter() - t_ev
    timings.wall = time.perf_counter() - wall0
    timings.frames_decoded = report.frames_decoded
    timings.video_s = max(0.0, t_end - read_from) + (1.0 / info.fps if info.fps else 0.0)
    if progress is not None:
        progress(Progress(1.0, report.frames_decoded, t_end, "done"))
    return AnalysisResult(out_dir, cases, warnings, timings, info)


def _segment_read(scene: Scene, info: VideoInfo, options: AnalyzeOptions
                  ) -> tuple[Span | None, float | None, tuple[float, float | None]]:
    """The span a segment owns, its pre-roll, and the part of the source to decode for it
    (pre-roll before, evidence post-roll after); the whole source without a span."""
    if options.span is None:
        return None, None, (0.0, None)
    start, end = (float(v) for v in options.span)
    if not 0 <= start < end:
        raise SpanError(f"span {options.span}: need 0 <= start < end (seconds of the source)")
    duration = info.duration_s
    if duration is not None and start >= duration:
        raise SpanError(f"span {options.span}: starts after the video ends ({duration:.1f} s)")
    preroll = required_preroll(scene) if options.preroll_s is None else float(options.preroll_s)
    if preroll < 0:
        raise SpanError("preroll_s must not be negative")
    read_end = end + options.post
    return Span(start, end), preroll, (max(0.0, start - preroll), None if duration is None or read_end >= duration else read_end)
