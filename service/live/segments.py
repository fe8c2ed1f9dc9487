"""Recorded segments become analysis jobs: each segment is analysed inside a window.

Boundary handling (see ``detector.segments``): a segment's job analyses a *window* file made by
stream copy (``detector.media.concat``) from the segments before it (the pre-roll: at least
``required_preroll(scene)`` seconds, so every track, stay and signal phase a rule judges by is
rebuilt), the segment itself, and the segment after it (post-roll for the evidence clip), with
``span`` = the segment's own place in the window. The pipeline keeps only the cases *decided*
inside the span, so an offence across a boundary is found exactly once, by the segment that owns
the moment it became certain, and its clip may reach into the neighbouring segments.

Consequence: segment k's job can only be made once segment k+1 is finished, so live analysis
lags one segment (plus the analysis itself) behind the camera. A segment that ends a connection
(the stream dropped, the recorder stopped) has no successor and is queued at once with what
there is; windows never reach across a gap. Case wall-clock times come from the window's first
segment's start time (the upload's ``started_at``).

Both the in-service recorder and a separate ``civicwatch record`` process call these functions
with the database; the service's job runner picks the queued jobs up like any other.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from detector.hashing import sha256_file
from detector.media.concat import ConcatError, Part, concat_remux
from detector.media.recorder import EarlierSegment, Gap, Segment
from service import scenes
from service.config import Settings
from service.db import session_scope
from service.models import Camera, Job, LiveSegment, RecorderStatus, StreamGap, Upload, utcnow

log = logging.getLogger(__name__)

DEFAULT_PREROLL_S = 30.0  # when the camera's scene no longer validates


def segments_dir(settings: Settings, camera_id: str) -> Path:
    return settings.live_dir / camera_id / "segments"


def windows_dir(settings: Settings, camera_id: str) -> Path:
    return settings.live_dir / camera_id / "windows"


def relative_path(settings: Settings, path: Path) -> str:
    """A segment's ``LiveSegment.path``: relative to the data folder."""
    return path.resolve().relative_to(settings.data_dir.resolve()).as_posix()


def register_segment(factory: sessionmaker[Session], settings: Settings, camera_id: str, segment: Segment,
                     run_id: str, earlier: EarlierSegment | None = None) -> int:
    """Record a finished segment (idempotent by file); returns its row's id (``schedule`` then
    queues the jobs that became possible). ``run_id`` names the recorder process, so that ``connection``
    (one unbroken recording) is unique across restarts of the recorder.

    ``earlier``: the segment is one an earlier recorder of the camera left unregistered (it was
    killed first). Its connection numbers count that recorder's recordings, not this one's: it joins
    the row of the segment it follows, or begins a recording named by its own start."""
    rel = relative_path(settings, segment.path)
    with session_scope(factory) as db:
        row = db.scalar(select(LiveSegment).where(LiveSegment.camera_id == camera_id, LiveSegment.path == rel))
        _close_open_gaps(db, camera_id, before=segment.start)
        if row is None:
            connection = f"{run_id}-{segment.connection}"
            if earlier is not None:
                follows = None if earlier.follows is None else db.scalar(select(LiveSegment.connection).where(
                    LiveSegment.camera_id == camera_id, LiveSegment.path == relative_path(settings, earlier.follows)))
                connection = follows or f"{run_id}-r{segment.start.strftime('%Y%m%dT%H%M%S%f')}"
            row = LiveSegment(camera_id=camera_id, path=rel, start_at=segment.start, end_at=segment.end,
                              duration_s=segment.duration_s, connection=connection,
                              sequence=segment.sequence, bytes=segment.bytes, ended_by=segment.ended_by)
            db.add(row)
            db.flush()
        return row.id


def register_gap(factory: sessionmaker[Session], camera_id: str, gap: Gap) -> None:
    """An open gap (``end`` None) is stored as such; its end closes the same row later."""
    with session_scope(factory) as db:
        row = db.scalar(select(StreamGap).where(StreamGap.camera_id == camera_id, StreamGap.start_at == gap.start))
        if row is None:
            db.add(StreamGap(camera_id=camera_id, start_at=gap.start, end_at=gap.end, reason=gap.reason[:2000]))
        elif gap.end is not None:
            row.end_at = gap.end
        if gap.end is not None:
            _close_open_gaps(db, camera_id, before=gap.start)


def _close_open_gaps(db: Session, camera_id: str, before: datetime) -> None:
    """Close the camera's open gaps that began before ``before`` there.

    An open gap is left by a recorder stopped while its camera was down; the next recorder knows
    nothing of it and opens a gap of its own (or none, when it connects at once). Before, the old
    row stayed open for good: the health page's "down since" named it at every later outage and
    its time was never counted. The footage resumes at ``before`` (the next gap's start, or the
    next segment's), so that is where the old gap ends."""
    for row in db.scalars(select(StreamGap).where(StreamGap.camera_id == camera_id, StreamGap.end_at.is_(None),
                                                  StreamGap.start_at < before)):
        row.end_at = before


def heartbeat(factory: sessionmaker[Session], camera_id: str, connected: bool, last_packet_at: datetime | None,
              last_error: str | None, host: str | None) -> None:
    """``last_packet_at`` None (a recorder that has received nothing since it started) keeps the
    camera's last picture as stored: a recorder restarted while the camera is down would otherwise
    make the recording lag unknown and the offline notice count from the restart."""
    with session_scope(factory) as db:
        row = db.get(RecorderStatus, camera_id)
        if row is None:
            row = RecorderStatus(camera_id=camera_id)
            db.add(row)
        row.connected, row.last_error = connected, (last_error or None)
        if last_packet_at is not None:
            row.last_packet_at = last_packet_at
        row.host, row.updated_at = host, utcnow()


def _preroll_s(db: Session, cam: Camera) -> float:
    from detector.segments import required_preroll

    version = scenes.current(db, cam)
    scene = scenes.parse(version.document if version is not None else cam.scene_yaml, cam.id)
    return required_preroll(scene) if scene is not None else DEFAULT_PREROLL_S


def _ready(seg: LiveSegment, nxt: LiveSegment | None, now: datetime) -> bool:
    """A segment is analysed once its successor is finished; one that ended its connection has
    none, nor has one whose recorder died (no successor long after it ended)."""
    if nxt is not None or seg.ended_by != "length":
        return True
    return now - seg.end_at > timedelta(seconds=3 * seg.duration_s + 60)


def schedule(factory: sessionmaker[Session], settings: Settings, camera_id: str) -> list[int]:
    """Make the window and the queued job of every segment of ``camera_id`` that is ready; returns
    the new job ids (the caller may wake its runner; a poll finds them anyway)."""
    created: list[int] = []
    with session_scope(factory) as db:
        cam = db.get(Camera, camera_id)
        if cam is None or cam.retired_at is not None:
            return created
        waiting = db.scalars(select(LiveSegment).where(LiveSegment.camera_id == camera_id,
                                                       LiveSegment.job_id.is_(None),
                                                       LiveSegment.deleted_at.is_(None))
                             .order_by(LiveSegment.start_at)).all()
        if not waiting:
            return created
        preroll = _preroll_s(db, cam)
        version_id = scenes.current_id(db, cam)
        now = utcnow()
        for seg in waiting:
            run = {s.sequence: s for s in db.scalars(select(LiveSegment).where(
                LiveSegment.camera_id == camera_id, LiveSegment.connection == seg.connection,
                LiveSegment.deleted_at.is_(None)))}
            nxt = run.get(seg.sequence + 1)
            if not _ready(seg, nxt, now):
                continue
            before: list[LiveSegment] = []
            k = seg.sequence - 1
            while k in run and sum(s.duration_s for s in before) < preroll:
                before.insert(0, run[k])
                k -= 1
            window = before + [seg] + ([nxt] if nxt is not None else [])
            job_id = _queue_window(db, settings, cam, seg, window, version_id)
            if job_id is not None:
                created.append(job_id)
    return created


def _window_tags(cam: Camera, seg: LiveSegment, window: list[LiveSegment]) -> dict[str, str]:
    """Container tags naming what the window is for. They also make every segment's window a
    file of its own: two windows of the same pictures (a camera looping a clip, a frozen picture,
    or a segment and the one that ended the connection after it) would otherwise be one upload,
    and ``jobs.upload_id`` is unique."""
    at = window.index(seg)
    start = sum(s.duration_s for s in window[:at])
    return {"title": f"{cam.id} live window for {Path(seg.path).name}",
            "comment": (f"civicwatch live window: camera {cam.id}, connection {seg.connection}, segments "
                        f"{window[0].sequence}-{window[-1].sequence}, own span {start:.3f}-{start + seg.duration_s:.3f} s, "
                        f"first picture at {window[0].start_at.isoformat()}")}


def _queue_window(db: Session, settings: Settings, cam: Camera, seg: LiveSegment, window: list[LiveSegment],
                  version_id: int | None) -> int | None:
    data_dir = settings.data_dir
    parts = [Part(data_dir / s.path, s.duration_s) for s in window]
    out = windows_dir(settings, cam.id) / Path(seg.path).name
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        joined = concat_remux(parts, out, _window_tags(cam, seg, window))
    except (ConcatError, OSError) as err:
        # e.g. the camera changed resolution between the segments: analyse the segment alone
        log.warning("camera %s: window of %s not joined (%s); the segment is analysed alone", cam.id, seg.path, err)
        window = [seg]
        joined = concat_remux([Part(data_dir / seg.path, seg.duration_s)], out, _window_tags(cam, seg, window))
    at = window.index(seg)
    span = joined.span_of(at, [Part(data_dir / s.path, s.duration_s) for s in window])
    digest = sha256_file(out)
    upload = db.scalar(select(Upload).where(Upload.sha256 == digest))
    if upload is None:
        upload = Upload(path=out.relative_to(data_dir).as_posix(), filename=out.name, sha256=digest,
                        size=out.stat().st_size, duration_s=joined.duration_s, camera_id=cam.id,
                        started_at=window[0].start_at)
        db.add(upload)
        db.flush()
    job = db.scalar(select(Job).where(Job.upload_id == upload.id))
    if job is None:
        job = Job(upload_id=upload.id, state="queued", scene_version_id=version_id)
        db.add(job)
        db.flush()
    seg.job_id, seg.window_path = job.id, upload.path
    seg.span_from_s, seg.span_to_s = span  # exact: the grid origin is computed from them
    log.info("camera %s: segment %s queued as job %s (span %.3f..%.3f of %d segments)", cam.id,
             Path(seg.path).name, job.id, span[0], span[1], len(window))
    return job.id


def job_options(db: Session, job_id: int, data_dir: Path | None = None) -> dict:
    """What a live segment's job adds to its ``AnalyzeOptions``: the segment's ``span`` in its
    window, and ``grid_origin_s``, where the window starts in its unbroken recording, so the
    window is sampled on the recording's analysis grid (neighbouring windows then agree on the
    moment a case was decided, which decides the segment that owns it). {}: not a live job."""
    seg = db.scalar(select(LiveSegment).where(LiveSegment.job_id == job_id).limit(1))
    if seg is None or seg.span_from_s is None or seg.span_to_s is None:
        return {}
    options = {"span": (float(seg.span_from_s), float(seg.span_to_s)),
               "grid_origin_s": max(0.0, recording_offset(db, seg) - float(seg.span_from_s))}
    anchor = connection_anchor(db, seg, data_dir) if data_dir is not None else None
    if anchor is not None:
        options["anchor_image"] = anchor
    return options


def connection_anchor(db: Session, seg: LiveSegment, data_dir: Path) -> Path | None:
    """The first picture of ``seg``'s unbroken recording, kept as a still beside the footage: every
    window of that recording measures camera sway against it (``AnalyzeOptions.anchor_image``), as
    a read of the whole recording would, so neighbouring windows agree on small shifts and on the
    moment a case was decided. None when the recording's first segment is gone and no still was
    made (the window's own first frame is used then)."""
    still = data_dir / "live" / _safe(seg.camera_id) / f"anchor-{_safe(seg.connection)}.png"
    if still.is_file():
        return still
    first = db.scalar(select(LiveSegment.path).where(
        LiveSegment.camera_id == seg.camera_id, LiveSegment.connection == seg.connection,
        LiveSegment.deleted_at.is_(None)).order_by(LiveSegment.sequence).limit(1))
    if first is None or not (data_dir / first).is_file():
        return None
    from detector.decode import DecodeReport, iter_frames  # the video stack only where it is needed

    image = next((f.image for f in iter_frames(data_dir / first, None, DecodeReport(), end_s=0.0)
                  if f.image is not None), None)
    if image is None:
        return None
    import cv2

    still.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own per writer: after a restart a worker pool takes several windows of one
    # connection at once, and each makes the still (the same picture; the last rename wins whole)
    tmp = still.with_name(f".{still.stem}.{uuid.uuid4().hex[:12]}.part.png")
    try:
        if not cv2.imwrite(str(tmp), image):
            raise OSError(f"could not write {tmp}")
        tmp.replace(still)
    finally:
        tmp.unlink(missing_ok=True)
    return still


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:120]


def recording_offset(db: Session, seg: LiveSegment) -> float:
    """Stream seconds from the start of ``seg``'s connection to ``seg``: the exact durations of
    the segments before it, or, should one be missing (a segment the recorder could not finish),
    the wall-clock distance from the connection's first known segment."""
    rows = db.execute(select(LiveSegment.sequence, LiveSegment.duration_s, LiveSegment.start_at).where(
        LiveSegment.camera_id == seg.camera_id, LiveSegment.connection == seg.connection,
        LiveSegment.sequence < seg.sequence).order_by(LiveSegment.sequence)).all()
    if [r[0] for r in rows] == list(range(1, seg.sequence)):
        return float(sum(r[1] for r in rows))
    first = rows[0][2] if rows else seg.start_at
    return max(0.0, (seg.start_at - first).total_seconds())
