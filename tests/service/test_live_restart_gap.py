"""A camera's recorder stopped and started again later: the time between is a gap.

The recorder reads a real clip (PyAV opens a file like a stream) with a scripted receive clock, so
each run's first picture is stamped exactly when the test says the run started.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from detector.media.recorder import DRIFT_TOLERANCE_S
from service.live import segments as live
from service.live.health import camera_health
from service.live.recorders import CameraRecorder
from service.models import LiveSegment, StreamGap, utcnow

CLIP = "aerial-parking-lot/car-detection.mp4"  # a keyframe every 4.8 s


def _record_a_while(factory, settings, cam, clip, at: datetime) -> None:  # noqa: ANN001
    """A recorder started at ``at``: it records one segment, then is stopped cleanly."""
    rec = CameraRecorder(factory, settings, cam, str(clip), segment_s=1.0)
    rec.recorder.clock = lambda: at.timestamp()

    def first_then_stop(segment) -> None:  # noqa: ANN001
        rec._segment(segment)
        rec.stop_event.set()

    rec.recorder.on_segment = first_then_stop
    rec.start()
    assert rec.stop_event.wait(60), "no segment recorded"
    rec.stop()


def _last_end(factory, cam) -> datetime:  # noqa: ANN001
    with factory() as db:
        return db.scalar(select(func.max(LiveSegment.end_at)).where(LiveSegment.camera_id == cam))


def _first_start_after(factory, cam, after: datetime) -> datetime:  # noqa: ANN001
    with factory() as db:
        return db.scalar(select(func.min(LiveSegment.start_at)).where(LiveSegment.camera_id == cam,
                                                                      LiveSegment.start_at > after))


def _gaps(factory, cam):  # noqa: ANN001
    with factory() as db:
        return [(g.start_at, g.end_at, g.reason) for g in db.scalars(
            select(StreamGap).where(StreamGap.camera_id == cam).order_by(StreamGap.start_at))]


def test_the_time_between_a_stopped_recorder_and_the_next_is_a_gap(env, camera, footage_dir, monkeypatch):
    """Before, the footage nobody recorded while no recorder ran was not reported: the health
    page and the gap seconds showed the camera's footage as unbroken across the restart."""
    cam = camera["camera_id"]
    factory, settings = env.app.state.session_factory, env.settings
    monkeypatch.setattr(live, "schedule", lambda *_args: [])  # only the recording is looked at here
    clip = footage_dir / CLIP
    t1 = utcnow().replace(microsecond=0) - timedelta(hours=1)
    _record_a_while(factory, settings, cam, clip, t1)
    stopped = _last_end(factory, cam)
    assert _gaps(factory, cam) == []

    # started again a minute later: that minute is a closed gap, from the last segment's end
    _record_a_while(factory, settings, cam, clip, stopped + timedelta(seconds=60))
    resumed = _first_start_after(factory, cam, stopped)
    [(start, end, reason)] = _gaps(factory, cam)
    assert (start, end) == (stopped, resumed) and abs((end - start).total_seconds() - 60) < 1e-3
    assert "no recorder" in reason
    with factory() as db:
        h = {x.camera_id: x for x in camera_health(db, settings)}[cam]
    assert h.gaps == 1 and abs(h.gap_seconds - 60) < 1e-2 and h.gap_open_since is None

    # a restart whose first picture follows on within the usual tolerance is no gap
    stopped = _last_end(factory, cam)
    _record_a_while(factory, settings, cam, clip, stopped + timedelta(seconds=DRIFT_TOLERANCE_S / 2))
    assert len(_gaps(factory, cam)) == 1
