"""Turn violation events into case folders a reviewer can trust.

Each case gets the original clip (the source's own packets by stream copy when a browser can play
them, else a transcode), a per-case track file from which the review page draws its overlay and
``render_annotated`` makes the annotated clip on demand, a snapshot and a crop, and a ``case.json`` that records the SHA-256 of each file as it was written. A case
folder is built under a hidden staging name and renamed into place only when complete, so a crash
never leaves half a case behind; an existing case folder is never rewritten: the same content
again is accepted (re-running an analysis is harmless), different content raises
``EvidenceConflictError``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

import av
import cv2
import numpy as np

from detector.evidence.annotate import Annotator, wall_clock
from detector.evidence.case_record import check_record
from detector.evidence.casetrack import TRACKS_FILE, case_tracks_dict
from detector.evidence.clips import Still, VideoInfo, cut_clip, probe, stills_at
from detector.evidence.plates import best_plate
from detector.evidence.render import ANNOTATED_FILE, render_annotated
from detector.evidence.sheet import render_sheet, sheet_moments, to_image_px
from detector.evidence.sheet_record import sheet_layout_record
from detector.evidence.tracklog import SignalLog, TrackLog
from detector.hashing import sha256_bytes, sha256_file
from detector.media.metadata import read_metadata
from detector.media.streamcopy import StreamCopyError, copy_clip, copy_refusal
from detector.scene import Scene
from detector.types import Box, ViolationEvent

CASES_DIR = "cases"
CASES_INDEX = "cases.json"
EVIDENCE_FILES = {"clip": "clip.mp4", "snapshot": "snapshot.jpg", "crop": "crop.jpg", "sheet": "sheet.jpg",
                  "tracks": TRACKS_FILE}
CASE_FILE = "case.json"


class EvidenceConflictError(RuntimeError):
    """An evidence file already exists with different content; it is never overwritten."""


def _sanitise(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "x"


def case_id(scene: Scene, event: ViolationEvent) -> str:
    """Readable and stable across re-runs: ``<camera>-<rule>-<start ms, 8 digits>-<track ids>``."""
    start_ms = max(0, round(event.start_s * 1000))
    tracks = "_".join(str(t) for t in event.track_ids) or "none"
    return _sanitise(f"{scene.camera}-{event.rule}-{start_ms:08d}-{tracks}")


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="milliseconds") if dt is not None else None


def _json_default(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (datetime, Path)):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8")


def _box_list(box: Box, nd: int = 1) -> list[float]:
    return [round(float(v), nd) for v in box]


def _offender_box(event: ViolationEvent, track_log: TrackLog) -> Box | None:
    if event.key_box is not None:
        return event.key_box
    obs = [o for o in track_log.at(event.key_t) if o.track_id in set(event.track_ids)]
    return obs[0].box if obs else None


def _crop(image: np.ndarray, box: Box | None, scene: Scene, margin: float) -> tuple[np.ndarray, list[int] | None]:
    """The offender's box (scene px) scaled to the frame, widened by ``margin`` of its size."""
    if box is None:
        return image, None
    h, w = image.shape[:2]
    sx, sy = w / scene.frame_size[0], h / scene.frame_size[1]
    x1, y1, x2, y2 = box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy
    mx, my = max(8.0, (x2 - x1) * margin), max(8.0, (y2 - y1) * margin)
    cx1, cy1 = int(max(0, np.floor(x1 - mx))), int(max(0, np.floor(y1 - my)))
    cx2, cy2 = int(min(w, np.ceil(x2 + mx))), int(min(h, np.ceil(y2 + my)))
    if cx2 - cx1 < 2 or cy2 - cy1 < 2:
        return image, None
    return image[cy1:cy2, cx1:cx2], [cx1, cy1, cx2, cy2]


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def _write_new(path: Path, data: bytes) -> str:
    """Write bytes to a file that must not exist yet; return their SHA-256."""
    with open(path, "xb") as fh:
        fh.write(data)
    return sha256_bytes(data)


def _settle(staging: Path, final: Path) -> None:
    """Move a finished staging folder into place; an existing case folder is never replaced.

    Re-encoding is not guaranteed to be byte-identical, so "the same case again" cannot be told
    from "a different case" by comparing files: any existing folder is a conflict.
    """
    if final.exists():
        raise EvidenceConflictError(f"{final} already exists; evidence is never overwritten")
    staging.rename(final)


CLOCK_SOURCES = {
    "scene": ("the scene file's start_time", "场景文件的起始时间"),
    "upload": ("the recording start given with the upload", "上传时填写的录制开始时间"),
    "container": ("the video file's creation_time", "视频文件的创建时间"),
}


def _clock(scene: Scene, source: str | None) -> dict:
    """Where the case's wall-clock times come from, so a reviewer can weigh them (or their absence)."""
    if scene.start_time is None or source is None:
        return {"source": None, "warning": "no wall-clock time known: times are seconds into the video",
                "warning_zh": "未知实际时间：时间为视频内的秒数"}
    en, zh = CLOCK_SOURCES.get(source, (source, source))
    return {"source": source, "video_start": _iso(scene.start_time), "from": en, "from_zh": zh}


def flight_record(drone_id: str | None, pilot: str | None) -> dict | None:
    """Who flew the footage, as the operator gave it with the upload (None when neither is known)."""
    if not drone_id and not pilot:
        return None
    return {"drone_id": drone_id or None, "pilot": pilot or None}


SHEET_MIN_SPAN_S = 0.6  # shorter spans cannot show three stills 0.2 s apart


PLATE_RULES = {"illegal_parking", "stopping", "wrong_way"}
PLATE_CLASSES = {"car", "truck", "bus", "motorcycle"}
PLATE_FRAMES = 3  # reads per case: each costs ~0.15-0.45 s on two cores
PLATE_MIN_WIDTH_PX = 80  # narrower vehicles (video pixels) carry no legible plate


def _scene_to_video(box: Box, scene: Scene, info: VideoInfo) -> tuple[float, float, float, float]:
    sx, sy = info.width / scene.frame_size[0], info.height / scene.frame_size[1]
    return (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)


def _plate_times(event: ViolationEvent, scene: Scene, info: VideoInfo, track_log: TrackLog,
                 t0: float, t1: float) -> dict[float, Box]:
    """Video times (and the offender's box then, video px) worth reading a plate at: the largest
    views of a vehicle offender, at most ``PLATE_FRAMES``; none for people, litter, small cars."""
    if event.rule not in PLATE_RULES or event.object_class not in PLATE_CLASSES:
        return {}
    views = [(o.t, _scene_to_video(o.box, scene, info)) for o in track_log.track(event.track_ids, t0, t1)]
    views = [(t, b) for t, b in views if b[2] - b[0] >= PLATE_MIN_WIDTH_PX]
    views.sort(key=lambda v: (v[1][2] - v[1][0]) * (v[1][3] - v[1][1]), reverse=True)
    return dict(views[:PLATE_FRAMES])


def _frame_index(clip: Path, clip_t: float, fps: float) -> int:
    """Which frame of ``clip`` shows ``clip_t`` (seconds after its first frame), by the clip's own
    timestamps: frames are not ``1 / fps`` apart in a variable-rate recording (a DVR dropping to 10
    fps at night, a phone). Read from the packets, nothing decoded; the nominal rate only when the
    clip's timestamps cannot be read."""
    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            pts = sorted(p.pts for p in container.demux(stream) if p.size and p.pts is not None)
            tb = stream.time_base
    except (av.FFmpegError, OSError, IndexError):
        pts = []
    if not pts or not tb:
        return max(0, round(clip_t * fps))
    times = [float((p - pts[0]) * tb) for p in pts]
    return min(range(len(times)), key=lambda i: abs(times[i] - clip_t))


def _cut_original(source: Path, info: VideoInfo, out: Path, start_s: float, end_s: float) -> dict:
    """``clip.mp4``: the source's own packets when a browser plays them, else a transcode.

    Returns the clip's place in the source (``start_s``/``end_s`` of its first and last frame,
    ``offset_s`` where the case span starts inside it) and how it was made, for the case file.
    """
    refusal = copy_refusal(info)
    if refusal is None:
        try:
            copied = copy_clip(source, out, start_s, end_s, info)
            return {"method": "stream_copy", "start_s": copied.start_s, "end_s": copied.end_s,
                    "offset_s": copied.offset_s, "frames": copied.packets.count,
                    "packets": copied.packets.to_dict()}
        except StreamCopyError as err:
            refusal = str(err)
            out.unlink(missing_ok=True)
    clip = cut_clip(source, out, start_s, end_s, info=info)
    return {"method": "transcode", "reason": refusal, "start_s": clip.start_s, "end_s": clip.end_s,
            "offset_s": max(0.0, start_s - clip.start_s), "frames": clip.frames, "packets": None}


@dataclass
class _CasePlan:
    """What one case needs from the video, known before anything is decoded."""

    event: ViolationEvent
    cid: str
    span_start: float
    span_end: float
    moments: list  # SheetMoment, the sheet's stills
    plate_at: dict[float, Box]  # video time -> the offender's box (video px) to read the plate at

    @property
    def wanted(self) -> list[float]:
        return [self.event.key_t, *self.plate_at, *(m.t for m in self.moments)]


def _plan(event: ViolationEvent, cid: str, *, scene: Scene, info: VideoInfo, track_log: TrackLog,
          pre: float, post: float) -> _CasePlan:
    span_start = max(0.0, min(event.start_s - pre, event.key_t))
    span_end = max(event.end_s + post, event.key_t)
    if info.duration_s is not None:
        span_end = min(span_end, info.duration_s)
    moments = sheet_moments(event, scene, span_start, span_end) if span_end - span_start >= SHEET_MIN_SPAN_S else []
    plate_at = _plate_times(event, scene, info, track_log, span_start, span_end)
    return _CasePlan(event, cid, span_start, span_end, moments, plate_at)


def _shared_stills(source: Path, info: VideoInfo, plans: list[_CasePlan]) -> dict[float, Still]:
    """Every still all cases need, with one decode pass per group of overlapping spans (cases of
    one analysis often overlap: five wrong-way cars in the same eight seconds)."""
    stills: dict[float, Still] = {}
    group: list[_CasePlan] = []
    for plan in sorted(plans, key=lambda p: p.span_start) + [None]:
        if group and (plan is None or plan.span_start > max(p.span_end for p in group)):
            wanted = [t for p in group for t in p.wanted]
            stills.update({s.wanted_t: s for s in stills_at(source, info, wanted)})
            group = []
        if plan is not None:
            group.append(plan)
    return stills


def _write_case(
    *, source: Path, source_sha256: str, info: VideoInfo, scene: Scene, plan: _CasePlan, stills: dict[float, Still],
    track_log: TrackLog, signal_log: SignalLog, out_dir: Path, jpeg_quality: int,
    crop_margin: float, annotated: bool, clock_source: str | None, flight: dict | None, source_metadata: dict,
) -> dict:
    event, cid = plan.event, plan.cid
    span_start, span_end = plan.span_start, plan.span_end
    cases_root = out_dir / CASES_DIR
    staging = cases_root / f".staging-{cid}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        rel = f"{CASES_DIR}/{cid}"
        original = _cut_original(source, info, staging / EVIDENCE_FILES["clip"], span_start, span_end)
        clip_start, clip_end = original["start_s"], original["end_s"]
        hashes = {"clip": sha256_file(staging / EVIDENCE_FILES["clip"])}

        tracks = case_tracks_dict(scene=scene, event=event, track_log=track_log, signal_log=signal_log,
                                  clip_start_s=clip_start, clip_end_s=clip_end, clip_offset_s=original["offset_s"])
        hashes["tracks"] = _write_new(staging / EVIDENCE_FILES["tracks"], _json_bytes(tracks))

        plate_at, moments = plan.plate_at, plan.moments
        key = stills[float(event.key_t)]
        plate = None
        if plate_at:
            read = best_plate((stills[t].t, stills[t].image_bgr, box) for t, box in plate_at.items())
            plate = read.as_dict() if read is not None else None
        annotator = Annotator(scene, track_log=track_log, signal_log=signal_log, event=event)
        hashes["snapshot"] = _write_new(
            staging / EVIDENCE_FILES["snapshot"], _jpeg(annotator(key.image_bgr.copy(), key.t), jpeg_quality))
        offender_key_box = _offender_box(event, track_log)
        crop_img, crop_box = _crop(key.image_bgr, offender_key_box, scene, crop_margin)
        hashes["crop"] = _write_new(staging / EVIDENCE_FILES["crop"], _jpeg(crop_img, jpeg_quality))
        evidence = {k: f"{rel}/{name}" for k, name in EVIDENCE_FILES.items()}
        sheet_layout = None
        if moments:
            clock = _clock(scene, clock_source)
            sheet_frames = [(stills[float(m.t)].t, stills[float(m.t)].image_bgr) for m in moments]
            sheet = render_sheet(
                event, scene, moments, sheet_frames,
                crop_img, track_log=track_log, signal_log=signal_log, case_id=cid,
                clock_from=(clock["from_zh"], clock["from"]) if clock.get("source") else None,
            )
            hashes["sheet"] = _write_new(staging / EVIDENCE_FILES["sheet"], _jpeg(sheet.image, jpeg_quality))
            # Where each picture and the offender are on the sheet: redaction for screens needs it.
            sheet_layout = sheet_layout_record(
                sheet, event, scene, moments, sheet_frames, track_log=track_log, closeup_shape=crop_img.shape,
                closeup_origin=(crop_box[0], crop_box[1]) if crop_box else None,
                closeup_offender=to_image_px(offender_key_box, scene, key.image_bgr.shape) if crop_box else None,
            ).as_dict()
        else:
            del evidence["sheet"]  # a span too short for three distinct stills (pre = post = 0)
        if annotated:
            made = render_annotated(staging, clip_path=staging / EVIDENCE_FILES["clip"],
                                    tracks_path=staging / EVIDENCE_FILES["tracks"])
            hashes["annotated"] = made.sha256
            evidence["annotated"] = f"{rel}/{ANNOTATED_FILE}"

        offender_track = [
            {"t": round(o.t, 3), "track_id": o.track_id, "box": _box_list(o.box)}
            for o in track_log.track(event.track_ids, clip_start, clip_end)
        ]
        fps = info.fps or 0.0
        case = {
            "id": cid,
            "rule": event.rule,
            "camera": scene.camera,
            "place": scene.place,
            "zone": event.zone,
            "start_s": round(event.start_s, 3),
            "end_s": round(event.end_s, 3),
            "decided_s": round(event.decided, 3),
            "start_time": _iso(wall_clock(scene, event.start_s)),
            "end_time": _iso(wall_clock(scene, event.end_s)),
            "timezone": scene.timezone,
            "clock": _clock(scene, clock_source),
            # The operator's drone id and pilot, and what the file itself says (creation time,
            # location, device): evidence only, never published (service.api.public, redaction).
            "flight": flight,
            "source_metadata": source_metadata,
            "object_class": event.object_class,
            "track_ids": [int(t) for t in event.track_ids],
            "confidence": round(float(event.confidence), 4),
            # Best plate read over the offender's largest views (vehicle cases), else None; the
            # reviewer's correction is kept apart by the service, never written here.
            "plate": plate,
            "signal": event.signal,
            "explanation": event.explanation,
            "explanation_zh": event.explanation_zh or None,
            "details": event.details,
            "key_frame": {
                "t": round(key.t, 3),
                "time": _iso(wall_clock(scene, key.t)),
                "clip_index": _frame_index(staging / EVIDENCE_FILES["clip"], key.t - clip_start, fps),
                "clip_t": round(key.t - clip_start, 3),
            },
            "key_box": _box_list(event.key_box) if event.key_box is not None else None,
            "crop_box_video_px": crop_box,
            # sheet.jpg's layout (pictures, caption bands, the offender per picture; sheet px), or None
            "sheet": sheet_layout,
            "path": [[round(t, 3), round(x, 1), round(y, 1)] for t, x, y in event.path],
            "offender_track": offender_track,
            "frame_size": list(scene.frame_size),
            "video_size": [info.width, info.height],
            "source": source.name,
            "clip_start_s": round(clip_start, 3),
            "clip_end_s": round(clip_end, 3),
            "clip_offset_s": round(original["offset_s"], 3),
            "clip_frames": original["frames"],
            "fps": round(fps, 3),
            # How clip.mp4 was made: "stream_copy" (the source's own packets, provable with
            # ``civicwatch verify --source``) or "transcode" (with the reason).
            "original": {
                "method": original["method"],
                "reason": original.get("reason"),
                "source_sha256": source_sha256,
                "source_codec": info.codec,
                "packets": original["packets"],
            },
            "evidence": {**evidence, "case": f"{rel}/{CASE_FILE}"},
            "sha256": hashes,
        }
        check_record(case)  # the shape the service and its API promise (detector.evidence.case_record)
        case_hash = _write_new(staging / CASE_FILE, _json_bytes(case))
        _settle(staging, cases_root / cid)
        return {**case, "sha256": {**hashes, "case": case_hash}}
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def write_cases(
    *,
    source: Path,
    scene: Scene,
    events: list[ViolationEvent],
    track_log: TrackLog,
    signal_log: SignalLog,
    out_dir: Path,
    pre: float = 5.0,
    post: float = 5.0,
    jpeg_quality: int = 90,
    crop_margin: float = 0.25,
    annotated: bool = False,
    clock_source: str | None = "scene",
    flight: dict | None = None,
) -> list[dict]:
    """Write ``out_dir/cases/<id>/`` for every event and ``out_dir/cases.json``; return the cases.

    Each returned dict is exactly the ``cases.json`` entry (the case folder's ``case.json`` is the
    same without ``sha256.case``, which it cannot contain). Events are written in time order.
    ``annotated`` also renders ``annotated.mp4`` now; by default it is made on demand
    (``render_annotated``) and the review page draws the overlay from ``tracks.json``.
    ``flight`` (``flight_record``) and the source file's own metadata (``source_metadata``:
    creation time, GPS location, device) go into every case record.
    """
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = probe(source)
    ordered = sorted(events, key=lambda e: (e.start_s, e.rule, e.zone, tuple(e.track_ids)))
    ids: list[str] = []
    for ev in ordered:
        base = cid = case_id(scene, ev)
        n = 2
        while cid in ids:
            cid, n = f"{base}-{n}", n + 1
        ids.append(cid)
    index = out_dir / CASES_INDEX
    taken = [cid for cid in ids if (out_dir / "cases" / cid).exists()]
    if index.exists() or taken:
        raise EvidenceConflictError(
            f"{out_dir} already holds cases ({', '.join(taken) or CASES_INDEX}); evidence is never overwritten"
        )
    source_sha256 = sha256_file(source) if ordered else ""
    source_metadata = read_metadata(source).as_record()
    plans = [_plan(ev, cid, scene=scene, info=info, track_log=track_log, pre=pre, post=post)
             for ev, cid in zip(ordered, ids)]
    stills = _shared_stills(source, info, plans)
    cases = [
        _write_case(source=source, source_sha256=source_sha256, info=info, scene=scene, plan=plan, stills=stills,
                    track_log=track_log, signal_log=signal_log, out_dir=out_dir, jpeg_quality=jpeg_quality,
                    crop_margin=crop_margin, annotated=annotated,
                    clock_source=clock_source if scene.start_time is not None else None,
                    flight=flight, source_metadata=source_metadata)
        for plan in plans
    ]
    _write_new(index, _json_bytes(cases))
    return cases
