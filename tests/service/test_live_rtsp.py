"""A live camera end to end: a real RTSP camera, stopped mid-stream and restarted, recorded by the
service's recorder, every segment analysed by the real pipeline on the in-process runner, and the
cases equal to those of analysing each unbroken recording (its segments joined) directly, once each.

The camera is Debian's GStreamer RTSP server looping the real Beijing overpass clip (8.4 s; its
keyframes fall 8.33 s apart, so 5 s segments are 8.33-8.4 s long). The scene is the wrong-way
drill of the dev set (every car driving away from the camera is a case, several per loop) with
2 s direction windows halved, so its pre-roll (8 s) fits in one segment: a segment's window is the
segment before it, itself and the one after, and the windows of the third segment on start
8.33 s into their recording, off the 5 fps analysis grid of the whole recording (the case the
recording's grid origin exists for).

Connection A: one full segment, then the camera is killed 3 s into the second (the drop ends it);
a second later the camera is back. Connection B: three full segments, then the recorder is stopped (a
short last segment). Cases are compared by rule, zone, class and the moment they were decided on
the recording's clock (stream seconds since the connection's first picture).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from detector.detect import load_analysis_detector
from detector.media.concat import Part, concat_remux
from detector.pipeline import AnalyzeOptions, analyze
from service.config import Settings
from service.live import segments as live
from service.live.recorders import CameraRecorder
from service.models import Case, Job, LiveSegment, StreamGap, Upload
from tests.live.helpers import CLIP, RtspCamera

from .helpers import ADMIN_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DEV_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "dev-set"
FPS = 5.0  # both sides analyse at 5 frames a second (the test's time on two cores)
# Both sides detect on the whole frame only, not also on tiles around the zones: what is compared
# is how windows, grid and gaps split one recording, the same whatever the detector is run on, at
# a quarter of the detections (the zones lie near the camera, where the cars are large anyway).
ANALYSIS = {"analysis_fps": FPS, "regions": "off"}


@pytest.fixture
def db_backend() -> str:
    return "postgresql"  # the production database; one backend is enough for a test this long


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=database_url, admin_password=ADMIN_PASSWORD,
                    runner="inprocess", job_poll_s=0.2, analyze_options=dict(ANALYSIS),
                    live_heartbeat_s=0.5, redaction_policy="none")


def _scene_yaml() -> str:
    doc = yaml.safe_load((DEV_SET / "beijing-overpass-drill.scene.yaml").read_text(encoding="utf-8"))
    for zone in doc["zones"]:
        zone["window_s"] = 1.0  # pre-roll 3 x 1 s + 5 s settling = 8 s < one segment
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _key(case: dict, offset_s: float) -> tuple:
    return case["rule"], case["zone"], round(offset_s + case["decided_s"], 2), case["object_class"]


def test_live_camera_dropped_and_back_gives_the_cases_of_its_recordings(env, footage_dir, fast_redaction, tmp_path):
    r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", _scene_yaml().encode(), "application/x-yaml")})
    assert r.status_code == 201, r.text
    cam = r.json()["camera_id"]
    camera = RtspCamera(footage_dir / CLIP)
    camera.start()
    assert env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": camera.url}).status_code == 200
    factory, settings, runner = env.app.state.session_factory, env.settings, env.app.state.runner

    def health() -> dict:
        return {h["camera_id"]: h for h in env.operator.get("/api/live/health").json()}[cam]

    # what ``civicwatch record --camera`` runs; its jobs go to the service's in-process runner
    rec = CameraRecorder(factory, settings, cam, camera.url, segment_s=5.0, read_timeout_s=3.0,
                         backoff_initial_s=0.25, backoff_max_s=1.0,
                         on_jobs=lambda ids: [runner.submit(i) for i in ids])
    status = rec.recorder.status
    rec.start()
    try:
        _wait(lambda: status.segments >= 1, 40, "the first segment")
        _wait(lambda: health()["online"], 5, "the health line to say online")
        time.sleep(3.0)  # inside the second segment
        camera.kill()
        _wait(lambda: status.segments >= 2, 15, "the segment cut by the drop")
        _wait(lambda: not health()["online"], 10, "the health line to say offline")
        time.sleep(1.0)  # down a while: the gap must cover it
        camera.start()
        _wait(lambda: status.gaps >= 1, 30, "the reconnect")
        _wait(lambda: status.segments >= 5, 60, "three segments after the reconnect")
    finally:
        rec.stop()
        camera.kill()

    with factory() as db:
        rows = db.scalars(select(LiveSegment).where(LiveSegment.camera_id == cam)
                          .order_by(LiveSegment.start_at)).all()
        runs: dict[str, list[LiveSegment]] = {}
        for row in rows:
            runs.setdefault(row.connection, []).append(row)
        a, b = list(runs.values())
        assert [s.ended_by for s in a] == ["length", "drop"], [s.ended_by for s in a]
        assert [s.ended_by for s in b] == ["length", "length", "length", "stop"], [s.ended_by for s in b]
        assert all(s.job_id for s in rows) and len({s.job_id for s in rows}) == len(rows)  # a job each
        # the gap: from the last picture before the drop to the first after the reconnect
        gaps = db.scalars(select(StreamGap).where(StreamGap.camera_id == cam)).all()
        assert [(g.start_at, g.end_at) for g in gaps] == [(a[-1].end_at, b[0].start_at)]
        assert (gaps[0].end_at - gaps[0].start_at).total_seconds() >= 1.0
        # the third segment of B is analysed in a window starting 8.33 s into B: off the 5 fps grid
        origin = live.job_options(db, b[2].job_id)["grid_origin_s"]
        assert abs(origin - b[0].duration_s) < 1e-6 and round(origin * FPS, 6) % 1 != 0
        job_ids = [s.job_id for s in rows]
        conn_of = {s.job_id: 0 if s.connection == a[0].connection else 1 for s in rows}
        first_at = [a[0].start_at, b[0].start_at]
        parts = [[Part(settings.data_dir / s.path, s.duration_s) for s in segs] for segs in (a, b)]
        b3_span = (b[0].duration_s + b[1].duration_s, b[0].duration_s + b[1].duration_s + b[2].duration_s)

    def finished() -> bool:
        with factory() as db:
            return all(db.get(Job, j).state in ("done", "failed", "cancelled") for j in job_ids)

    _wait(finished, 300, "the segments' jobs")
    got = []
    with factory() as db:
        for job_id in job_ids:
            job = db.get(Job, job_id)
            assert job.state == "done", (job_id, job.state, job.error)
            upload = db.get(Upload, job.upload_id)
            # the window's place in its recording: case times on the recording's clock
            offset = (upload.started_at - first_at[conn_of[job_id]]).total_seconds()
            got += [(conn_of[job_id], *_key(c.data, offset)) for c in db.scalars(select(Case).where(Case.job_id == job_id))]

    # the same recordings analysed whole: each connection's segments joined by stream copy
    scene = tmp_path / "scene.yaml"
    scene.write_text(_scene_yaml(), encoding="utf-8")
    options = AnalyzeOptions(**ANALYSIS, evidence=False)
    detector = load_analysis_detector(options.model, conf=options.conf)  # as the service loads it
    want = []
    for i, segs in enumerate(parts):
        joined = concat_remux(segs, tmp_path / f"recording-{i}.mp4")
        result = analyze(joined.path, scene, tmp_path / f"whole-{i}", options, detector=detector)
        want += [(i, *_key(c, 0.0)) for c in result.cases]
    assert len(want) >= 8 and {k[0] for k in want} == {0, 1}
    assert sorted(got) == sorted(want)  # every case, each once
    assert any(k[0] == 1 and b3_span[0] <= k[3] < b3_span[1] for k in got)  # found in the off-grid window

    h = health()
    assert h["segments"] == 6 and h["gaps"] == 1 and h["online"] is False
    assert h["last_segment"] == Path(b[-1].path).name and h["analysis_lag_s"] is not None

