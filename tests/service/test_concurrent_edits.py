"""Two people changing one row at the same moment, through the real routes on both databases.

The service answers on a thread pool, so two administrators saving one camera (or one saving
twice: a double click) run the same route side by side. A barrier inside the route holds both
requests at the point where each has read the row and decided it may go on; the test then checks
that exactly one change lands and the other is told so (409), never a 500 and never a change that
silently undoes the other's.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from service.jobs import NullRunner
from service.main import create_app
from service.models import Case
from service.publication import prepare_published

from .conftest import seed_cases, start_env, upload_clip
from .helpers import ADMIN_PASSWORD, PASSWORD, SCENE_YAML, SHORT_CLIP, login


def _both_past(monkeypatch, module, name: str) -> None:
    """Make ``module.name`` wait, after running, until two requests have run it."""
    both = threading.Barrier(2, timeout=20)
    original = getattr(module, name)

    def together(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        out = original(*args, **kwargs)
        both.wait()
        return out

    monkeypatch.setattr(module, name, together)


def test_two_editors_saving_one_camera_at_once_one_is_refused(env, camera, monkeypatch):
    """Admin A moves the crossing while admin B, who opened the same version, sets the time zone.
    B's document was read before A's save: storing it as the next version would drop A's crossing
    without a word (or, when both numbered it alike, the unique key answered 500)."""
    from service.api import cameras

    _both_past(monkeypatch, cameras, "_check_base")
    other = login(env.app, "admin", ADMIN_PASSWORD)
    moved = camera["scene_yaml"].replace("[[0, 430], [960, 430]", "[[0, 400], [960, 400]")
    edits = [(env.admin, {"scene_yaml": moved}), (other, {"timezone": "Asia/Urumqi"})]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda e: e[0].patch("/api/cameras/bj-overpass", json=e[1]), edits))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409], [r.text for r in answers]
    refused = next(r for r in answers if r.status_code == 409).json()
    assert refused["code"] == "scene_version_conflict"
    saved = next(r for r in answers if r.status_code == 200).json()
    now = env.admin.get("/api/cameras/bj-overpass").json()
    assert now["scene_version"] == saved["scene_version"] == 2 and now["scene_yaml"] == saved["scene_yaml"]
    listed = env.admin.get("/api/cameras/bj-overpass/versions").json()
    assert [v["version"] for v in listed["items"]] == [2, 1]
    log = env.admin.get("/api/audit", params={"action": "camera.update"}).json()["items"]
    assert len(log) == 1  # the refused edit left no entry


def test_an_edit_overtaken_by_another_save_is_refused_not_stacked_on_top(env, camera, monkeypatch):
    """B reads the camera (version 1) and is slow; A saves version 2 meanwhile. B's document, built
    on version 1, must not become version 3: that silently undid A's moved crossing."""
    from service.api import cameras

    b_has_read, a_is_done = threading.Event(), threading.Event()
    check_base, calls = cameras._check_base, []

    def slow_for_b(cam, base_version):  # noqa: ANN001, ANN202
        check_base(cam, base_version)
        calls.append(cam.id)
        if len(calls) == 1:  # B's request (sent first; A's is sent once B is held here)
            b_has_read.set()
            assert a_is_done.wait(20)

    monkeypatch.setattr(cameras, "_check_base", slow_for_b)
    other = login(env.app, "admin", ADMIN_PASSWORD)
    moved = camera["scene_yaml"].replace("[[0, 430], [960, 430]", "[[0, 400], [960, 400]")
    with ThreadPoolExecutor(1) as pool:
        b = pool.submit(other.patch, "/api/cameras/bj-overpass", json={"timezone": "Asia/Urumqi"})
        assert b_has_read.wait(20)
        a = env.admin.patch("/api/cameras/bj-overpass", json={"scene_yaml": moved})
        a_is_done.set()
        b = b.result()
    assert a.status_code == 200 and a.json()["scene_version"] == 2, a.text
    assert b.status_code == 409 and b.json()["code"] == "scene_version_conflict" and b.json()["scene_version"] == 2
    now = env.admin.get("/api/cameras/bj-overpass").json()
    assert now["scene_version"] == 2 and now["zones"][1]["polygon"][0] == [0, 400]


def test_a_burst_of_parallel_guesses_at_one_account_gets_no_more_than_the_limit(env, monkeypatch):
    """The limit counts failures already written to the audit log; guesses sent in parallel were
    all counted before any had failed (argon2 takes most of a second per guess), so an attacker
    got as many tries per window as the service had threads, not ``login_max_failures``."""
    from service import login_throttle

    env.settings.trust_forwarded_for = True  # each guess from its own address: only the name counts
    env.settings.login_max_failures = 2
    guesses = 4
    checked, all_checked = [], threading.Event()
    retry_after = login_throttle.retry_after

    def counted_together(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        wait = retry_after(*args, **kwargs)
        checked.append(wait)
        if len(checked) == guesses:
            all_checked.set()
        all_checked.wait(1.0)  # hold the first checks open until every guess is in (or a second)
        return wait

    monkeypatch.setattr(login_throttle, "retry_after", counted_together)

    def guess(i: int):  # noqa: ANN202
        return env.anon.post(
            "/api/auth/login",
            json={"username": "rita", "password": f"guess-{i}"},
            headers={"X-Forwarded-For": f"10.9.0.{i}"},
        ).status_code

    with ThreadPoolExecutor(guesses) as pool:
        codes = sorted(pool.map(guess, range(guesses)))
    assert codes == [401, 401, 429, 429]


def _job_moves_after_cancel_reads_it(monkeypatch, env, job_id: int, **values) -> None:
    """Between the cancel request's read of the job and its write, the worker moves the job on
    (claims it, or finishes it), as the job thread does on its own schedule."""
    from service.api import jobs as job_routes
    from service.db import session_scope
    from service.models import Job

    read = job_routes._job

    def read_then_worker_moves(db, jid, who):  # noqa: ANN001, ANN202
        job = read(db, jid, who)
        with session_scope(env.app.state.session_factory) as other:
            row = other.get(Job, job_id)
            for key, value in values.items():
                setattr(row, key, value)
        return job

    monkeypatch.setattr(job_routes, "_job", read_then_worker_moves)


def test_cancel_as_the_job_finishes_is_refused_not_recorded_on_a_done_job(env, camera, footage_dir, monkeypatch):
    """The operator clicks Cancel as the analysis ends: the job is done. Cancelling answered 200 with
    the job 'running', left cancel_requested on the done job and logged a cancel that never was."""
    from service.db import session_scope
    from service.models import Job

    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    with session_scope(env.app.state.session_factory) as db:
        db.get(Job, job_id).state = "running"
    _job_moves_after_cancel_reads_it(monkeypatch, env, job_id, state="done", progress=100.0, cases_found=0)
    r = env.operator.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 409 and r.json()["state"] == "done", r.text
    job = env.operator.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done" and job["cancel_requested"] is False
    assert env.admin.get("/api/audit", params={"action": "job.cancel"}).json()["items"] == []


def test_cancel_as_the_worker_claims_the_job_asks_the_worker_to_stop(env, camera, footage_dir, monkeypatch):
    """The job was queued when read and running when written: cancelling overwrote 'running' with
    'cancelled' under the worker's feet (which went on analysing until its next check, then dropped
    its run as a lost lease, leaving its folder behind). The running job is asked to stop instead."""
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    _job_moves_after_cancel_reads_it(monkeypatch, env, job_id, state="running", lease_owner="worker-1")
    r = env.operator.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "running" and r.json()["cancel_requested"] is True
    job = env.operator.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "running" and job["cancel_requested"] is True


def test_abandoning_an_upload_session_while_it_completes_is_refused(env, camera, footage_dir, monkeypatch):
    """An uploader's client gives up (DELETE) while the server is still hashing the finished file.
    The DELETE took no lock: it removed the part file and the row under the completion, whose
    rename then failed (a 500 for a file that had fully arrived). It is now 409, and the upload
    completes."""
    import hashlib

    from service.api import uploads

    data = (footage_dir / SHORT_CLIP).read_bytes()
    sess = env.operator.post(
        "/api/uploads/sessions",
        json={
            "camera": "bj-overpass",
            "filename": "flight.mp4",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    ).json()["session_id"]
    r = env.operator.patch(
        f"/api/uploads/sessions/{sess}",
        content=data,
        headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert r.status_code == 200, r.text
    abandoned = []
    hash_file = uploads.sha256_file

    def hash_then_client_gives_up(path, chunk_size):  # noqa: ANN001, ANN202
        digest = hash_file(path, chunk_size)
        abandoned.append(env.operator.delete(f"/api/uploads/sessions/{sess}"))
        return digest

    monkeypatch.setattr(uploads, "sha256_file", hash_then_client_gives_up)
    done = env.operator.post(f"/api/uploads/sessions/{sess}/complete")
    assert abandoned[0].status_code == 409, abandoned[0].text
    assert done.status_code == 201, done.text
    assert env.operator.get(f"/api/jobs/{done.json()['job_id']}").json()["state"] == "queued"


class _RecordingQueue(NullRunner):
    """No job worker; a publication queue that records what approvals hand it."""

    def __init__(self) -> None:
        self.publisher = self
        self.queued: list[str] = []

    def enqueue(self, case_ids: list[str], *, urgent: bool = False) -> None:
        self.queued.extend(case_ids)

    def give_up(self, case_id: str) -> None:
        pass


def test_approval_keeps_the_media_the_queue_recorded_while_it_was_deciding(
    settings, footage_dir, evidence_template, fast_redaction, monkeypatch
):
    """The publication queue prepares cases in the review queue's order, so it often finishes the
    very case a reviewer is approving. Approval read the case without media, then wrote 'no media'
    over the ones the queue had just recorded: the case was made again (a minute of both cores)
    before its reviewer could publish it, and the first copy was left behind."""
    from service.api import cases as case_routes

    runner = _RecordingQueue()
    app = create_app(settings, runner=runner)
    main, env = start_env(app, settings)
    try:
        r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", SCENE_YAML.encode(), "application/x-yaml")})
        assert r.status_code == 201, r.text
        case_id = seed_cases(env, upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"], evidence_template)[0]
        integrity = case_routes._integrity_or_409

        def checked_while_the_queue_finishes(case, settings_, action):  # noqa: ANN001, ANN202
            integrity(case, settings_, action)
            assert prepare_published(app.state.session_factory, settings_, [case.id]) == 1

        monkeypatch.setattr(case_routes, "_integrity_or_409", checked_while_the_queue_finishes)
        r = env.reviewer.post(f"/api/cases/{case_id}/approve")
        assert r.status_code == 200 and r.json()["state"] == "approved", r.text
        with app.state.session_factory() as db:
            row = db.get(Case, case_id)
            assert row.published_hashes and row.published_dir, "the queue's media were wiped by the approval"
        monkeypatch.undo()
        assert env.reviewer.post(f"/api/cases/{case_id}/publish").status_code == 200
    finally:
        main.__exit__(None, None, None)


def test_two_reviewers_approving_one_case_at_once_redact_it_once(env, cases, fast_redaction, monkeypatch):
    """Without a publication queue (``runner: celery`` or ``none``) approval makes the public media
    itself, before its conditional transition. Two reviewers approving one case at once both
    redacted the whole clip (minutes of both cores each on a busy day), and the loser learnt only
    afterwards that the case was decided: one redaction, and the second reviewer's 409 without it."""
    from service import publication

    made, second_started = [], threading.Event()
    make = publication.make_published

    def counted(case, settings_, stopping=None):  # noqa: ANN001, ANN202
        made.append(case.id)
        if len(made) > 1:
            second_started.set()
        else:  # the first redaction is slow: time for the second approval to start its own
            second_started.wait(1.5)
        return make(case, settings_, stopping)

    monkeypatch.setattr(publication, "make_published", counted)
    other = login(env.app, "admin", ADMIN_PASSWORD)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post(f"/api/cases/{cases[0]}/approve"), (env.reviewer, other)))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    assert made == [cases[0]]


def test_a_retry_as_another_operator_retries_the_job_is_refused_not_run_twice(env, camera, footage_dir, monkeypatch):
    """Two operators press Retry on one failed job at once: both answered 200 and two job.retry
    entries were logged for one new run. The second is now told the job is queued already."""
    from service.db import session_scope
    from service.models import Job

    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    with session_scope(env.app.state.session_factory) as db:
        row = db.get(Job, job_id)
        row.state, row.error = "failed", "VideoOpenError: gone"
    _job_moves_after_cancel_reads_it(monkeypatch, env, job_id, state="queued", error=None)
    r = env.operator.post(f"/api/jobs/{job_id}/retry")
    assert r.status_code == 409 and r.json()["state"] == "queued", r.text
    assert env.admin.get("/api/audit", params={"action": "job.retry"}).json()["items"] == []


def test_two_reviewers_correcting_one_plate_at_once_leave_the_search_on_the_plate_in_force(
    env, camera, db_backend, monkeypatch
):
    """Two reviewers correct one car's plate at once. Rosa confirms the machine read (its key is the
    one the case holds, so her request had no key to write); Rita's correction to another plate
    commits while Rosa's request is between reading the case and writing. Rosa's correction,
    committed last, became the one in force, while the case kept Rita's key: the plate search found
    the car by a plate no longer in force and not by the one in force, and the audit named as the
    plate Rosa's correction replaced the one she had read, not Rita's. Now the case's row is held
    for the correction (PostgreSQL: a row lock; SQLite, which has none: the write lock taken
    before the read), so Rita's request waits until Rosa's commits, then corrects on top of it."""
    from sqlalchemy import text

    from service.api import plates

    from .test_plate_search import found, ingest

    (car,) = ingest(env, camera["camera_id"], [("京A12345", 1.0)])
    r = env.admin.post("/api/users", json={"username": "rosa", "password": PASSWORD, "role": "reviewer"})
    assert r.status_code == 201, r.text
    rosa = login(env.app, "rosa", PASSWORD)
    rosa_has_read, go_on = threading.Event(), threading.Event()
    check, calls = plates.check_correction, []

    def held_for_rosa(plate, allow_invalid_format):  # noqa: ANN001, ANN202 - after the route has read the case
        calls.append(plate)
        if len(calls) == 1:  # Rosa's request, sent first; Rita's is sent once Rosa's is held here
            rosa_has_read.set()
            assert go_on.wait(20)
        return check(plate, allow_invalid_format)

    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = :t")

    def rita_waits_on_a_row_lock() -> bool:
        if db_backend != "postgresql":
            # SQLite cannot say who waits: Rita's request has not reached the plate check a second
            # after it was sent (it ran through in milliseconds when nothing held it)
            return time.monotonic() - sent > 1.0 and len(calls) == 1
        with env.app.state.engine.connect() as conn:
            return bool(conn.scalar(waiting, {"t": "Lock"}))

    monkeypatch.setattr(plates, "check_correction", held_for_rosa)
    url = f"/api/cases/{car}/plate"
    with ThreadPoolExecutor(2) as pool:
        confirmed = pool.submit(rosa.post, url, json={"text": "京A12345", "reason": "the read is right: the close-up"})
        assert rosa_has_read.wait(20)
        sent = time.monotonic()
        corrected = pool.submit(env.reviewer.post, url, json={"text": "京E54321", "reason": "the 1 is an E"})
        # Rita's correction runs to its commit (no lock held: the old code, SQLite) or waits for
        # Rosa's row lock (PostgreSQL); either way Rosa's request goes on only then
        deadline = time.monotonic() + 20
        while not corrected.done() and not rita_waits_on_a_row_lock():
            assert time.monotonic() < deadline, "Rita's correction neither finished nor waited for the row"
            time.sleep(0.02)
        go_on.set()
        answers = [confirmed.result(), corrected.result()]
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    plate = env.reviewer.get(f"/api/cases/{car}").json()["plate"]
    assert plate["correction"]["corrections"] == 2
    in_force, other = plate["text"], ({"京A12345", "京E54321"} - {plate["text"]}).pop()
    assert found(env, plate=in_force) == ([car], 1), f"{in_force} is in force, the search does not find it"
    assert found(env, plate=other) == ([], 0), f"{other} is no longer in force, the search still finds it"
    # the second correction was made on top of the first: its entry names the first's plate as the
    # one it replaced (before, on SQLite, Rosa's, committed second, named the machine's read)
    log = env.admin.get("/api/audit", params={"action": "case.plate"}).json()["items"]
    first, second = sorted(log, key=lambda e: e["id"])
    assert second["details"]["previous"] == first["details"]["text"], log
