"""The worker pool for real (issue 10): the service on PostgreSQL with runner "celery", Redis as
broker, two real ``civicwatch worker`` processes, a 30 s real clip split into 8 s segments, and
one worker SIGKILLed in the middle of a segment. The job must finish with exactly the cases of a
single-process run of the same segments, none twice, the killed segment tried again by the
other worker, and that worker's metrics must show the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from service.db import normalize_url
from service.main import create_app
from service.models import Case, Job, JobSegment

from .conftest import _empty_tables, start_env

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from harness import free_port  # noqa: E402

CLIP = "../footage-more/pedestrian-crossing/zebra_crossing.mp4"  # 30.5 s, 768x432 (relative to footage_dir)
BROKER = "redis://127.0.0.1:6379/9"  # a database of its own, emptied by the test
# A crossing that is red all the time: people walk onto it across the clip (3 cases in 30 s).
SCENE = """\
camera: nyc-zebra
kind: fixed
place: New York avenue crosswalk (test)
timezone: America/New_York
frame_size: [768, 432]
zones:
  - {name: near-crosswalk, kind: crosswalk, polygon: [[0, 322], [768, 358], [768, 422], [0, 381]], signal: ped}
signals:
  - {name: ped, timeline: [[0.0, red]]}
"""
ANALYZE = {"analysis_fps": 4, "pre": 0.5, "post": 0.5}
SEGMENT_S = 8.0


def _identity(case: dict) -> tuple:
    return (case["rule"], case.get("zone"), round(float(case["decided_s"]), 2), tuple(case.get("track_ids") or []))


def _worker(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "import sys; from civicwatch.cli import main; sys.exit(main())",
           "worker", "--metrics-port", str(port), "--log-level", "info"]
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _single_process(source: Path, scene: Path, spans: list[tuple[float, float]], out: Path) -> list[tuple]:
    """The reference: the same segments analysed one after the other in this process."""
    from detector.pipeline import AnalyzeOptions, analyze

    found = []
    for i, span in enumerate(spans):
        analyze(source, scene, out / f"seg-{i}", AnalyzeOptions(span=span, **ANALYZE))
        found += [_identity(c) for c in json.loads((out / f"seg-{i}" / "cases.json").read_text(encoding="utf-8"))]
    return sorted(found)


@pytest.mark.integration
@pytest.mark.postgres
def test_two_workers_one_killed_mid_segment(tmp_path, postgres_url, footage_dir):
    _empty_tables(postgres_url)
    redis.Redis.from_url(BROKER).flushdb()
    source = (footage_dir / CLIP).resolve()
    data_dir = tmp_path / "var"
    from service.config import Settings

    from .helpers import ADMIN_PASSWORD

    common = {"segment_s": SEGMENT_S, "split_min_s": 10.0, "job_lease_s": 3.0, "broker_url": BROKER,
              "redaction_policy": "none", "analyze_options": ANALYZE}
    settings = Settings(data_dir=data_dir, database_url=postgres_url, admin_password=ADMIN_PASSWORD,
                        runner="celery", **common)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICWATCH_") and k != "DATABASE_URL"}
    env.update({"CIVICWATCH_DATA_DIR": str(data_dir), "DATABASE_URL": postgres_url,
                "CIVICWATCH_BROKER_URL": BROKER, "CIVICWATCH_SEGMENT_S": str(SEGMENT_S),
                "CIVICWATCH_SPLIT_MIN_S": "10", "CIVICWATCH_JOB_LEASE_S": "3",
                "CIVICWATCH_REDACTION_POLICY": "none", "CIVICWATCH_ANALYZE_OPTIONS": json.dumps(ANALYZE)})
    app = create_app(settings)
    main, e = start_env(app, settings)  # migrates the database the workers use
    ports = [free_port(), free_port()]
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [_worker(env, ports[0], logs[0]), _worker(env, ports[1], logs[1])]
    engine = create_engine(normalize_url(postgres_url))
    try:
        assert e.admin.post("/api/cameras", data={"scene": SCENE}).status_code == 201
        with open(source, "rb") as fh:
            r = e.operator.post("/api/uploads", data={"camera": "nyc-zebra"},
                                files={"file": ("avenue.mp4", fh, "video/mp4")})
        assert r.status_code == 201, r.text
        job_id = r.json()["job_id"]

        # SIGKILL worker A once it is well into a segment
        victim = workers[0]
        deadline = time.monotonic() + 120
        killed = None
        while killed is None:
            assert time.monotonic() < deadline, f"worker A never ran a segment: {logs[0].read_text()[-3000:]}"
            assert victim.poll() is None, logs[0].read_text()[-3000:]
            with Session(engine) as db:
                for seg in db.scalars(select(JobSegment).where(JobSegment.job_id == job_id)):
                    if seg.state == "running" and f":{victim.pid}:" in (seg.lease_owner or "") and seg.progress >= 25:
                        killed = seg.id
            time.sleep(0.1)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)

        deadline = time.monotonic() + 240
        while True:
            job = e.operator.get(f"/api/jobs/{job_id}").json()
            if job["state"] in ("done", "failed", "cancelled"):
                break
            assert time.monotonic() < deadline, f"job stuck: {job}; B: {logs[1].read_text()[-3000:]}"
            assert workers[1].poll() is None, logs[1].read_text()[-3000:]
            time.sleep(0.5)
        assert job["state"] == "done", job

        with Session(engine) as db:
            segs = list(db.scalars(select(JobSegment).where(JobSegment.job_id == job_id).order_by(JobSegment.index)))
            spans = [(s.span_from_s, s.span_to_s) for s in segs]
            assert len(segs) == 4 and all(s.state == "done" for s in segs)
            retried = next(s for s in segs if s.id == killed)
            assert retried.attempts == 2  # the killed try counted, the other worker's finished it
            cases = list(db.scalars(select(Case).where(Case.job_id == job_id)))
            assert db.get(Job, job_id).cases_found == len(cases)
        assert len({c.dedup_key for c in cases}) == len(cases), "a case written twice"
        pool = sorted(_identity(c.data) for c in cases)

        assert 'civicwatch_job_segments{state="done"} 4.0' in e.anon.get("/metrics").text  # the service's view
        metrics = httpx.get(f"http://127.0.0.1:{ports[1]}/metrics", timeout=10).text
        assert 'civicwatch_worker_segments_total{outcome="done"' in metrics
        assert "civicwatch_worker_speed_ratio" in metrics and 'civicwatch_queue_depth{where="segments"} 0.0' in metrics

        scene_file = tmp_path / "scene.yaml"
        scene_file.write_text(SCENE, encoding="utf-8")
        reference = _single_process(source, scene_file, spans, tmp_path / "single")
        assert reference, "the reference run found no case: the clip proves nothing"
        assert pool == reference
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(20)
            except subprocess.TimeoutExpired:
                w.kill()
        main.__exit__(None, None, None)
        engine.dispose()
