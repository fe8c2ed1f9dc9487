"""Case events for other systems: an MQTT message and a signed webhook each time a case is created
(ingested from a finished job), approved, rejected, published or withdrawn.

Why: a control room, a dashboard or a home-automation style integration wants to hear about a new
case or a publication without polling the API, as Frigate publishes its review items on MQTT.
Both publishers are off unless configured (``mqtt_host``, ``webhook_urls`` in ``service.config``).

Delivery never holds up the request or job that caused the event and never makes it fail: the
payload is built while the database session is at hand (a few column reads), then handed to
background threads. MQTT uses paho's own network thread (QoS 1, queued while the broker is away and
sent on reconnect); each webhook URL has its own queue and thread, a short timeout and retries with
exponential backoff, so one slow receiver delays nobody else. A full queue drops the event with a
log line rather than blocking. Events are "at most once per process": a restart loses what was
queued, which is fine for notifications (the API stays the record).

One JSON document (:class:`CaseEvent`) for every event and every transport; it carries what a
person reading a dashboard needs (offence in both languages, place, times, public number) and no
internal secrets: no evidence paths, hashes, tokens or plate of the offender. Camera-state notices
(a live camera offline / back online, ``service.live.notices``) go through the same publishers,
as a document of their own under ``<prefix>/cameras/<state>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.display_names import judged_documents
from service.models import Camera, Case, Job, Upload
from service.scenes import timezone_of

log = logging.getLogger(__name__)

EventType = Literal["created", "approved", "rejected", "published", "withdrawn"]
# the review action (service.api.cases.TRANSITIONS) -> the event it announces
ACTION_EVENTS: dict[str, EventType] = {"approve": "approved", "reject": "rejected", "publish": "published",
                                       "withdraw": "withdrawn"}
SCHEMA_VERSION = 1
SIGNATURE_HEADER = "X-CivicWatch-Signature-256"
QUEUE_SIZE = 1000
SYSTEM_ACTOR = "system"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class EventCase(BaseModel):
    """The case as a dashboard shows it."""

    id: str = Field(description="the case id in the API (/api/cases/{id})")
    public_number: str | None = Field(description="the number the public sees (YYYYMMDD-NNNN), once published")
    state: str = Field(description="state after the event")
    previous_state: str | None = Field(description="state before the event; null for created")
    rule: str = Field(description="the rule's code, e.g. red_light_pedestrian")
    offence: dict[str, str] = Field(description="the offence as the evidence sheet names it, by language (zh-CN, en)")
    object_class: str | None
    camera_id: str
    place: str | None
    timezone: str | None = Field(description="the IANA time zone of the scene the case was judged by (start_time_local's)")
    start_time: str | None = Field(description="when the offence began, UTC (ISO 8601)")
    start_time_local: str | None = Field(description="the same moment in the camera's local time")
    confidence: float
    reason: str | None = Field(description="the reviewer's reason (rejection, withdrawal, optional on approval)")
    reason_code: str | None = Field(description="rejected: the reason's code (service.reject_reasons), else null")
    screens: list[str] | None = Field(description="published: the screens that show it (null = all)")
    job_id: int


class CaseEvent(BaseModel):
    """Every event, on every transport, is one of these (JSON, UTF-8)."""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(description="unique per event: receivers may use it to drop duplicates")
    event: EventType
    time: str = Field(description="when the change was committed, UTC (ISO 8601)")
    actor: str = Field(description="who made the change: a user name, or 'system' for a finished job")
    case: EventCase

    def body(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")).encode()

    def topic(self) -> str:
        """The MQTT topic under the prefix."""
        return f"cases/{self.event}"

    def subject(self) -> str:
        """What the event is about, for log lines."""
        return f"case {self.case.id}"


class Event(Protocol):
    """What a publisher needs of an event: case events here, camera-state notices
    (``service.live.notices``) beside them, on the same channels."""

    event: str
    event_id: str

    def body(self) -> bytes: ...

    def topic(self) -> str: ...

    def subject(self) -> str: ...


def _offence(rule: str, object_class: str | None) -> dict[str, str]:
    """The offence as the evidence sheet, the case page and an export name it (by the offender's
    class: a car going the wrong way is 机动车逆向行驶)."""
    from service.api.common import offence_view

    return offence_view(rule, object_class)["names"]


def _judged_zone(db: Session, case: Case, cam: Camera | None) -> str | None:
    """The zone of the scene the case was judged by, the one ``start_time_local`` is written in (a
    camera moved to another zone since does not change it), as the case page and the feed give it."""
    return timezone_of(judged_documents(db, [case]).get(case.id), case.camera_id) or (cam.timezone if cam else None)


def build_event(db: Session, case: Case, event: EventType, actor: str, previous_state: str | None) -> CaseEvent:
    cam = db.get(Camera, case.camera_id)
    job = db.get(Job, case.job_id)
    up = db.get(Upload, job.upload_id) if job else None
    data = case.data or {}
    when = case.decided_at if event != "created" else case.created_at
    return CaseEvent(
        event_id=str(uuid.uuid4()), event=event, time=_iso(when) or _iso(datetime.now(timezone.utc)), actor=actor,
        case=EventCase(
            id=case.id, public_number=case.public_number, state=case.state, previous_state=previous_state,
            rule=case.rule, offence=_offence(case.rule, case.object_class), object_class=case.object_class, camera_id=case.camera_id,
            place=(up.place if up and up.place else None) or (cam.place if cam else None),
            timezone=_judged_zone(db, case, cam), start_time=_iso(case.start_time),
            start_time_local=data.get("start_time"), confidence=float(case.confidence or 0.0),
            reason=case.reason if event != "created" else None,
            reason_code=case.reject_reason_code if event != "created" else None,
            screens=case.public_screens if event == "published" else None, job_id=case.job_id))


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>``, as GitHub signs its webhooks."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MqttPublisher:
    """Publishes to ``<prefix>/<event.topic()>`` (``cases/<event>``, ``cameras/<state>``) with QoS 1
    through paho's network thread."""

    def __init__(self, host: str, port: int, prefix: str, username: str | None = None,
                 password: str | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.prefix = prefix.strip("/")
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"civicwatch-{uuid.uuid4().hex[:12]}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.max_queued_messages_set(QUEUE_SIZE)
        self.client.reconnect_delay_set(min_delay=1, max_delay=60)
        self.client.connect_async(host, port, keepalive=60)  # returns at once; a down broker is retried
        self.client.loop_start()

    def topic(self, event: Event) -> str:
        return f"{self.prefix}/{event.topic()}"

    def submit(self, event: Event) -> None:
        info = self.client.publish(self.topic(event), event.body(), qos=1)
        if info.rc not in (0, 4):  # 0 sent, 4 (no connection) queued for the reconnect
            log.warning("MQTT event %s for %s not queued (rc %s)", event.event, event.subject(), info.rc)

    def pending(self) -> int:
        return len(getattr(self.client, "_out_messages", {}))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class WebhookPublisher:
    """POSTs each event to one URL from its own thread: signed, short timeout, retried with backoff."""

    def __init__(self, url: str, secret: str, timeout_s: float, max_attempts: int, backoff_s: float) -> None:
        self.url, self.secret = url, secret
        self.max_attempts, self.backoff_s = max_attempts, backoff_s
        self.http = httpx.Client(timeout=timeout_s, follow_redirects=False)
        self.queue: queue.Queue[Event | None] = queue.Queue(QUEUE_SIZE)
        self.stopping = threading.Event()  # cuts a backoff wait short on close
        self.thread = threading.Thread(target=self._loop, name="civicwatch-webhook", daemon=True)
        self.thread.start()

    def submit(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            log.error("webhook queue for %s is full; event %s for %s dropped", self.url, event.event, event.subject())

    def pending(self) -> int:
        return self.queue.unfinished_tasks

    def close(self) -> None:
        self.stopping.set()
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass
        self.thread.join(timeout=5)
        self.http.close()

    def _loop(self) -> None:
        while True:
            event = self.queue.get()
            try:
                if event is None or self.stopping.is_set():
                    return
                self._deliver(event)
            except Exception:  # noqa: BLE001 - a receiver's fault must not end the thread
                log.exception("webhook delivery to %s failed", self.url)
            finally:
                self.queue.task_done()

    def _deliver(self, event: Event) -> None:
        body = event.body()
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(body, self.secret),
                   "X-CivicWatch-Event": event.event, "X-CivicWatch-Delivery": event.event_id,
                   "User-Agent": "CivicWatch-Webhook/1"}
        for attempt in range(1, self.max_attempts + 1):
            try:
                r = self.http.post(self.url, content=body, headers=headers)
                if r.status_code < 300:
                    return
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    log.warning("webhook %s refused event %s: HTTP %s (not retried)", self.url, event.event_id,
                                r.status_code)
                    return
                problem = f"HTTP {r.status_code}"
            except httpx.HTTPError as err:
                problem = f"{type(err).__name__}: {err}"
            if attempt < self.max_attempts and self.stopping.wait(self.backoff_s * 2 ** (attempt - 1)):
                break
        log.warning("webhook %s: event %s for %s not delivered after %s attempts (%s)", self.url,
                    event.event, event.subject(), self.max_attempts, problem)


class EventBus:
    """Hands each event to every configured publisher."""

    def __init__(self, publishers: list[Any]) -> None:
        self.publishers = publishers

    def emit(self, event: Event) -> None:
        for pub in self.publishers:
            try:
                pub.submit(event)
            except Exception:  # noqa: BLE001 - a notification never breaks the change it reports
                log.exception("could not hand event %s to %s", event.event, type(pub).__name__)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every publisher has sent (or given up on) what it was handed; tests and shutdown."""
        deadline = time.monotonic() + timeout
        while any(p.pending() for p in self.publishers):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        for pub in self.publishers:
            pub.close()


def _config_key(s: Settings) -> tuple:
    return (s.mqtt_host, s.mqtt_port, s.mqtt_topic_prefix, s.mqtt_username, s.mqtt_password, tuple(s.webhook_urls),
            s.webhook_secret, s.webhook_timeout_s, s.webhook_max_attempts, s.webhook_backoff_s)


_buses: dict[tuple, EventBus] = {}
_buses_lock = threading.Lock()


def bus_for(settings: Settings) -> EventBus | None:
    """The process's bus for this configuration (made on first use; one MQTT connection and one
    thread per webhook however many requests emit); None when no publisher is configured."""
    if not settings.mqtt_host and not settings.webhook_urls:
        return None
    key = _config_key(settings)
    with _buses_lock:
        bus = _buses.get(key)
        if bus is None:
            pubs: list[Any] = []
            if settings.mqtt_host:
                pubs.append(MqttPublisher(settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix,
                                          settings.mqtt_username, settings.mqtt_password))
            for url in settings.webhook_urls:
                pubs.append(WebhookPublisher(url, settings.webhook_secret or "", settings.webhook_timeout_s,
                                             settings.webhook_max_attempts, settings.webhook_backoff_s))
            bus = _buses[key] = EventBus(pubs)
        return bus


def case_changed(settings: Settings, db: Session, case: Case, action: str, actor: str, previous_state: str) -> None:
    """Announce a committed review action (``approve``/``reject``/``publish``/``withdraw``)."""
    event = ACTION_EVENTS.get(action)
    if event is None:
        return
    try:
        bus = bus_for(settings)
        if bus is not None:
            bus.emit(build_event(db, case, event, actor, previous_state))
    except Exception:  # noqa: BLE001 - the decision is committed; the event is a courtesy
        log.exception("could not announce %s of case %s", action, case.id)


def cases_created(settings: Settings, factory: sessionmaker[Session], case_ids: Iterable[str]) -> None:
    """Announce the new pending cases of a finished job."""
    ids = list(case_ids)
    try:
        bus = bus_for(settings)
        if bus is None or not ids:
            return
        with factory() as db:
            for case in db.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.start_s, Case.id)):
                bus.emit(build_event(db, case, "created", SYSTEM_ACTOR, None))
    except Exception:  # noqa: BLE001
        log.exception("could not announce the new cases %s", ids[:5])


def close_all() -> None:
    """Stop every bus of this process (tests; a later ``bus_for`` starts a fresh one)."""
    with _buses_lock:
        buses = list(_buses.values())
        _buses.clear()
    for bus in buses:
        bus.close()
