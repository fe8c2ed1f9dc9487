"""A camera's recorder tied to the database: segments and gaps registered as they happen, a
heartbeat for the health page; and the service's own recorders for a few cameras.

``CameraRecorder`` is what ``civicwatch record --camera ID`` runs in its own process and what the
service runs in a thread per camera when ``live_in_service`` > 0 (the first that many cameras with
a stream URL, by id). For more cameras run one ``civicwatch record`` process per camera, on any
machine that reaches the database and the data folder.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from detector.media.recorder import EarlierSegment, Gap, Recorder, RecorderBusy, RecorderConfig, Segment
from service.config import Settings
from service.live import retention
from service.live import segments as live
from service.models import Camera, LiveSegment, StreamGap

log = logging.getLogger(__name__)


class CameraRecorder:
    def __init__(self, factory: sessionmaker[Session], settings: Settings, camera_id: str, url: str,
                 out_dir: Path | None = None, segment_s: float | None = None,
                 on_jobs: Callable[[list[int]], None] | None = None, **config):
        self.factory, self.settings, self.camera_id, self.url = factory, settings, camera_id, url
        self.on_jobs = on_jobs
        self.run_id = uuid.uuid4().hex[:12]
        self.host = socket.gethostname()
        out_dir = out_dir or live.segments_dir(settings, camera_id)
        self.recorder = Recorder(RecorderConfig(url, out_dir, segment_s or settings.live_segment_s, **config),
                                 on_segment=self._segment, on_gap=self._gap)
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        # Segments and gaps the database has not taken yet, in the order they came; see ``_register``.
        self._unregistered: deque[Segment | Gap | EarlierSegment] = deque()
        self._register_lock = threading.Lock()
        # What earlier recorders left in the folder, until compared with the database (``_reconcile``).
        self._earlier: list[EarlierSegment] | None = None
        self._earlier_gaps: list[Gap] = []  # and the gaps its index lists, compared with them

    def _segment(self, segment: Segment) -> None:
        self._unregistered.append(segment)
        self._register()

    def _gap(self, gap: Gap) -> None:
        self._unregistered.append(gap)
        self._register()

    def _register(self) -> None:
        """Register what is waiting, in order, and queue the jobs that became possible.

        A segment is analysed only once it is a row: before, one the database refused (a restart
        of PostgreSQL, a network blip between the recorder's machine and it) was logged and then
        forgotten, its footage on disk and never analysed, and a gap never counted. What fails now
        waits, and is tried again at the next segment, gap or heartbeat, and at the stop. What a
        killed recorder's queue held (or it never got to) is queued first (``_reconcile``)."""
        with self._register_lock:
            if self._earlier is not None and not self._reconcile():
                return
            registered = 0
            while self._unregistered:
                item = self._unregistered[0]
                try:
                    if isinstance(item, EarlierSegment):
                        live.register_segment(self.factory, self.settings, self.camera_id, item.segment, self.run_id,
                                              earlier=item)
                        registered += 1
                    elif isinstance(item, Segment):
                        live.register_segment(self.factory, self.settings, self.camera_id, item, self.run_id)
                        registered += 1
                    else:
                        live.register_gap(self.factory, self.camera_id, item)
                except Exception:  # noqa: BLE001 - the recording must go on: tried again later
                    log.exception("camera %s: %d segment(s)/gap(s) not registered yet, tried again at the next "
                                  "heartbeat", self.camera_id, len(self._unregistered))
                    return
                self._unregistered.popleft()
            if not registered:
                return
        jobs = live.schedule(self.factory, self.settings, self.camera_id)
        if jobs and self.on_jobs is not None:
            self.on_jobs(jobs)

    def _reconcile(self) -> bool:
        """Queue, ahead of everything, the segments an earlier recorder left in the folder that the
        database does not know (False: it did not answer; tried again at the next try).

        A recorder killed (SIGKILL, OOM, a power cut) after a segment was renamed into place but
        before the database took it, or while segments waited in its retry queue, took them along:
        their footage stayed on disk and in ``index.jsonl``, never analysed. Each is registered
        once (a row per file), with the times its recorder gave it; a ``*.part`` never is.

        So is each gap its index lists that the database has no row for (by start), or has open
        while the index has it closed (the close waited in the queue): before, only segments were,
        and the camera's footage showed as unbroken over a gap a killed recorder had seen. All go
        in time order (a gap before a segment at the same time), as the recorder told them: a
        segment's registration closes the open gaps before it."""
        try:
            with self.factory() as db:
                known = set(db.scalars(select(LiveSegment.path).where(LiveSegment.camera_id == self.camera_id)))
                known_gaps = dict(db.execute(select(StreamGap.start_at, StreamGap.end_at)
                                             .where(StreamGap.camera_id == self.camera_id)).all())
            missing: list[EarlierSegment | Gap] = [
                e for e in self._earlier if live.relative_path(self.settings, e.segment.path) not in known]
            gaps = [g for g in self._earlier_gaps
                    if g.start not in known_gaps or (known_gaps[g.start] is None and g.end is not None)]
        except Exception:  # noqa: BLE001 - tried again at the next segment, gap or heartbeat
            log.exception("camera %s: its earlier segments not compared with the database yet", self.camera_id)
            return False
        if missing or gaps:
            log.warning("camera %s: %d segment(s) and %d gap(s) an earlier recorder left unregistered are "
                        "registered now", self.camera_id, len(missing), len(gaps))
        missing += gaps
        missing.sort(key=lambda item: (item.start, 0) if isinstance(item, Gap) else (item.segment.start, 1))
        self._unregistered.extendleft(reversed(missing))
        self._earlier, self._earlier_gaps = None, []
        return True

    def _beat(self) -> None:
        while True:
            status = self.recorder.status
            try:
                live.heartbeat(self.factory, self.camera_id, status.connected and not self.stop_event.is_set(),
                               status.last_packet_at, status.last_error, self.host)
            except Exception:  # noqa: BLE001 - a database blip must not stop the recording
                log.exception("camera %s: heartbeat failed", self.camera_id)
            if self._unregistered or self._earlier is not None:
                try:
                    self._register()
                except Exception:  # noqa: BLE001 - scheduling failed: the next segment schedules again
                    log.exception("camera %s: scheduling failed", self.camera_id)
            if self.stop_event.wait(self.settings.live_heartbeat_s):
                break

    def start(self) -> None:
        """Raises ``RecorderBusy`` (and starts nothing, no heartbeat either) while another recorder
        records this camera's folder."""
        self.recorder.claim()
        try:
            self._earlier = self.recorder.earlier_segments()  # registered by the first heartbeat
            self._earlier_gaps = self.recorder.earlier_gaps()
        except Exception:  # noqa: BLE001 - the camera is recorded all the same
            log.exception("camera %s: the segments earlier recorders left could not be read", self.camera_id)
        for target, name in ((lambda: self.recorder.run(self.stop_event), "rec"), (self._beat, "beat")):
            thread = threading.Thread(target=target, name=f"civicwatch-{name}-{self.camera_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout)
        if self._unregistered or self._earlier is not None:
            try:
                self._register()  # a last try; what still fails is in the folder's index.jsonl
            except Exception:  # noqa: BLE001
                log.exception("camera %s: scheduling failed", self.camera_id)
        live.heartbeat(self.factory, self.camera_id, False, self.recorder.status.last_packet_at,
                       "recorder stopped", self.host)

    def run_forever(self) -> None:
        """For the CLI: record until interrupted."""
        self.start()
        try:
            while not self.stop_event.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


class LiveManager:
    """Inside the service: recorders for the first ``live_in_service`` cameras with a stream URL
    (re-checked every minute: URLs added, changed or removed, cameras retired), segments still
    waiting for a window (their recorder died), and rolling-footage retention."""

    INTERVAL_S = 60.0

    def __init__(self, factory: sessionmaker[Session], settings: Settings, submit: Callable[[int], None]):
        self.factory, self.settings, self.submit = factory, settings, submit
        self.recorders: dict[str, CameraRecorder] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Look again now (a stream URL was set, changed or removed) instead of within a minute."""
        self._wake.set()

    def _wanted(self) -> dict[str, str]:
        if self.settings.live_in_service <= 0:
            return {}
        with self.factory() as db:
            rows = db.execute(select(Camera.id, Camera.stream_url).where(
                Camera.stream_url.is_not(None), Camera.retired_at.is_(None)).order_by(Camera.id)).all()
        return {cid: url for cid, url in rows[: self.settings.live_in_service] if url}

    def sync(self) -> None:
        wanted = self._wanted()
        for cid, rec in list(self.recorders.items()):
            if wanted.get(cid) != rec.url:
                rec.stop()
                del self.recorders[cid]
        for cid, url in wanted.items():
            if cid not in self.recorders:
                rec = CameraRecorder(self.factory, self.settings, cid, url,
                                     on_jobs=lambda ids: [self.submit(i) for i in ids])
                try:
                    rec.start()
                except RecorderBusy as err:  # e.g. a ``civicwatch record --camera`` process: tried again later
                    log.warning("camera %s: not recorded in the service: %s", cid, err)
                    continue
                self.recorders[cid] = rec

    def tick(self) -> None:
        self.sync()
        with self.factory() as db:
            cams = db.scalars(select(Camera.id).where(Camera.stream_url.is_not(None))).all()
        for cid in cams:
            for job_id in live.schedule(self.factory, self.settings, cid):
                self.submit(job_id)
        retention.sweep(self.factory, self.settings)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - keep recording whatever one step does
                log.exception("live manager step failed")
            self._wake.wait(self.INTERVAL_S)
            self._wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="civicwatch-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        for rec in self.recorders.values():
            rec.stop()
        self.recorders.clear()
