"""The per-case track file (``tracks.json``): what the analysis saw during one case's clip.

Annotation is drawn from it instead of being burnt into a second video during the analysis: the
review page draws boxes, track ids, zones, the offender's path and the signal state over the
original clip in the browser, and ``render_annotated`` makes ``annotated.mp4`` from the clip and
this file alone, on demand (export, publication, or a reviewer's button), on any machine that
holds the case folder. So it carries everything drawing needs: the scene's geometry, the event,
the analysis instants of the clip span, and the clip's position in the source video.

Times are source video seconds; a player at clip time ``c`` shows video time
``clip_start_s + c``. Boxes and polygons are in scene pixels (``frame_size``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from detector.evidence.tracklog import SignalLog, TrackLog
from detector.scene import Scene
from detector.types import ViolationEvent

TRACKS_FILE = "tracks.json"
TRACKS_VERSION = 1


class CaseTrackError(ValueError):
    """A track file that cannot be read or was written by an unknown version."""


@dataclass
class CaseTracks:
    scene: Scene
    event: ViolationEvent
    track_log: TrackLog
    signal_log: SignalLog
    clip_start_s: float
    clip_offset_s: float


def _slice_tracks(log: TrackLog, t0: float, t1: float) -> TrackLog:
    keep = [i for i, t in enumerate(log.times) if t0 <= t <= t1]
    # One instant before the span, so the first clip frames are drawn if it is still fresh.
    if keep and keep[0] > 0:
        keep.insert(0, keep[0] - 1)
    times = [log.times[i] for i in keep]
    views = {t: log.views[t] for t in times if t in log.views}
    return TrackLog(times, [log.frames[i] for i in keep], views)


def _slice_signals(log: SignalLog, t0: float, t1: float) -> SignalLog:
    keep = [i for i, t in enumerate(log.times) if t0 <= t <= t1]
    before = [i for i, t in enumerate(log.times) if t < t0]
    if before:
        keep.insert(0, before[-1])  # the state holding when the clip starts
    return SignalLog([log.times[i] for i in keep], [log.states[i] for i in keep])


def _overlay(scene: Scene, event: ViolationEvent, tracks: TrackLog, signals: SignalLog) -> dict:
    """The flat form the browser overlay reads (no knowledge of Scene models needed there)."""
    return {
        "frame_size": list(scene.frame_size),
        "max_age_s": round(tracks.max_age(), 3),
        "offender_track_ids": [int(t) for t in event.track_ids],
        "key_box": [round(float(v), 1) for v in event.key_box] if event.key_box is not None else None,
        "key_t": round(event.key_t, 3),
        "zones": [
            {"name": z.name, "kind": z.kind,
             "polygon": [[round(float(x), 1), round(float(y), 1)] for x, y in z.polygon],
             "offence_zone": z.name == event.zone}
            for z in scene.zones
        ],
        "path": [[round(t, 3), round(x, 1), round(y, 1)] for t, x, y in event.path],
        "instants": [
            {"t": round(t, 3),
             "boxes": [[o.track_id, o.class_name, *(round(float(v), 1) for v in o.box), round(float(o.confidence), 3)]
                       for o in frame]}
            for t, frame in zip(tracks.times, tracks.frames)
        ],
        "signals": [{"t": round(t, 3), "states": {k: v.value for k, v in s.items()}}
                    for t, s in zip(signals.times, signals.states)],
        # Drone footage: per instant, the homography (row-major 3x3) from the reference's scene px
        # (where the zones are drawn) to that picture's, so zones sit on the road as it moves.
        "views": [[round(t, 3), *(float(f"{v:.6g}") for v in h)] for t, h in sorted(tracks.views.items())],
    }


def case_tracks_dict(
    *, scene: Scene, event: ViolationEvent, track_log: TrackLog, signal_log: SignalLog,
    clip_start_s: float, clip_end_s: float, clip_offset_s: float,
) -> dict:
    tracks = _slice_tracks(track_log, clip_start_s - 1e-6, clip_end_s + 1e-6)
    signals = _slice_signals(signal_log, clip_start_s, clip_end_s)
    return {
        "version": TRACKS_VERSION,
        "clip_start_s": round(clip_start_s, 6),
        "clip_offset_s": round(clip_offset_s, 6),
        **_overlay(scene, event, tracks, signals),
        # Full forms, for re-drawing in Python exactly as the analysis would have.
        "scene": scene.model_dump(mode="json"),
        "event": asdict(event),
        "track_log": tracks.to_dict(),
        "signal_log": signals.to_dict(),
    }


def _event(data: dict) -> ViolationEvent:
    fields = {k: data[k] for k in ViolationEvent.__dataclass_fields__ if k in data}
    if fields.get("key_box") is not None:
        fields["key_box"] = tuple(fields["key_box"])
    fields["path"] = [tuple(p) for p in fields.get("path") or []]
    return ViolationEvent(**fields)


def load_case_tracks(path: Path) -> CaseTracks:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CaseTrackError(f"{Path(path).name}: cannot read the track file ({err})") from None
    if not isinstance(data, dict):
        raise CaseTrackError(f"{Path(path).name}: malformed track file (expected an object, got {type(data).__name__})")
    if data.get("version") != TRACKS_VERSION:
        raise CaseTrackError(f"{Path(path).name}: track file version {data.get('version')!r} is not "
                             f"{TRACKS_VERSION}; re-run the analysis with this version")
    try:
        return CaseTracks(
            # the scene the case was judged by, a record: checks added to scene files since still let it load
            scene=Scene.model_validate(data["scene"], context={"recorded": True}),
            event=_event(data["event"]),
            track_log=TrackLog.from_dict(data["track_log"]),
            signal_log=SignalLog.from_dict(data["signal_log"]),
            clip_start_s=float(data["clip_start_s"]),
            clip_offset_s=float(data.get("clip_offset_s", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise CaseTrackError(f"{Path(path).name}: malformed track file ({err})") from None
