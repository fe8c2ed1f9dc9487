"""Building blocks for the service tests: scenes, real evidence runs, role clients, waiting."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import time
from pathlib import Path

from fastapi.testclient import TestClient

from detector.evidence import SignalLog, TrackLog
from detector.evidence.manifest import write_manifest
from detector.evidence.writer import write_cases
from detector.scene import load_scene_text
from detector.types import SignalColor, TrackObservation, ViolationEvent

SHORT_CLIP = "beijing-intersection/uadetrac_overpass_short.mp4"
LONG_CLIP = "beijing-intersection/uadetrac_overpass.mp4"
ADMIN_PASSWORD = "station-key-924"
PASSWORD = "secret-pass-123"

# The overpass scene in its own pixels (960x540): a lane whose legal direction is towards the
# camera (the real traffic in the near lanes drives away: wrong way), a crossing with a signal
# that is red all the time, and a no-parking box.
SCENE_YAML = """\
camera: bj-overpass
place: 北京 立交桥 (test)
start_time: 2024-05-01T08:00:00+08:00
timezone: Asia/Shanghai
frame_size: [960, 540]
zones:
  - name: near-lanes
    kind: lane
    polygon: [[0, 200], [960, 200], [960, 540], [0, 540]]
    direction: [[480, 250], [480, 530]]
    window_s: 0.8
    min_distance: 15
  - name: crossing
    kind: crosswalk
    signal: ped
    polygon: [[0, 430], [960, 430], [960, 520], [0, 520]]
signals:
  - {name: ped, timeline: [[0, red]]}
"""


def dead_stream_url() -> str:
    """A camera stream nothing answers: a recorder of it records nothing and keeps retrying."""
    with socket.socket() as s:  # a free port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"rtsp://127.0.0.1:{s.getsockname()[1]}/cam"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_run(source: Path, out_dir: Path, scene_path: Path) -> list[dict]:
    """A real evidence folder (clips cut from real footage by the real evidence writer) for two
    scripted events, plus its manifest: what the pipeline leaves behind for a job."""
    scene = load_scene_text(scene_path.read_text(encoding="utf-8"))
    tracks, signals = TrackLog(), SignalLog()
    for i in range(22):
        t = round(i * 0.1, 3)
        tracks.add(t, [
            TrackObservation(t, 4, "car", (400.0, 420.0 - i * 6, 480.0, 480.0 - i * 6), 0.9),
            TrackObservation(t, 9, "person", (100.0 + i * 8, 380.0, 130.0 + i * 8, 470.0), 0.8),
        ])
        signals.add(t, {"ped": SignalColor.RED})
    events = [
        ViolationEvent(rule="wrong_way", zone="near-lanes", start_s=0.3, end_s=1.1, key_t=0.6, object_class="car",
                       track_ids=[4], confidence=0.9, explanation="car drove against the lane direction",
                       key_box=(400.0, 384.0, 480.0, 444.0), path=[(i * 0.1, 440.0, 480.0 - i * 6) for i in range(12)]),
        ViolationEvent(rule="red_light_pedestrian", zone="crossing", start_s=0.8, end_s=1.5, key_t=0.9,
                       object_class="person", track_ids=[9], confidence=0.8, explanation="entered the crossing on red",
                       key_box=(172.0, 380.0, 202.0, 470.0), path=[(i * 0.1, 115.0 + i * 8, 470.0) for i in range(16)],
                       signal="ped"),
    ]
    cases = write_cases(source=source, scene=scene, events=events, track_log=tracks, signal_log=signals,
                        out_dir=out_dir, pre=0.5, post=0.5)
    write_manifest(out_dir, source=source, scene_path=scene_path, model_path=None, software_version="test")
    return cases


def copy_run(template: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template, dest)


def rewrite_run_file(out_dir: Path, relpath: str, text: str) -> None:
    """Write one file of a run folder anew and its manifest entry with it, as the pipeline would:
    a run whose files differ from its manifest is refused at ingest (service.run_trust), and a
    stand-in analysis that edits a copied run means to test something after that check."""
    target = out_dir / relpath
    target.write_text(text)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == relpath:
            entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
            entry["size"] = target.stat().st_size
    (out_dir / "manifest.json").write_text(json.dumps(manifest))


# The TestClient's own origin. Browsers send it on every POST/PUT/PATCH/DELETE, and the service
# refuses cookie-authenticated writes without it (service.http_security), so the role clients do too.
ORIGIN = "http://testserver"


def browser_client(app, **kwargs) -> TestClient:
    """A client that behaves like the service's own pages: it names its origin on every request."""
    return TestClient(app, headers={"Origin": ORIGIN, **kwargs.pop("headers", {})}, **kwargs)


def login(app, username: str, password: str) -> TestClient:
    client = browser_client(app)
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return client


def bearer(app, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def wait_job(client: TestClient, job_id: int, states=("done", "failed", "cancelled"), timeout: float = 120.0) -> dict:
    """Poll until the job reaches one of ``states`` (the deadline guards a hang, it asserts no speed)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck in {job['state']}: {job}")
        time.sleep(0.1)


def downgrade_schema(engine, revision: str) -> None:  # noqa: ANN001 - a SQLAlchemy engine
    """Take the database at ``engine`` back to migration ``revision`` (a test of a later
    migration's upgrade starts from the schema an earlier release left)."""
    from alembic import command

    from service.db import alembic_config

    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
