"""Camera-state notices: a live camera that went offline or came back online is announced on the
channels the case events use (MQTT ``<prefix>/cameras/<state>``, the signed webhooks), once per
change of state.

Why: before this a camera that lost its stream was only seen on the admin page's health table;
the city's operations engineers watch the MQTT / webhook feed, not that page.

How: the service looks at every recorded camera's health every ``camera_notice_poll_s`` (read
from the database, as the health page does, so cameras recorded by a separate ``civicwatch
record`` process count too, and a recorder process that died reads as offline: its heartbeat
goes stale). A camera is announced

- ``offline`` once it has delivered no pictures for ``camera_offline_after_s`` (since the last
  picture received, or, for a camera never reached, since the service first saw it down): a
  short drop that reconnects within the hold-off announces nothing, and the recorder's reconnect
  attempts while it stays down announce nothing more;
- ``online`` once a camera announced offline has delivered pictures for ``camera_online_after_s``
  without a break (counted from its latest reconnect): a flapping camera that comes back for a
  few seconds at a time stays announced offline instead of sending a pair of notices per drop.

What was announced last is kept per camera in ``live/camera_states.json`` under the data folder,
so a restart of the service neither repeats a notice nor loses a change that happened while it
was down. A camera first seen online is taken as online without a notice.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from detector.media.recorder import scrub_credentials
from service import events
from service.background_loop import BackgroundLoop
from service.config import Settings
from service.models import Camera, RecorderStatus, StreamGap, utcnow

log = logging.getLogger(__name__)

State = Literal["offline", "online"]
STATE_FILE = "camera_states.json"
SCHEMA_VERSION = 1


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


class EventCamera(BaseModel):
    """The camera as an operations dashboard shows it."""

    id: str
    place: str | None
    state: State = Field(description="the state announced")
    previous_state: State | None = Field(description="the state announced before; null for the first notice")
    since: str = Field(
        description="when the camera entered the state, UTC (ISO 8601): its last picture "
        "(offline) or its reconnect (online)"
    )
    since_local: str = Field(description="the same moment in the camera's time zone")
    timezone: str = Field(description="the camera's IANA time zone (since_local's)")
    reason: str | None = Field(description="offline: why (the recorder's last error, passwords masked); online: null")
    offline_s: float | None = Field(description="online: how long it was without pictures, seconds")


class CameraEvent(BaseModel):
    """One camera-state notice, the same JSON on every transport."""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(description="unique per notice: receivers may use it to drop duplicates")
    event: Literal["camera_offline", "camera_online"]
    time: str = Field(description="when the service announced it, UTC (ISO 8601)")
    actor: str = events.SYSTEM_ACTOR
    camera: EventCamera

    def body(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")).encode()

    def topic(self) -> str:
        return f"cameras/{self.camera.state}"

    def subject(self) -> str:
        return f"camera {self.camera.id}"


@dataclass(frozen=True)
class Observation:
    """A camera's state as its recorder's heartbeat shows it now."""

    camera_id: str
    state: State
    since: datetime | None  # offline: its last picture; online: its latest reconnect (None: unknown)
    reason: str | None


@dataclass
class Announced:
    """What was last announced for a camera, and what the watcher has been seeing (persisted)."""

    state: State | None = None
    since: str | None = None  # ISO, UTC
    seen: State | None = None
    seen_at: str | None = None  # ISO, UTC: when the watcher first saw ``seen``
    offline_seen_at: str | None = None  # ISO, UTC: the latest look that found it offline


def observe(db: Session, settings: Settings, now: datetime) -> list[Observation]:
    """Every camera with a stream URL (in service) whose recorder ever reported."""
    stale = timedelta(seconds=3 * settings.live_heartbeat_s + 5)
    rows = db.execute(
        select(Camera.id, RecorderStatus)
        .join(RecorderStatus, RecorderStatus.camera_id == Camera.id)
        .where(Camera.stream_url.is_not(None), Camera.retired_at.is_(None))
        .order_by(Camera.id)
    ).all()
    out: list[Observation] = []
    for cam_id, status in rows:
        fresh = now - _utc(status.updated_at) <= stale
        if fresh and status.connected:
            back = db.scalar(
                select(func.max(StreamGap.end_at)).where(StreamGap.camera_id == cam_id, StreamGap.end_at.is_not(None))
            )
            out.append(Observation(cam_id, "online", _utc(back) if back is not None else None, None))
            continue
        if not fresh:
            reason = f"no heartbeat from the camera's recorder since {_iso(status.updated_at)} (is it running?)"
        else:
            reason = scrub_credentials(status.last_error) if status.last_error else "no pictures from the stream"
        last = status.last_packet_at
        out.append(Observation(cam_id, "offline", _utc(last) if last is not None else None, reason))
    return out


def _zone(name: str | None, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def build_notice(
    db: Session,
    settings: Settings,
    camera_id: str,
    state: State,
    previous: State | None,
    since: datetime,
    reason: str | None,
    offline_s: float | None,
    now: datetime,
) -> CameraEvent:
    cam = db.get(Camera, camera_id)
    zone = _zone(cam.timezone if cam else None, settings.timezone)
    return CameraEvent(
        event_id=str(uuid.uuid4()),
        event=f"camera_{state}",
        time=_iso(now),
        camera=EventCamera(
            id=camera_id,
            place=cam.place if cam else None,
            state=state,
            previous_state=previous,
            since=_iso(since),
            since_local=_utc(since).astimezone(zone).isoformat(),
            timezone=zone.key,
            reason=reason,
            offline_s=round(offline_s, 3) if offline_s is not None else None,
        ),
    )


class CameraNotices(BackgroundLoop):
    """Looks at the cameras every ``camera_notice_poll_s`` and announces each change of state
    that outlasted its hold-off (see the module docstring)."""

    thread_name = "civicwatch-camera-notices"

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        super().__init__()
        self.factory, self.settings = factory, settings
        self.path: Path = settings.live_dir / STATE_FILE
        self.states: dict[str, Announced] = self._load()

    def _load(self) -> dict[str, Announced]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                cid: Announced(**{k: v for k, v in entry.items() if k in Announced.__dataclass_fields__})
                for cid, entry in raw.items()
            }
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as err:
            log.warning("%s unreadable (%s): camera states start afresh", self.path.name, err)
            return {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.write_text(json.dumps({cid: asdict(a) for cid, a in self.states.items()}, indent=1), encoding="utf-8")
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def step(self, now: datetime | None = None) -> list[CameraEvent]:
        """One look at every camera; returns the notices handed to the publishers."""
        now = _utc(now or utcnow())
        bus = events.bus_for(self.settings)
        sent: list[CameraEvent] = []
        before = {cid: asdict(a) for cid, a in self.states.items()}
        with self.factory() as db:
            seen = observe(db, self.settings, now)
            for obs in seen:
                notice = self._judge(db, obs, self.states.setdefault(obs.camera_id, Announced()), now)
                if notice is not None:
                    sent.append(notice)
                    if bus is not None:
                        bus.emit(notice)
        for cid in set(self.states) - {o.camera_id for o in seen}:  # stream URL removed, camera retired
            del self.states[cid]
        if {cid: asdict(a) for cid, a in self.states.items()} != before:
            self._save()
        return sent

    def _judge(self, db: Session, obs: Observation, st: Announced, now: datetime) -> CameraEvent | None:
        if st.seen != obs.state:
            st.seen, st.seen_at = obs.state, _iso(now)
        seen_at = datetime.fromisoformat(st.seen_at)
        if obs.state == "offline":
            st.offline_seen_at = _iso(now)
            since = obs.since or seen_at  # never reached: down since the watcher first saw it
            if st.state == "offline" or now - since < timedelta(seconds=self.settings.camera_offline_after_s):
                return None
            previous, st.state, st.since = st.state, "offline", _iso(since)
            return build_notice(db, self.settings, obs.camera_id, "offline", previous, since, obs.reason, None, now)
        if st.state is None:  # first seen online: nothing changed that anyone needs to hear about
            st.state, st.since = "online", _iso(obs.since or seen_at)
            return None
        if st.state == "online":
            return None
        # back after an announced outage: since its latest reconnect (a reconnect before the last
        # look that found it down is an older one, e.g. a recorder restarted without a gap row)
        offline_seen = datetime.fromisoformat(st.offline_seen_at) if st.offline_seen_at else None
        since = obs.since if obs.since is not None and (offline_seen is None or obs.since > offline_seen) else seen_at
        if now - since < timedelta(seconds=self.settings.camera_online_after_s):
            return None
        down_since = datetime.fromisoformat(st.since) if st.since else None
        st.state, st.since = "online", _iso(since)
        offline_s = (since - down_since).total_seconds() if down_since is not None else None
        return build_notice(db, self.settings, obs.camera_id, "online", "offline", since, None, offline_s, now)

    def start(self) -> None:
        if self.settings.mqtt_host or self.settings.webhook_urls:  # no channel, nothing to tell
            self._start_thread()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001 - a database blip must not end the notices
                log.exception("camera state notices: step failed")
            self._stop.wait(self.settings.camera_notice_poll_s)
