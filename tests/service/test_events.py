"""Case events (service.events) against the real local Mosquitto broker and a real HTTP receiver:
every change of a case (created by a finished job, approved, rejected, published, withdrawn)
arrives as one documented JSON document; webhooks are signed and retried; a broker or receiver
that is down never breaks a decision."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import socket
import time

import pytest

from event_receivers import BROKER, Receiver, Subscriber

from service import events

from .conftest import start_env, upload_clip
from .helpers import SHORT_CLIP, wait_job
from .test_jobs import FakePipeline

SECRET = "webhook-test-secret"
CASE_FIELDS = {"id", "public_number", "state", "previous_state", "rule", "offence", "object_class", "camera_id",
               "place", "timezone", "start_time", "start_time_local", "confidence", "reason", "reason_code", "screens",
               "job_id"}


@pytest.fixture(autouse=True)
def fresh_buses():
    yield
    events.close_all()


@pytest.fixture
def topic_prefix() -> str:
    return f"civicwatch-test-{secrets.token_hex(4)}"


@pytest.fixture
def subscriber(topic_prefix):
    sub = Subscriber(f"{topic_prefix}/cases/#")
    yield sub
    sub.close()


def _check_document(doc: dict, event: str, case_id: str, actor: str) -> dict:
    assert doc["schema_version"] == 1 and doc["event"] == event and doc["actor"] == actor
    assert len(doc["event_id"]) == 36 and doc["time"].endswith("Z")
    case = doc["case"]
    assert set(case) == CASE_FIELDS and case["id"] == case_id
    assert case["offence"]["en"] and case["offence"]["zh-CN"] and case["offence"]["en"] != f"rule.{case['rule']}"
    text = json.dumps(doc)
    for secret in ("sha256", "evidence", "jobs/", "token", "password", "track_ids"):
        assert secret not in text, secret
    return case


def test_mqtt_events_for_every_change(settings, evidence_template, footage_dir, fast_redaction, subscriber,
                                      topic_prefix):
    s = settings.model_copy(update={"runner": "inprocess", "mqtt_host": BROKER[0], "mqtt_port": BROKER[1],
                                    "mqtt_topic_prefix": topic_prefix})
    from service.main import create_app

    app = create_app(s, analyze_fn=FakePipeline(evidence_template))
    main, env = start_env(app, s)
    try:
        from .helpers import SCENE_YAML

        assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 201
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP, place="Overpass north")
        assert wait_job(env.operator, up["job_id"])["state"] == "done"
        got = subscriber.wait_for(2)
        assert [t for t, _ in got] == [f"{topic_prefix}/cases/created"] * 2
        a, b = sorted(d["case"]["id"] for _, d in got)
        for _, doc in got:
            case = _check_document(doc, "created", doc["case"]["id"], "system")
            assert case["state"] == "pending" and case["previous_state"] is None
            assert case["place"] == "Overpass north" and case["camera_id"] == "bj-overpass"

        assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
        assert env.reviewer.post(f"/api/cases/{b}/reject", json={"reason": "shadow, not a person"}).status_code == 200
        assert _publish_when_ready(env.reviewer, a, {"screens": ["lobby"]}).status_code == 200
        assert env.reviewer.post(f"/api/cases/{a}/withdraw", json={"reason": "complaint upheld"}).status_code == 200
        got = subscriber.wait_for(6)
        later = [(t.rsplit("/", 1)[1], d) for t, d in got[2:]]
        assert [(e, d["case"]["id"]) for e, d in later] == [("approved", a), ("rejected", b), ("published", a),
                                                            ("withdrawn", a)]
        cases = {e: _check_document(d, e, d["case"]["id"], "rita") for e, d in later}
        assert (cases["approved"]["previous_state"], cases["approved"]["state"]) == ("pending", "approved")
        assert (cases["rejected"]["reason"], cases["rejected"]["reason_code"]) == ("shadow, not a person", "other")
        assert cases["approved"]["reason_code"] is None
        assert cases["published"]["public_number"] and cases["published"]["screens"] == ["lobby"]
        assert (cases["withdrawn"]["previous_state"], cases["withdrawn"]["reason"]) == ("published", "complaint upheld")
        # one document per change: nothing else arrived
        assert len(subscriber.wait_for(7, timeout=1.0)) == 6
    finally:
        main.__exit__(None, None, None)


def _publish_when_ready(client, case_id: str, body: dict, timeout: float = 180.0):
    """Publish once the publication queue has made the case's public media (409 not_ready until then)."""
    deadline = time.monotonic() + timeout
    while True:
        res = client.post(f"/api/cases/{case_id}/publish", json=body)
        if res.status_code != 409 or res.json().get("code") != "not_ready" or time.monotonic() > deadline:
            return res
        time.sleep(0.5)


@pytest.fixture
def receiver():
    r = Receiver(statuses=[503])  # the first delivery fails: the event must be retried
    yield r
    r.close()


@pytest.fixture
def webhook_env(settings, receiver):
    from service.main import create_app

    from .conftest import start_env as start

    s = settings.model_copy(update={"webhook_urls": [receiver.url], "webhook_secret": SECRET,
                                    "webhook_backoff_s": 0.05, "webhook_timeout_s": 2.0})
    main, env = start(create_app(s), s)
    from .helpers import SCENE_YAML

    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 201
    yield env
    main.__exit__(None, None, None)


def test_webhook_signed_and_retried(webhook_env, footage_dir, evidence_template, receiver):
    from .conftest import seed_cases

    env = webhook_env
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    a, _ = seed_cases(env, up["job_id"], evidence_template)
    assert env.reviewer.post(f"/api/cases/{a}/reject", json={"reason": "blurred plate"}).status_code == 200
    assert events.bus_for(env.settings).flush(20)
    assert len(receiver.requests) == 2  # 503, then delivered
    (h1, b1), (h2, b2) = receiver.requests
    assert b1 == b2 and h1["x-civicwatch-delivery"] == h2["x-civicwatch-delivery"]
    assert h2["content-type"].startswith("application/json") and h2["x-civicwatch-event"] == "rejected"
    expected = "sha256=" + hmac.new(SECRET.encode(), b2, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(h2[events.SIGNATURE_HEADER.lower()], expected)
    doc = json.loads(b2)
    case = _check_document(doc, "rejected", a, "rita")
    assert case["reason"] == "blurred plate" and case["state"] == "rejected"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_down_broker_and_webhook_never_break_a_decision(settings, down_receivers_env):
    env, cases = down_receivers_env
    r = env.reviewer.post(f"/api/cases/{cases[0]}/approve")
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = env.reviewer.post(f"/api/cases/{cases[1]}/reject", json={"reason": "not an offence"})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    # the requests did not wait for delivery: the rejection's event is still being retried (5 s, then
    # 10 s of backoff) after its answer came back
    webhook = next(p for p in events.bus_for(env.settings).publishers if isinstance(p, events.WebhookPublisher))
    assert webhook.pending() >= 1
    assert env.reviewer.get(f"/api/cases/{cases[0]}").json()["state"] == "approved"


@pytest.fixture
def down_receivers_env(settings, footage_dir, evidence_template, fast_redaction):
    from service.main import create_app

    from .conftest import seed_cases
    from .helpers import SCENE_YAML

    s = settings.model_copy(update={"mqtt_host": "127.0.0.1", "mqtt_port": _closed_port(),
                                    "webhook_urls": [f"http://127.0.0.1:{_closed_port()}/hook"],
                                    "webhook_secret": SECRET, "webhook_backoff_s": 5.0, "webhook_max_attempts": 3})
    main, env = start_env(create_app(s), s)
    assert env.admin.post("/api/cameras", data={"scene": SCENE_YAML}).status_code == 201
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    yield env, seed_cases(env, up["job_id"], evidence_template)
    main.__exit__(None, None, None)


def test_webhook_needs_a_secret(tmp_path):
    from pydantic import ValidationError

    from service.config import Settings

    with pytest.raises(ValidationError, match="webhook_secret"):
        Settings(data_dir=tmp_path, webhook_urls=["http://127.0.0.1:9/hook"])
    with pytest.raises(ValidationError, match="http"):
        Settings(data_dir=tmp_path, webhook_urls=["file:///etc/passwd"], webhook_secret="x")
