"""Live cameras in the service: the stream URL field, segments becoming jobs analysed inside their
windows, camera health and metrics, and retention that never touches case evidence.

Segments are made by the real recorder reading a real file (PyAV opens it like a stream, only
faster than real time): the aerial lot clip has a keyframe every 4.8 s, so 5 s segments are
9.6 s long and the 30 s clip gives four, the last (1.4 s) ended by the stream's end.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from detector.media.recorder import Recorder, RecorderConfig
from service.live import retention
from service.live import segments as live
from service.models import Job, LiveSegment, Upload, utcnow

CLIP = "aerial-parking-lot/car-detection.mp4"


def _record_file(env, camera_id: str, source) -> list:
    factory, settings = env.app.state.session_factory, env.settings
    stop, done = threading.Event(), []

    def on_segment(segment):
        live.register_segment(factory, settings, camera_id, segment, "run1")
        live.schedule(factory, settings, camera_id)
        done.append(segment)
        if segment.ended_by != "length":
            stop.set()  # the file ended: do not read it again

    recorder = Recorder(RecorderConfig(str(source), live.segments_dir(settings, camera_id), segment_s=5.0),
                        on_segment=on_segment)
    recorder.run(stop)
    return done


def test_stream_url_segments_jobs_health_metrics_and_retention(env, camera, footage_dir):
    cam = camera["camera_id"]
    # the stream URL: admins set it, the password never comes back, nonsense is refused
    assert env.operator.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://x/y"}).status_code == 403
    bad = env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "file:///etc/passwd"})
    assert bad.status_code == 422, bad.text
    r = env.admin.put(f"/api/cameras/{cam}/stream", json={"stream_url": "rtsp://op:s3cret@10.0.0.7:554/main"})
    assert r.status_code == 200, r.text
    assert env.reviewer.get(f"/api/cameras/{cam}").json()["stream_url"] == "rtsp://op:***@10.0.0.7:554/main"

    segments = _record_file(env, cam, footage_dir / CLIP)
    assert [round(s.duration_s, 2) for s in segments[:3]] == [9.6, 9.6, 9.6] and segments[3].duration_s < 2
    assert [s.ended_by for s in segments] == ["length", "length", "length", "drop"]
    factory = env.app.state.session_factory
    with factory() as db:
        rows = db.scalars(select(LiveSegment).order_by(LiveSegment.start_at)).all()
        assert len(rows) == 4 and all(r.job_id for r in rows)  # the last: its connection ended
        for k, row in enumerate(rows):
            job = db.get(Job, row.job_id)
            upload = db.get(Upload, job.upload_id)
            assert job.state == "queued" and upload.camera_id == cam
            # the window: enough segments before for the scene's pre-roll (7.4 s: one), the
            # segment, the one after; the span is the segment's own place in it
            first = max(0, k - 1)
            assert upload.started_at == rows[first].start_at  # case clocks count from here
            assert abs(row.span_from_s - sum(r.duration_s for r in rows[first:k])) < 1e-6
            assert abs((row.span_to_s - row.span_from_s) - row.duration_s) < 1e-6
            assert abs(upload.duration_s - sum(r.duration_s for r in rows[first:k + 2])) < 1e-6
        paths = [(env.data_dir / r.path, env.data_dir / r.window_path) for r in rows]
        job_ids = [r.job_id for r in rows]

    # health and metrics: four segments, no heartbeat yet = offline
    health = {h["camera_id"]: h for h in env.operator.get("/api/live/health").json()}
    h = health[cam]
    assert h["segments"] == 4 and h["online"] is False and h["last_segment"] == segments[-1].path.name
    assert h["analysis_lag_s"] is None  # nothing analysed yet
    live.heartbeat(factory, cam, True, utcnow(), None, "test-host")
    assert {x["camera_id"]: x for x in env.operator.get("/api/live/health").json()}[cam]["online"] is True
    metrics = env.anon.get("/metrics").text
    assert f'civicwatch_live_segments_total{{camera="{cam}"}} 4.0' in metrics
    assert f'civicwatch_live_online{{camera="{cam}"}} 1.0' in metrics

    # retention: nothing goes while its job is queued; then oldest first down to the budget; a
    # case's evidence (in its job's run folder) is never touched
    evidence = env.data_dir / f"jobs/{job_ids[0]}/run-1/cases/c1/clip.mp4"
    evidence.parent.mkdir(parents=True)
    evidence.write_bytes(b"evidence")
    settings = env.settings.model_copy(update={"live_disk_budget_bytes": 1})
    assert retention.sweep(factory, settings).deleted == []
    with factory() as db:
        for job in db.scalars(select(Job).where(Job.id.in_(job_ids))):
            job.state = "done"
        db.commit()
    keep = sum(p.stat().st_size + w.stat().st_size for p, w in paths[2:])
    settings = env.settings.model_copy(update={"live_disk_budget_bytes": keep})
    report = retention.sweep(factory, settings)
    assert [p.name for p in map(lambda r: env.data_dir / r, report.deleted)] == [paths[0][0].name, paths[1][0].name]
    assert not paths[0][0].exists() and not paths[0][1].exists() and paths[2][0].exists()
    report = retention.sweep(factory, env.settings, now=utcnow() + timedelta(days=8))  # past 7 days
    assert len(report.deleted) == 2 and not any(p.exists() or w.exists() for p, w in paths)
    assert evidence.read_bytes() == b"evidence"
    assert env.operator.get("/api/live/health").json()[0]["segments"] == 4  # the history stays
