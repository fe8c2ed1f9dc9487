"""Camera health, read from the database (so it is right whichever process records the camera):
online/offline (the recorder's heartbeat is recent and its connection is delivering pictures), the last finished
segment, gaps, and two lags behind live:

- ``recording_lag_s``: now minus the newest picture the recorder received (a few seconds when
  all is well; grows while the stream is down);
- ``analysis_lag_s``: now minus the end of the newest segment whose analysis is done. At least
  one segment plus the analysis time (segment k is analysed once k+1 is finished, for its
  post-roll); when it keeps growing the workers do not keep up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from detector.media.recorder import scrub_credentials
from service.config import Settings
from service.models import Camera, Job, LiveSegment, RecorderStatus, StreamGap, utcnow


@dataclass
class CameraHealth:
    camera_id: str
    stream: bool  # the camera has a stream URL
    online: bool
    connected: bool
    heartbeat_at: datetime | None
    last_error: str | None
    last_segment: str | None  # file name (its wall-clock start)
    last_segment_end: datetime | None
    segments: int
    gaps: int
    gap_seconds: float  # closed gaps, in total
    gap_open_since: datetime | None
    recording_lag_s: float | None
    analysis_lag_s: float | None

    def to_json(self) -> dict:
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, datetime):
                out[k] = v.isoformat()
        return out


def camera_health(db: Session, settings: Settings, now: datetime | None = None) -> list[CameraHealth]:
    """Health of every camera in service that has a stream URL or ever recorded a segment."""
    now = now or utcnow()
    stale = timedelta(seconds=3 * settings.live_heartbeat_s + 5)
    cams = db.scalars(select(Camera).where(Camera.retired_at.is_(None)).order_by(Camera.id)).all()
    seg_counts = dict(db.execute(select(LiveSegment.camera_id, func.count()).group_by(LiveSegment.camera_id)).all())
    out: list[CameraHealth] = []
    for cam in cams:
        if not cam.stream_url and not seg_counts.get(cam.id):
            continue
        status = db.get(RecorderStatus, cam.id)
        last = db.scalar(select(LiveSegment).where(LiveSegment.camera_id == cam.id)
                         .order_by(LiveSegment.end_at.desc()).limit(1))
        analysed = db.scalar(select(func.max(LiveSegment.end_at)).join(Job, Job.id == LiveSegment.job_id)
                             .where(LiveSegment.camera_id == cam.id, Job.state == "done"))
        gaps = db.scalars(select(StreamGap).where(StreamGap.camera_id == cam.id)).all()
        closed = [g for g in gaps if g.end_at is not None]
        open_gap = min((g.start_at for g in gaps if g.end_at is None), default=None)
        fresh = status is not None and now - status.updated_at <= stale
        connected = bool(fresh and status.connected)
        packet_at = status.last_packet_at if status is not None else None
        out.append(CameraHealth(
            camera_id=cam.id, stream=bool(cam.stream_url), online=connected, connected=connected,
            heartbeat_at=status.updated_at if status is not None else None,
            # masked again here: a row written by an older recorder may hold the stream's password
            last_error=scrub_credentials(status.last_error) if status is not None and status.last_error else None,
            last_segment=last.path.rsplit("/", 1)[-1] if last is not None else None,
            last_segment_end=last.end_at if last is not None else None,
            segments=int(seg_counts.get(cam.id, 0)), gaps=len(closed),
            gap_seconds=round(sum((g.end_at - g.start_at).total_seconds() for g in closed), 3),
            gap_open_since=open_gap if not connected else None,
            recording_lag_s=round((now - packet_at).total_seconds(), 3) if packet_at is not None else None,
            analysis_lag_s=round((now - analysed).total_seconds(), 3) if analysed is not None else None,
        ))
    return out


class LiveCollector:
    """Prometheus metrics of the recorders, per camera, read at scrape time."""

    def __init__(self, factory, settings: Settings) -> None:  # noqa: ANN001
        self.factory = factory
        self.settings = settings

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        segments = CounterMetricFamily("civicwatch_live_segments", "Live segments recorded", labels=["camera"])
        gaps = CounterMetricFamily("civicwatch_live_gaps", "Gaps in a live camera's recording (closed)",
                                   labels=["camera"])
        gap_s = CounterMetricFamily("civicwatch_live_gap_seconds", "Seconds without pictures in closed gaps",
                                    labels=["camera"])
        online = GaugeMetricFamily("civicwatch_live_online", "1 while the recorder holds a connection",
                                   labels=["camera"])
        rec_lag = GaugeMetricFamily("civicwatch_live_recording_lag_seconds",
                                    "Now minus the newest picture received", labels=["camera"])
        lag = GaugeMetricFamily("civicwatch_live_lag_seconds",
                                "Now minus the end of the newest analysed segment (lag of analysis behind live)",
                                labels=["camera"])
        with self.factory() as db:
            for h in camera_health(db, self.settings):
                segments.add_metric([h.camera_id], h.segments)
                gaps.add_metric([h.camera_id], h.gaps)
                gap_s.add_metric([h.camera_id], h.gap_seconds)
                online.add_metric([h.camera_id], 1.0 if h.online else 0.0)
                if h.recording_lag_s is not None:
                    rec_lag.add_metric([h.camera_id], h.recording_lag_s)
                if h.analysis_lag_s is not None:
                    lag.add_metric([h.camera_id], h.analysis_lag_s)
        yield from (segments, gaps, gap_s, online, rec_lag, lag)
