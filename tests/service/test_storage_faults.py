"""Orphaned files and a full disk (issue 8, items 4 and 16): the janitor removes what crashed or
abandoned work left, never what a case, job or live upload uses; a full disk is reported as 507
(and a dead database as 503) with a message in both languages, and ``/healthz`` sees both."""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.janitor import sweep
from service.models import Job, UploadSession, utcnow

from .helpers import SHORT_CLIP, sha256

OLD = time.time() - 30 * 24 * 3600


def _age(path, when=OLD) -> None:
    os.utime(path, (when, when))


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


class FullDiskFile:
    """A file whose writes fail as on a full disk (what the kernel answers, not a guess)."""

    def __init__(self, real):
        self._real = real

    def write(self, data):  # noqa: ANN001
        _enospc()

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()


def _full_disk_open(path, mode="r", *args, **kwargs):  # noqa: ANN001
    real = open(path, mode, *args, **kwargs)
    return FullDiskFile(real) if any(c in mode for c in "wa") else real


def _assert_storage_full(r) -> None:
    assert r.status_code == 507, r.text
    body = r.json()
    assert body["code"] == "storage_full" and "storage is full" in body["detail"] and "存储空间已满" in body["detail"]


# ---- 4. orphans --------------------------------------------------------------------------------

def test_two_file_parts_leave_no_part_file(env, camera, footage_dir):
    data = (footage_dir / SHORT_CLIP).read_bytes()
    r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"},
                          files=[("file", ("a.mp4", data, "video/mp4")), ("file", ("b.mp4", data, "video/mp4"))])
    assert r.status_code == 422 and "more than once" in r.json()["detail"]
    assert list(env.settings.partial_dir.iterdir()) == []
    assert list(env.settings.uploads_dir.rglob("*.mp4")) == []


def test_janitor_removes_stale_parts_and_abandoned_sessions_only(env, camera):
    partial = env.settings.partial_dir
    stale, fresh = partial / "form-dead.part", partial / "form-live.part"
    for p in (stale, fresh):
        p.write_bytes(b"half an upload")
    _age(stale)
    accepting = partial / "session-abc.accepting"
    accepting.write_bytes(b"x")
    _age(accepting)

    body = {"camera": "bj-overpass", "filename": "f.mp4", "size": 10, "sha256": sha256(b"0123456789")}
    old = env.operator.post("/api/uploads/sessions", json=body).json()["session_id"]
    live = env.operator.post("/api/uploads/sessions", json={**body, "sha256": sha256(b"abcdefghij")}).json()["session_id"]
    chunk = {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert env.operator.patch(f"/api/uploads/sessions/{old}", content=b"01234", headers=chunk).status_code == 200
    factory = env.app.state.session_factory
    with factory() as db:  # nobody touched `old` for a month; `live` is old too but got bytes just now
        db.execute(update(UploadSession).values(updated_at=utcnow() - timedelta(days=30)))
        db.commit()
    _age(partial / f"session-{old}.part")

    report = sweep(factory, env.settings)
    assert report.sessions_expired == [old]
    assert not stale.exists() and not accepting.exists() and fresh.exists()
    assert not (partial / f"session-{old}.part").exists() and (partial / f"session-{live}.part").exists()
    assert env.operator.get(f"/api/uploads/sessions/{old}").status_code == 404
    assert env.operator.get(f"/api/uploads/sessions/{live}").status_code == 200


def test_janitor_keeps_run_folders_that_jobs_or_cases_use(env, cases):
    factory = env.app.state.session_factory
    with factory() as db:
        job = db.get(Job, db.scalar(select(Job.id)))
        job_dir = env.data_dir / "jobs" / str(job.id)
        # the cases stay in run-1 (a reviewer may have judged them there); the job re-ran as run-3;
        # the job made before its aged runs (the janitor keeps a run older than its job: not its own)
        db.execute(update(Job).where(Job.id == job.id).values(
            out_dir=f"jobs/{job.id}/run-3", created_at=utcnow() - timedelta(seconds=time.time() - OLD + 3600)))
        db.commit()
    for name in ("run-2", "run-3", "run-4"):
        (job_dir / name).mkdir()
        (job_dir / name / "cases.json").write_text("[]")
    (job_dir / "run-2.scene.yaml").write_text("camera: x")
    # a split job's segment: a failed try (seg-001-run-1) and the segment's scene copy, which every
    # try reads; before, segment runs on local disk were never swept, so failed tries stayed for good
    (job_dir / "seg-001-run-1").mkdir()
    (job_dir / "seg-001-run-1" / "cases.json").write_text("[]")
    (job_dir / "seg-001.scene.yaml").write_text("camera: x")
    for p in (job_dir / "run-1", job_dir / "run-2", job_dir / "run-2.scene.yaml", job_dir / "run-3",
              job_dir / "seg-001-run-1", job_dir / "seg-001.scene.yaml"):
        _age(p)
    # run-2: a crashed attempt (old, unreferenced); run-4: unreferenced but young (maybe starting)
    report = sweep(factory, env.settings)
    assert sorted(report.removed) == [f"jobs/{job.id}/run-2", f"jobs/{job.id}/run-2.scene.yaml",
                                      f"jobs/{job.id}/seg-001-run-1"]
    assert (job_dir / "run-1").is_dir() and (job_dir / "run-3").is_dir() and (job_dir / "run-4").is_dir()
    assert (job_dir / "seg-001.scene.yaml").is_file()
    for case_id in cases:
        detail = env.reviewer.get(f"/api/cases/{case_id}").json()
        assert detail["integrity"]["ok"], detail["integrity"]


def test_janitor_runs_at_start_up(settings, tmp_path):
    from fastapi.testclient import TestClient

    from service.main import create_app

    settings.partial_dir.mkdir(parents=True)
    left = settings.partial_dir / "form-killed.part"  # a single-request upload whose process was killed
    left.write_bytes(b"x" * 100)
    _age(left)
    with TestClient(create_app(settings)):
        assert not left.exists()


# ---- 16. full disk ---------------------------------------------------------------------------

def test_full_disk_on_a_chunk_is_507(env, camera, monkeypatch):
    import service.api.uploads as uploads

    body = {"camera": "bj-overpass", "filename": "f.mp4", "size": 10, "sha256": sha256(b"0123456789")}
    sid = env.operator.post("/api/uploads/sessions", json=body).json()["session_id"]
    monkeypatch.setattr(uploads, "open", _full_disk_open, raising=False)
    r = env.operator.patch(f"/api/uploads/sessions/{sid}", content=b"01234",
                           headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    _assert_storage_full(r)
    assert r.headers["retry-after"] == "60"


def test_full_disk_on_a_single_request_upload_is_507_not_the_clients_400(env, camera, footage_dir, monkeypatch):
    import service.multipart_stream as multipart_stream

    monkeypatch.setattr(multipart_stream, "open", _full_disk_open, raising=False)
    with open(footage_dir / SHORT_CLIP, "rb") as fh:
        r = env.operator.post("/api/uploads", data={"camera": "bj-overpass"}, files={"file": ("a.mp4", fh, "video/mp4")})
    _assert_storage_full(r)
    assert list(env.settings.partial_dir.iterdir()) == []


def _db_error(message: str):
    def commit(self):  # noqa: ANN001
        raise OperationalError("INSERT INTO ...", {}, sqlite3.OperationalError(message))
    return commit


def test_full_database_disk_on_login_and_approve_is_507(env, cases, fast_redaction, monkeypatch):
    monkeypatch.setattr(Session, "commit", _db_error("database or disk is full"))
    r = env.anon.post("/api/auth/login", json={"username": "rita", "password": "whatever-it-is"})
    assert r.status_code in (401, 507)  # a wrong password writes nothing
    from .helpers import PASSWORD

    _assert_storage_full(env.anon.post("/api/auth/login", json={"username": "rita", "password": PASSWORD}))
    _assert_storage_full(env.reviewer.post(f"/api/cases/{cases[0]}/approve"))


def test_unreachable_database_is_503(env, cases, monkeypatch):
    monkeypatch.setattr(Session, "commit", _db_error("could not connect to server: Connection refused"))
    r = env.reviewer.post(f"/api/cases/{cases[0]}/reject", json={"reason": "not an offence"})
    assert r.status_code == 503 and r.json()["code"] == "db_unavailable", r.text


def _session_with_every_byte(env, data: bytes) -> str:  # noqa: ANN001
    """A resumable session of ``data`` that has received all of it, not yet completed."""
    body = {"camera": "bj-overpass", "filename": "f.mp4", "size": len(data), "sha256": sha256(data)}
    sid = env.operator.post("/api/uploads/sessions", json=body).json()["session_id"]
    r = env.operator.patch(f"/api/uploads/sessions/{sid}", content=data,
                           headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.json()["offset"] == len(data)
    return sid


def test_a_fault_while_completing_a_resumable_upload_keeps_what_it_received(env, camera, footage_dir, monkeypatch):
    """Completing moves the session's part file aside before the checks that need the database;
    a fault there (503) left the session open with its part file gone (offset 0): a drone's
    multi-GB transfer to send again. The file goes back: the same session completes once the
    database answers."""
    import service.api.uploads as uploads

    data = (footage_dir / SHORT_CLIP).read_bytes()
    sid = _session_with_every_byte(env, data)

    def unreachable(db, sha):  # noqa: ANN001
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("could not connect to server"))

    with monkeypatch.context() as m:
        m.setattr(uploads, "_existing", unreachable)
        r = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert r.status_code == 503 and r.json()["code"] == "db_unavailable", r.text
    assert env.operator.get(f"/api/uploads/sessions/{sid}").json()["offset"] == len(data)
    assert [p.name for p in env.settings.partial_dir.iterdir()] == [f"session-{sid}.part"]
    r = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert r.status_code == 201 and r.json()["sha256"] == sha256(data), r.text



def test_a_database_fault_after_the_file_is_moved_in_keeps_what_the_session_received(env, camera, footage_dir,
                                                                                    monkeypatch):
    """A fault once the file was moved into uploads/ (the database unreachable at the commit that
    records the upload) left the session open with its part file gone (offset 0: the whole flight
    to send again) and the file in uploads/ named by no upload. The file goes back to the session,
    which completes once the database answers."""
    data = (footage_dir / SHORT_CLIP).read_bytes()
    sid = _session_with_every_byte(env, data)

    with monkeypatch.context() as m:
        m.setattr(Session, "commit", _db_error("could not connect to server: Connection refused"))
        r = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert r.status_code == 503 and r.json()["code"] == "db_unavailable", r.text
    assert env.operator.get(f"/api/uploads/sessions/{sid}").json()["offset"] == len(data)
    assert [p.name for p in env.settings.partial_dir.iterdir()] == [f"session-{sid}.part"]
    assert [p for p in env.settings.uploads_dir.rglob("*") if p.is_file()] == []
    r = env.operator.post(f"/api/uploads/sessions/{sid}/complete")
    assert r.status_code == 201 and r.json()["sha256"] == sha256(data), r.text


def test_healthz_reports_low_disk(settings):
    from fastapi.testclient import TestClient

    from service.main import create_app

    low = settings.model_copy(update={"min_free_disk_bytes": 1 << 62})  # more than any disk has
    with TestClient(create_app(low)) as c:
        r = c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["disk"] == "low" and r.json()["db"] == "ok" and r.json()["disk_free_bytes"] > 0
    with TestClient(create_app(settings)) as c:
        assert c.get("/healthz").json()["disk"] == "ok"


@pytest.mark.parametrize("err", [OSError(errno.ENOSPC, "No space left on device"),
                                 OperationalError("x", {}, sqlite3.OperationalError("database or disk is full"))])
def test_disk_full_is_recognised(err):
    from service.faults import classify

    assert classify(err)[:2] == (507, "storage_full")
    assert classify(ValueError("no")) is None
