"""The janitor never takes a data folder's evidence for orphans because the database it was started
against does not know it: DATABASE_URL switched from the embedded SQLite to an empty PostgreSQL
database (or a mistyped database name, an older database restored) removed, at the first sweep,
the run folder of every case the real database holds, reviewed and published ones included."""

from __future__ import annotations

import logging
import os
import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.db import make_engine, make_session_factory
from service.janitor import sweep
from service.main import create_app
from service.models import Camera, Case, Job, Upload

OLD = time.time() - 3 * 24 * 3600


def _age_tree(path) -> None:
    for p in [path, *path.rglob("*")]:
        os.utime(p, (OLD, OLD))


def test_runs_of_another_database_are_kept(env, cases, fast_redaction, tmp_path, caplog):
    factory = env.app.state.session_factory
    with factory() as db:
        run_dirs = sorted({env.data_dir / c.out_dir for c in db.scalars(select(Case))})
    assert env.reviewer.post(f"/api/cases/{cases[0]}/approve").status_code == 200
    # the same data folder, now started against a database of its own: nothing there knows these runs
    other = env.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    for run in run_dirs:
        _age_tree(run)  # made days ago, long past orphan_run_age_s
    with caplog.at_level(logging.WARNING, logger="service.janitor"), TestClient(create_app(other)):
        pass  # the janitor sweeps at start-up
    assert all(run.is_dir() and any(run.rglob("*.mp4")) for run in run_dirs)
    assert "no job of this database" in caplog.text

    # jobs of the same numbers made later in the other database: the old runs were made before them
    engine = make_engine(other)
    try:
        other_factory = make_session_factory(engine)
        with other_factory() as db:
            db.add(Camera(id="cam", kind="fixed", timezone="UTC", scene_yaml="camera: cam"))
            for job_id in sorted({int(run.parent.name) for run in run_dirs}):
                up = Upload(
                    path=f"uploads/{job_id}.mp4", filename="x.mp4", sha256=f"{job_id:064d}", size=1, camera_id="cam"
                )
                db.add(up)
                db.flush()
                db.add(Job(id=job_id, upload_id=up.id, state="failed"))
            db.commit()
        assert sweep(other_factory, other).removed == []
    finally:
        engine.dispose()
    assert all(run.is_dir() for run in run_dirs)
    for case_id in cases:  # and the real database still finds every case's evidence whole
        assert env.reviewer.get(f"/api/cases/{case_id}").json()["integrity"]["ok"]
