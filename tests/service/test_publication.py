"""Publication is its own step: approved cases stay off the screens until a reviewer previews and
publishes them; screens get only their own share, only intact media, and pair by cookie, never
by a token in the URL."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from service.api.public import SINCE_OVERLAP_S
from service.jobs import NullRunner
from service.main import create_app
from service.models import Case
from service.publication import prepare_published

from .conftest import seed_cases, start_env, upload_clip
from .helpers import SCENE_YAML, SHORT_CLIP, bearer, sha256

NUMBER = re.compile(r"^\d{8}-\d{4}$")


def _approve(env, case_id: str) -> None:
    r = env.reviewer.post(f"/api/cases/{case_id}/approve")
    assert r.status_code == 200, r.text


def test_preview_is_the_public_record_and_publish_is_separate(env, cases, fast_redaction):
    a, b = cases
    _approve(env, a)
    assert env.display.get("/api/public/cases").json()["items"] == []  # approved is not public
    assert env.reviewer.get(f"/api/public/preview/{b}").status_code == 404  # pending: nothing to preview

    pv = env.reviewer.get(f"/api/public/preview/{a}")
    assert pv.status_code == 200, pv.text
    pv = pv.json()
    record = pv["record"]
    assert record["number"] is None  # given on publishing, not by a preview
    assert record["place"] == "北京 立交桥 (test)" and record["rule"] and record["offender_marked"] is True
    # nothing internal reaches the public: no case id, zone key, track numbers or pipeline text
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    text = json.dumps(record)
    assert "/media/" in text
    public_fields = json.dumps({k: v for k, v in record.items() if k != "media"})
    for internal in (a, detail["zone"], detail["explanation"], detail["camera_id"], "track"):
        assert internal not in public_fields, internal
    # the preview media are the exact files that will be published
    video = env.reviewer.get(record["media"]["video"])
    assert video.status_code == 200 and sha256(video.content) == pv["media_sha256"]["published.mp4"]
    assert pv["screens"] == ["lobby"] and pv["integrity_problems"] == []
    # a display token cannot reach an approved case's media by its id
    assert env.display.get(f"/api/public/cases/{a}/media/video").status_code == 404

    stale = env.reviewer.post(f"/api/cases/{a}/publish", json={"media_sha256": {"published.mp4": "0" * 64}})
    assert stale.status_code == 409 and env.reviewer.get(f"/api/cases/{a}").json()["state"] == "approved"
    r = env.reviewer.post(f"/api/cases/{a}/publish", json={"media_sha256": pv["media_sha256"]})
    assert r.status_code == 200, r.text
    number = env.reviewer.get(f"/api/cases/{a}").json()["public_number"]
    assert NUMBER.match(number) and number.startswith("20240501-")  # the offence's local day
    assert env.reviewer.get(f"/api/public/preview/{a}").json()["record"]["number"] == number  # numbered once
    feed = env.display.get("/api/public/cases").json()["items"]
    assert [c["number"] for c in feed] == [number]
    record = feed[0]
    assert env.display.get(feed[0]["media"]["video"]).content == video.content
    for key in ("id", "zone", "explanation", "camera", "track_ids"):
        assert key not in feed[0]

    # the day's next case gets the next number
    _approve(env, b)
    assert env.reviewer.post(f"/api/cases/{b}/publish").status_code == 200
    numbers = sorted(c["number"] for c in env.display.get("/api/public/cases").json()["items"])
    assert numbers == [record["number"], record["number"][:-4] + f"{int(record['number'][-4:]) + 1:04d}"]

    # withdrawal takes it off at the next poll
    assert env.reviewer.post(f"/api/cases/{a}/withdraw", json={"reason": "wrong person"}).status_code == 200
    assert [c["number"] for c in env.display.get("/api/public/cases").json()["items"]] == [numbers[1]]
    assert env.display.get(feed[0]["media"]["video"]).status_code == 404


def test_a_preview_numbers_no_case(env, cases, fast_redaction):
    """``GET /api/public/preview`` gave an approved case its public number as a side effect: a
    case previewed and then withdrawn or never published used up a number of its day, and the
    published ones had gaps. Only publishing numbers a case; the preview shows none."""
    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)
    for _ in range(2):
        pv = env.reviewer.get(f"/api/public/preview/{a}")
        assert pv.status_code == 200, pv.text
        assert pv.json()["record"]["number"] is None
    assert env.reviewer.get(f"/api/cases/{a}").json()["public_number"] is None
    # the case published first gets the day's first number, though the other was previewed before
    assert env.reviewer.post(f"/api/cases/{b}/publish").status_code == 200
    assert env.reviewer.get(f"/api/cases/{b}").json()["public_number"].endswith("-0001")
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    assert env.reviewer.get(f"/api/cases/{a}").json()["public_number"].endswith("-0002")


def test_bound_token_always_gets_its_own_screen_and_share(env, cases, fast_redaction):
    a, b = cases
    for c in cases:
        _approve(env, c)
    assert env.reviewer.post(f"/api/cases/{a}/publish", json={"screens": ["hall"]}).status_code == 200
    assert env.reviewer.post(f"/api/cases/{b}/publish").status_code == 200  # every screen
    num_a = env.reviewer.get(f"/api/cases/{a}").json()["public_number"]
    num_b = env.reviewer.get(f"/api/cases/{b}").json()["public_number"]

    # the lobby token, with or without naming its screen, gets the lobby's feed
    for params in ({}, {"screen": "lobby"}):
        answer = env.display.get("/api/public/cases", params=params).json()
        assert answer["screen"] == "lobby" and [c["number"] for c in answer["items"]] == [num_b], params
    assert env.display.get("/api/public/cases", params={"screen": "hall"}).status_code == 403
    assert env.display.get(f"/api/public/cases/{num_a}/media/image").status_code == 404  # not the lobby's
    assert env.display.get(f"/api/public/cases/{num_b}/media/image").status_code == 200

    hall = bearer(env.app, env.admin.post("/api/tokens", json={"name": "hall", "role": "display", "screen": "hall"}).json()["token"])
    assert {c["number"] for c in hall.get("/api/public/cases").json()["items"]} == {num_a, num_b}
    assert hall.get(f"/api/public/cases/{num_a}/media/image").status_code == 200

    # an unbound display token sees only what is shown everywhere, unless it names a screen
    anywhere = bearer(env.app, env.admin.post("/api/tokens", json={"name": "spare", "role": "display"}).json()["token"])
    assert [c["number"] for c in anywhere.get("/api/public/cases").json()["items"]] == [num_b]
    assert {c["number"] for c in anywhere.get("/api/public/cases", params={"screen": "hall"}).json()["items"]} == {num_a, num_b}
    # reviewers see everything published
    assert {c["number"] for c in env.reviewer.get("/api/public/cases").json()["items"]} == {num_a, num_b}


def test_publishing_to_no_screen_is_refused(env, cases, fast_redaction):
    """Every screen unticked: the case was numbered and public (a display token not bound to a
    screen could fetch its media by number) but shown nowhere. Refused; the case stays approved,
    unnumbered, and publishes to a screen afterwards."""
    a, _ = cases
    _approve(env, a)
    r = env.reviewer.post(f"/api/cases/{a}/publish", json={"screens": []})
    assert r.status_code == 422 and r.json()["code"] == "no_screens", r.text
    case = env.reviewer.get(f"/api/cases/{a}").json()
    assert (case["state"], case["public_number"]) == ("approved", None)
    assert env.reviewer.post(f"/api/cases/{a}/publish", json={"screens": ["hall"]}).status_code == 200


def test_replaced_published_media_are_not_served_and_leave_the_screens(env, cases, fast_redaction):
    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    item = env.display.get("/api/public/cases").json()["items"][0]
    assert env.display.get(item["media"]["video"]).status_code == 200  # hash cached now

    with env.app.state.session_factory() as db:
        published = env.data_dir / db.get(Case, a).published_dir / "published.mp4"
    original = env.data_dir / "jobs" / str(detail["job_id"]) / "run-1" / "cases" / detail["pipeline_id"] / "clip.mp4"
    keep = published.read_bytes()
    shutil.copyfile(original, published)  # the unredacted clip in place of the redacted one
    r = env.display.get(item["media"]["video"])
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"
    assert env.display.get(item["media"]["image"]).status_code == 409  # the whole case is off
    assert env.display.get("/api/public/cases").json()["items"] == []

    published.write_bytes(keep)  # put right: back on the screens
    assert [c["number"] for c in env.display.get("/api/public/cases").json()["items"]] == [item["number"]]
    assert sha256(env.display.get(item["media"]["video"]).content) == detail["published_hashes"]["published.mp4"]


def test_a_screen_refused_for_integrity_learns_no_internal_path(env, cases, fast_redaction):
    """The 409 names the failing files for reviewers only: to a screen, the evidence path would
    give away the camera, the rule, the pipeline case id and the offender's track number."""
    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    item = env.display.get("/api/public/cases").json()["items"][0]
    original = env.data_dir / "jobs" / str(detail["job_id"]) / "run-1" / "cases" / detail["pipeline_id"] / "clip.mp4"
    keep = original.read_bytes()
    original.write_bytes(keep + b"tampered")
    try:
        r = env.display.get(item["media"]["video"])
        assert r.status_code == 409 and r.json()["code"] == "integrity_failed"
        assert "problems" not in r.json()
        for internal in (detail["pipeline_id"], "clip.mp4", "cases/", "published/"):
            assert internal not in r.text, internal
        seen = env.reviewer.get(item["media"]["video"])  # the reviewer is told which file fails
        assert seen.status_code == 409 and seen.json()["problems"] == [f"cases/{detail['pipeline_id']}/clip.mp4"]
    finally:
        original.write_bytes(keep)


def test_public_record_keeps_the_time_zone_the_case_was_judged_in(env, cases, fast_redaction):
    """The camera's zone edited after the offence changes neither the case page's zone nor the
    screen's: the record's ``timezone`` is the judged scene's, matching ``start_time_local``."""
    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    r = env.admin.patch("/api/cameras/bj-overpass", json={"timezone": "Europe/London"})
    assert r.status_code == 200 and r.json()["timezone"] == "Europe/London", r.text
    assert env.reviewer.get(f"/api/cases/{a}").json()["timezone"] == "Asia/Shanghai"
    item = env.display.get("/api/public/cases").json()["items"][0]
    assert item["timezone"] == "Asia/Shanghai" and item["start_time_local"].endswith("+08:00")
    assert env.reviewer.get(f"/api/public/preview/{a}").json()["record"]["timezone"] == "Asia/Shanghai"


def test_public_record_takes_the_zone_the_case_itself_records(env, cases, fast_redaction):
    """A case from before scene versions is judged by its camera's current scene, and one whose
    scene document no longer reads takes the camera's current zone: either way the screen showed
    the offence in a zone the case was never in. The zone the pipeline wrote into the case (the one
    ``start_time_local`` is in) comes first."""
    a, b = cases
    factory = env.app.state.session_factory
    with factory() as db:
        for case_id in (a, b):
            db.get(Case, case_id).scene_version_id = None  # analysed before scene versions
        db.commit()
        assert db.get(Case, a).data["timezone"] == "Asia/Shanghai"
    r = env.admin.patch("/api/cameras/bj-overpass", json={"timezone": "Europe/London"})
    assert r.status_code == 200, r.text
    for case_id in (a, b):
        _approve(env, case_id)
        assert env.reviewer.post(f"/api/cases/{case_id}/publish").status_code == 200
    assert env.reviewer.get(f"/api/public/preview/{a}").json()["record"]["timezone"] == "Asia/Shanghai"
    for item in env.display.get("/api/public/cases").json()["items"]:
        assert item["timezone"] == "Asia/Shanghai" and item["start_time_local"].endswith("+08:00")


def test_screens_pair_with_a_strict_httponly_cookie_not_a_url(env, cases, fast_redaction):
    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    screen = TestClient(env.app)
    assert screen.get("/api/public/cases").status_code == 401
    assert screen.post("/api/public/pair", json={"token": "cwt_" + "x" * 40}).status_code == 401
    op_token = env.admin.post("/api/tokens", json={"name": "drone", "role": "operator"}).json()["token"]
    assert screen.post("/api/public/pair", json={"token": op_token}).status_code == 401  # not a display token
    assert screen.post("/api/public/pair", json={"token": env.display_token, "screen": "hall"}).status_code == 403

    r = screen.post("/api/public/pair", json={"token": env.display_token, "screen": "lobby"})
    assert r.status_code == 200 and r.json() == {"screen": "lobby", "name": "lobby screen"}
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("cw_display=") and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    answer = screen.get("/api/public/cases").json()
    assert answer["screen"] == "lobby" and len(answer["items"]) == 1
    assert screen.get(answer["items"][0]["media"]["image"]).status_code == 200
    # the cookie is a display credential only: nothing else opens with it
    assert screen.get("/api/cases").status_code == 403
    page = screen.get("/display/lobby")
    assert page.status_code == 200 and env.display_token not in page.text and "token=" not in page.text
    # the feed names the build of the pages, the one the screen's page was served from: a screen
    # of another build reloads (tests/ui/test_display_reload.py)
    from service.web.build import PAGE_BUILD_HEADER, page_build

    assert screen.get("/api/public/cases").headers[PAGE_BUILD_HEADER] == page_build()
    assert f'data-build="{page_build()}"' in page.text

    assert screen.post("/api/public/unpair").status_code == 204
    assert screen.get("/api/public/cases").status_code == 401
    screen.post("/api/public/pair", json={"token": env.display_token})
    tid = next(t["id"] for t in env.admin.get("/api/tokens").json() if t["name"] == "lobby screen")
    assert env.admin.delete(f"/api/tokens/{tid}").status_code in (200, 204)
    assert screen.get("/api/public/cases").status_code == 401  # revoked: the pairing ends


def test_a_dead_sign_in_on_a_paired_screen_does_not_hide_its_pairing(env, cases, fast_redaction):
    """Someone signed in on the kiosk's browser (to pair the screen) and the session has since
    ended: the browser still sends that cookie beside the pairing, and every poll was refused
    (401) until the dead cookie expired, re-pairing or not. An invalid session is now no
    credential, and the pairing answers; a valid one is still who the caller is."""
    from service.security import SESSION_COOKIE

    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    screen = TestClient(env.app)
    assert screen.post("/api/public/pair", json={"token": env.display_token, "screen": "lobby"}).status_code == 200
    for dead in ("no-such-session", env.reviewer.cookies.get(SESSION_COOKIE)):
        if dead != "no-such-session":
            assert env.reviewer.post("/api/auth/logout").status_code in (200, 204)  # that session ends
        screen.cookies.set(SESSION_COOKIE, dead)
        answer = screen.get("/api/public/cases")
        assert answer.status_code == 200, answer.text
        assert answer.json()["screen"] == "lobby" and len(answer.json()["items"]) == 1
        assert screen.get("/api/cases").status_code == 403  # still a display credential, nothing more
    alone = TestClient(env.app)
    alone.cookies.set(SESSION_COOKIE, "no-such-session")
    assert alone.get("/api/public/cases").status_code == 401  # and a dead session alone opens nothing


def test_a_screen_page_with_a_valid_sign_in_beside_its_pairing_shows_only_its_share(env, cases, fast_redaction):
    """Someone signed in on the kiosk's browser and left the session: every poll of the screen
    ran as that reviewer, so the lobby's screen showed the case published to the hall only (and
    got the sheet links screens never get). The screen's page now asks to be served as its pairing
    (``X-CivicWatch-Screen-Page``); other pages in the same browser keep the session."""
    from service.security import SCREEN_PAGE_HEADER, SESSION_COOKIE

    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    assert env.reviewer.post(f"/api/cases/{b}/publish", json={"screens": ["hall"]}).status_code == 200
    kiosk = TestClient(env.app)
    assert kiosk.post("/api/public/pair", json={"token": env.display_token, "screen": "lobby"}).status_code == 200
    kiosk.cookies.set(SESSION_COOKIE, env.reviewer.cookies.get(SESSION_COOKIE))  # a valid sign-in left there
    as_screen = kiosk.get("/api/public/cases", headers={SCREEN_PAGE_HEADER: "1"}).json()
    assert as_screen["screen"] == "lobby" and len(as_screen["items"]) == 1
    (item,) = as_screen["items"]
    assert item["media"]["sheet"] is None
    assert kiosk.get(item["media"]["image"], headers={SCREEN_PAGE_HEADER: "1"}).status_code == 200
    hall_case = env.reviewer.get(f"/api/cases/{b}").json()["public_number"]
    assert kiosk.get(f"/api/public/cases/{hall_case}/media/image", headers={SCREEN_PAGE_HEADER: "1"}).status_code == 404
    # the reviewer's own pages in that browser are still the reviewer's
    assert len(kiosk.get("/api/public/cases").json()["items"]) == 2
    assert kiosk.get("/api/cases").status_code == 200
    # the header without a pairing changes nothing: a signed-in reviewer looking at /display
    signed_in = TestClient(env.app)
    signed_in.cookies.set(SESSION_COOKIE, env.reviewer.cookies.get(SESSION_COOKIE))
    assert len(signed_in.get("/api/public/cases", headers={SCREEN_PAGE_HEADER: "1"}).json()["items"]) == 2


def test_tokens_are_masked_in_the_access_log(env, caplog):
    secret = env.display_token
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/display/lobby?token={secret}&lang=en", "1.1", 200)
        access.info("Authorization: Bearer %s", secret)
    assert secret not in caplog.text and secret[4:20] not in caplog.text
    assert "token=[redacted]&lang=en" in caplog.text


class QueueRunner(NullRunner):
    """No job worker, but a publication queue that only records what it was given."""

    def __init__(self):
        self.publisher = self
        self.queued: list[str] = []

    def enqueue(self, case_ids: list[str], *, urgent: bool = False) -> None:
        assert urgent  # only approvals queue here: their reviewer waits, so they go first
        self.queued.extend(case_ids)

    def give_up(self, case_id: str) -> None:
        self.queued.remove(case_id)


def test_approval_does_not_wait_for_redaction_where_a_publication_queue_runs(settings, footage_dir, evidence_template,
                                                                           fast_redaction):
    """With a publication queue, approving a case whose media are not made yet records the
    decision at once and queues the media; preview and publish wait for them (409 not_ready)."""
    with _queued_service(settings, footage_dir, evidence_template) as (env, runner, a):
        _approve_then_publish_when_ready(env, a, runner.queued)


@contextmanager
def _queued_service(settings, footage_dir, evidence_template):
    """A service whose publication queue only notes what it is given (``QueueRunner``), with a
    camera and a job's cases: (env, runner, the first case's id)."""
    runner = QueueRunner()
    app = create_app(settings, runner=runner)
    main, env = start_env(app, settings)
    try:
        r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", SCENE_YAML.encode(), "application/x-yaml")})
        assert r.status_code == 201, r.text
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        a, _ = seed_cases(env, up["job_id"], evidence_template)
        yield env, runner, a
    finally:
        main.__exit__(None, None, None)


def _approve_then_publish_when_ready(env, a: str, queued: list[str]) -> None:
    r = env.reviewer.post(f"/api/cases/{a}/approve")
    assert r.status_code == 200 and r.json()["state"] == "approved" and queued == [a]
    assert env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"] is None
    for res in (env.reviewer.get(f"/api/public/preview/{a}"), env.reviewer.post(f"/api/cases/{a}/publish")):
        assert res.status_code == 409 and res.json()["code"] == "not_ready"
    assert prepare_published(env.app.state.session_factory, env.settings, queued) == 1  # what the queue runs
    assert env.reviewer.get(f"/api/public/preview/{a}").status_code == 200
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    assert len(env.display.get("/api/public/cases").json()["items"]) == 1


def test_stopping_the_publication_queue_gives_up_a_redaction_part_way(env, cases, monkeypatch):
    """A service shutting down does not wait for a whole clip's redaction: the queue's thread ends
    within its stop timeout (a worker thread still inside onnxruntime when the interpreter exits
    aborts the process: "terminate called without an active exception"), nothing half-made is
    left, and the case keeps no media, so publishing makes them later."""
    import service.redaction as redaction
    from service.jobs.publish_queue import PublicationQueue

    redacting = threading.Event()
    real_frame = redaction._Redactor.__call__

    def slow_frame(self, frame_bgr, t):  # a frame of real redaction on a busy machine
        redacting.set()
        time.sleep(0.3)
        return real_frame(self, frame_bgr, t)

    monkeypatch.setattr(redaction, "default_finders", lambda: [])
    monkeypatch.setattr(redaction._Redactor, "__call__", slow_frame)
    queue = PublicationQueue(env.app.state.session_factory, env.settings)
    queue.start()
    thread = queue._thread
    queue.enqueue([cases[0]])
    assert redacting.wait(30)
    asked = time.monotonic()
    queue.stop(timeout=5.0)
    assert not thread.is_alive() and time.monotonic() - asked < 3.0  # a whole clip is ~100 frames, 30 s here
    with env.app.state.session_factory() as db:
        assert db.get(Case, cases[0]).published_hashes is None
    assert not list((env.data_dir / "published" / cases[0]).rglob("*"))


def _decided_a_day_ago(env, case_id: str) -> None:
    """The case was published yesterday: far outside the feed's ``since`` overlap."""
    with env.app.state.session_factory() as db:
        db.get(Case, case_id).decided_at -= timedelta(days=1)
        db.commit()


def _published_yesterday_unblurred(env, case_id: str) -> dict:
    """The case approved and published under ``redaction_policy`` "none" a day ago (far outside
    the feed's ``since`` overlap); returns the full feed a screen got then."""
    env.settings.redaction_policy = "none"
    _approve(env, case_id)
    assert env.reviewer.post(f"/api/cases/{case_id}/publish").status_code == 200
    _decided_a_day_ago(env, case_id)
    return env.display.get("/api/public/cases").json()


def _sharpness(jpeg: bytes) -> float:
    """How much fine detail a picture has (variance of its Laplacian): blurring lowers it."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return float(cv2.Laplacian(image, cv2.CV_64F).var())


def test_media_prepared_under_another_policy_never_reach_a_screen(env, cases, fast_redaction):
    """An installation ran with ``redaction_policy: none`` while its cases were prepared, then
    turned redaction on. Approval reused the prepared media by their hashes alone, so every case
    prepared before the change (approved before it or after) went to the screens unblurred. Both
    now get media made under the policy in force, and only those are previewed and published."""
    a, b = cases
    settings = env.app.state.settings
    factory = env.app.state.session_factory
    settings.redaction_policy = "none"
    assert prepare_published(factory, settings, [a, b]) == 2  # what the worker does after the job
    _approve(env, b)  # approved before the change: its media are the unblurred ones
    with factory() as db:
        unblurred = {c: dict(db.get(Case, c).published_hashes) for c in (a, b)}
    sharp = _sharpness(env.reviewer.get(f"/api/public/cases/{b}/media/image").content)

    settings.redaction_policy = "bystanders"
    _approve(env, a)  # approved after the change
    assert env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"] != unblurred[a]

    stale = env.reviewer.post(f"/api/cases/{b}/publish", json={"media_sha256": unblurred[b]})
    assert stale.status_code == 409 and stale.json()["code"] == "not_ready"  # made again, to be previewed
    for case_id in (a, b):
        pv = env.reviewer.get(f"/api/public/preview/{case_id}")
        assert pv.status_code == 200, pv.text
        assert pv.json()["media_sha256"] != unblurred[case_id]
        r = env.reviewer.post(f"/api/cases/{case_id}/publish", json={"media_sha256": pv.json()["media_sha256"]})
        assert r.status_code == 200, r.text
    feed = env.display.get("/api/public/cases").json()["items"]
    assert len(feed) == 2
    for item in feed:
        image = env.display.get(item["media"]["image"]).content
        assert sha256(image) not in {h["published.jpg"] for h in unblurred.values()}
        assert _sharpness(image) < sharp * 0.8, "everything but the offender is blurred"


def test_a_rerun_that_replaces_a_pending_cases_evidence_replaces_its_prepared_media(env, cases, fast_redaction):
    """A job run again (retried after a scene edit, say) lands on the same case ids, and a pending
    case takes the new run's evidence. Its media prepared from the old run stayed with it and
    approval published them: another clip, redacted around another offender."""
    from service.ingest import ingest_run
    from service.models import Job

    a, b = cases
    factory = env.app.state.session_factory
    assert prepare_published(factory, env.settings, [a]) == 1
    with factory() as db:
        before = dict(db.get(Case, a).published_hashes)
        job = db.get(Job, db.get(Case, a).job_id)
        run = env.data_dir / job.out_dir
        clip_a, clip_b = (run / db.get(Case, c).evidence["clip"] for c in (a, b))
    # the rerun cut case a another clip (here: case b's), with its manifest entry
    shutil.copyfile(clip_b, clip_a)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    rel = clip_a.relative_to(run).as_posix()
    for entry in manifest["files"]:
        if entry["path"] == rel:
            entry["sha256"], entry["size"] = sha256(clip_a.read_bytes()), clip_a.stat().st_size
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with factory() as db:
        ingest_run(db, db.get(Job, job.id), run, env.data_dir)
        db.commit()

    _approve(env, a)
    after = env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"]
    assert after["published.mp4"] != before["published.mp4"]  # made from the clip the case has now
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200


def test_a_screen_polling_with_since_is_told_of_a_withdrawal(env, cases, fast_redaction, monkeypatch):
    """``since`` returns only cases published after it, as documented for screens that poll for
    news; a case withdrawn meanwhile was simply not in the answer, so such a screen kept showing
    it. The answer now names the public numbers withdrawn since, for this screen's share only."""
    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    assert env.reviewer.post(f"/api/cases/{b}/publish", json={"screens": ["hall"]}).status_code == 200
    first = env.display.get("/api/public/cases").json()
    number = first["items"][0]["number"]
    assert [c["number"] for c in first["items"]] == [number] and first["withdrawn"] == []

    for case_id in (a, b):
        assert env.reviewer.post(f"/api/cases/{case_id}/withdraw", json={"reason": "wrong person"}).status_code == 200
    news = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert news["items"] == [] and news["withdrawn"] == [number]  # the hall's case was never the lobby's
    # said again within the overlap (harmless: by number), and no more after it
    import service.api.public as public

    past = datetime.fromisoformat(news["server_time"]) + timedelta(seconds=SINCE_OVERLAP_S + 1)
    monkeypatch.setattr(public, "utcnow", lambda: past + timedelta(seconds=1))
    assert env.display.get("/api/public/cases", params={"since": past.isoformat()}).json()["withdrawn"] == []
    monkeypatch.undo()
    everything = env.reviewer.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert len(everything["withdrawn"]) == 2


def test_a_screen_polling_with_since_is_told_of_a_withdrawal_after_the_clock_was_set_back(
        env, cases, fast_redaction, monkeypatch):
    """The server's clock is set back an hour after a screen's poll (a wrong clock corrected, a
    failover to a server whose clock is behind). A withdrawal is then stamped an hour before the
    ``since`` the screen passes back: read at face value, it was never named in ``withdrawn`` and
    the screen kept the withdrawn case on the street for that hour or for good."""
    import service.api.cases as cases_api
    import service.api.public as public

    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    first = env.display.get("/api/public/cases").json()
    [number] = [c["number"] for c in first["items"]]
    set_back = datetime.fromisoformat(first["server_time"]) - timedelta(hours=1)
    monkeypatch.setattr(cases_api, "utcnow", lambda: set_back)
    monkeypatch.setattr(public, "utcnow", lambda: set_back + timedelta(seconds=10))
    assert env.reviewer.post(f"/api/cases/{a}/withdraw", json={"reason": "wrong person"}).status_code == 200
    news = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert news["withdrawn"] == [number] and news["items"] == []
    # the next poll, with the server_time of the set-back clock, goes on from there
    assert news["server_time"] == (set_back + timedelta(seconds=10)).isoformat()


def test_rendering_the_annotated_clip_keeps_the_prepared_media(env, cases, fast_redaction):
    """The annotated clip's hash joins the case's evidence hashes when a reviewer has it rendered;
    the public media are not made of it, so approval still reuses the prepared ones instead of
    making the reviewer wait for a second redaction."""
    a, _ = cases
    assert prepare_published(env.app.state.session_factory, env.settings, [a]) == 1
    with env.app.state.session_factory() as db:
        prepared = dict(db.get(Case, a).published_hashes)
    r = env.reviewer.post(f"/api/cases/{a}/annotated")
    assert r.status_code in (200, 201), r.text
    assert "annotated" in env.reviewer.get(f"/api/cases/{a}").json()["evidence"]
    _approve(env, a)
    assert env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"] == prepared


def test_a_screen_polling_with_since_gets_a_case_committed_after_its_poll(env, cases, fast_redaction, monkeypatch):
    """Case A is stamped before case B but commits after the poll that returned B; the next poll,
    ``since`` that poll's ``server_time``, is past A's stamp, so a screen polling with ``since``
    never got A. Here A's stamp is taken a few seconds before the poll (the clock read before a
    wait), its commit after."""
    import service.api.cases as cases_api

    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)
    assert env.reviewer.post(f"/api/cases/{b}/publish").status_code == 200
    poll = env.display.get("/api/public/cases").json()
    assert len(poll["items"]) == 1
    stamped = datetime.fromisoformat(poll["server_time"]) - timedelta(seconds=5)
    monkeypatch.setattr(cases_api, "utcnow", lambda: stamped)  # A read the clock before that poll
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    monkeypatch.undo()
    number = env.reviewer.get(f"/api/cases/{a}").json()["public_number"]
    news = env.display.get("/api/public/cases", params={"since": poll["server_time"]}).json()
    assert number in [c["number"] for c in news["items"]]
    # and withdrawn the same way: the screen is told
    monkeypatch.setattr(cases_api, "utcnow", lambda: datetime.fromisoformat(news["server_time"]) - timedelta(seconds=5))
    assert env.reviewer.post(f"/api/cases/{a}/withdraw", json={"reason": "wrong person"}).status_code == 200
    monkeypatch.undo()
    later = env.display.get("/api/public/cases", params={"since": news["server_time"]}).json()
    assert later["withdrawn"] == [number]


def test_a_poll_with_more_new_cases_than_its_limit_says_it_was_truncated(env, cases, fast_redaction):
    """A poll with ``since`` sends at most ``limit`` new cases, the newest; the older ones were
    skipped in silence, and the screen's next ``since`` was past them, so it never got them. The
    answer now says it was cut short, and the screen starts again with a full poll."""
    first = env.display.get("/api/public/cases").json()
    assert first["items"] == [] and first["truncated"] is False
    for case_id in cases:
        _approve(env, case_id)
        assert env.reviewer.post(f"/api/cases/{case_id}/publish").status_code == 200
    cut = env.display.get("/api/public/cases", params={"since": first["server_time"], "limit": 1}).json()
    assert len(cut["items"]) == 1 and cut["truncated"] is True
    whole = env.display.get("/api/public/cases", params={"since": first["server_time"], "limit": 2}).json()
    assert len(whole["items"]) == 2 and whole["truncated"] is False
    assert env.display.get("/api/public/cases", params={"limit": 1}).json()["truncated"] is True
    assert env.display.get("/api/public/cases", params={"limit": 2}).json()["truncated"] is False


def test_a_publication_is_stamped_when_it_commits(env, cases, fast_redaction, monkeypatch):
    """The stamp the feed's ``since`` compares was taken before the audit entry was written and the
    commit waited on the database; a publication that waited is stamped at its commit."""
    import service.audit as audit

    a, _ = cases
    _approve(env, a)
    record = audit.record

    def slow_record(*args, **kwargs):  # a busy database: the write waits
        time.sleep(1.5)
        return record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", slow_record)
    before = datetime.now(tz=timezone.utc)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    monkeypatch.undo()
    with env.app.state.session_factory() as db:
        decided = db.get(Case, a).decided_at
    assert decided - before >= timedelta(seconds=1.5)


def test_cases_on_the_screens_leave_them_when_the_redaction_policy_changes(env, cases, fast_redaction):
    """New publications got media made under a changed ``redaction_policy``, but the cases already
    published kept theirs: unblurred bystanders on the street screens after redaction was turned
    on. They leave the screens (feed, media, and ``withdrawn`` for a screen polling with ``since``)
    until they are made again; without a publication queue, the reviewer's preview makes them.
    The case here was published the day before, well outside the feed's overlap: before, a screen
    polling with ``since`` was sent only cases decided after it, so it was never told to take this
    one off, nor (``cases.media_at``) sent it back once its media were made again."""
    a, _ = cases
    settings = env.settings
    first = _published_yesterday_unblurred(env, a)
    (item,) = first["items"]
    unblurred = env.display.get(item["media"]["image"])
    assert unblurred.status_code == 200

    settings.redaction_policy = "bystanders"
    assert env.display.get("/api/public/cases").json()["items"] == []
    assert env.display.get(item["media"]["image"]).status_code == 404
    news = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert news["items"] == [] and news["withdrawn"] == [item["number"]]

    remade = env.reviewer.get(f"/api/public/preview/{a}")  # made again, under the policy in force
    assert remade.status_code == 409 and remade.json()["code"] == "not_ready"  # as for an approved case
    pv = env.reviewer.get(f"/api/public/preview/{a}")
    assert pv.status_code == 200, pv.text
    (back,) = env.display.get("/api/public/cases").json()["items"]
    assert back["number"] == item["number"]
    again = env.display.get("/api/public/cases", params={"since": news["server_time"]}).json()
    assert [i["number"] for i in again["items"]] == [item["number"]] and again["withdrawn"] == []
    image = env.display.get(back["media"]["image"])
    assert image.status_code == 200 and sha256(image.content) == pv.json()["media_sha256"]["published.jpg"]
    assert image.content != unblurred.content and _sharpness(image.content) < _sharpness(unblurred.content) * 0.8


def test_the_publication_queue_remakes_published_media_of_an_old_policy(settings, footage_dir, evidence_template,
                                                                        fast_redaction):
    """Where a publication queue runs, the feed queues a published case whose media are of another
    policy, and the queue's run puts it back on the screens with media of the policy in force,
    a screen polling with ``since`` included."""
    with _queued_service(settings, footage_dir, evidence_template) as (env, runner, a):
        settings.redaction_policy = "none"
        _approve_then_publish_when_ready(env, a, runner.queued)
        _decided_a_day_ago(env, a)
        runner.queued.clear()
        on = env.display.get("/api/public/cases").json()
        settings.redaction_policy = "all"
        assert env.display.get("/api/public/cases").json()["items"] == []
        runner.queued.clear()
        off = env.display.get("/api/public/cases", params={"since": on["server_time"]}).json()
        assert off["items"] == [] and len(off["withdrawn"]) == 1
        assert runner.queued == [a]
        assert prepare_published(env.app.state.session_factory, env.settings, runner.queued) == 1
        (item,) = env.display.get("/api/public/cases").json()["items"]
        assert env.display.get(item["media"]["image"]).status_code == 200
        back = env.display.get("/api/public/cases", params={"since": off["server_time"]}).json()
        assert [i["number"] for i in back["items"]] == off["withdrawn"] and back["withdrawn"] == []


def test_media_made_again_under_the_same_number_get_new_urls(env, cases, fast_redaction):
    """A published case whose media are made again (a changed ``redaction_policy``) keeps its
    number, and its media kept their URLs: a screen keeps what it fetched while the case is in its
    feed, so one that had not polled while the case was off (its network lost for a minute while
    the queue made the media again) showed the old, unblurred media for good. The URLs now carry
    the files' version, so the feed names the new media by new URLs."""
    a, _ = cases
    env.settings.redaction_policy = "none"
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    (old,) = env.display.get("/api/public/cases").json()["items"]
    assert old["media"]["video"] and old["media"]["sheet"] is None
    env.settings.redaction_policy = "bystanders"
    assert env.reviewer.get(f"/api/public/preview/{a}").status_code == 409  # made again now (no queue)
    pv = env.reviewer.get(f"/api/public/preview/{a}").json()
    (new,) = env.display.get("/api/public/cases").json()["items"]
    assert new["number"] == old["number"]
    for kind, name in (("video", "published.mp4"), ("image", "published.jpg")):
        assert new["media"][kind] != old["media"][kind], kind
        assert pv["record"]["media"][kind].endswith(f"?v={pv['media_sha256'][name][:16]}")
        served = env.display.get(new["media"][kind])
        assert served.status_code == 200 and sha256(served.content) == pv["media_sha256"][name]
    # the same media keep their URLs: a screen has nothing to fetch again
    assert env.display.get("/api/public/cases").json()["items"] == [new]


def test_a_screen_polling_with_since_is_told_when_a_published_case_fails_integrity(env, cases, fast_redaction):
    """A full poll leaves out a published case whose evidence changed on disk; a client polling
    with ``since`` (sent new cases only) was never told and kept it on its screen. The case is
    named in ``withdrawn`` for as long as it fails, for the screens it is published to only, and
    comes back to full polls once its files are right again."""
    a, b = cases
    for case_id in (a, b):
        _approve(env, case_id)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200  # every screen
    assert env.reviewer.post(f"/api/cases/{b}/publish", json={"screens": ["hall"]}).status_code == 200
    first = env.display.get("/api/public/cases").json()
    (item,) = first["items"]
    numbers, originals = {}, []
    for case_id in (a, b):
        detail = env.reviewer.get(f"/api/cases/{case_id}").json()
        numbers[case_id] = detail["public_number"]
        clip = env.data_dir / "jobs" / str(detail["job_id"]) / "run-1" / "cases" / detail["pipeline_id"] / "clip.mp4"
        originals.append((clip, clip.read_bytes()))
    assert item["number"] == numbers[a]
    for clip, keep in originals:
        clip.write_bytes(keep + b"tampered")
    try:
        assert env.display.get("/api/public/cases").json()["items"] == []  # full polls leave it out
        news = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
        assert news["items"] == [] and news["withdrawn"] == [numbers[a]]  # the hall's case was never here
        hall = env.reviewer.get("/api/public/cases", params={"since": first["server_time"], "screen": "hall"}).json()
        assert sorted(hall["withdrawn"]) == sorted(numbers.values())
    finally:
        for clip, keep in originals:
            clip.write_bytes(keep)
    again = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert again["withdrawn"] == []
    assert [c["number"] for c in env.display.get("/api/public/cases").json()["items"]] == [numbers[a]]


def test_a_screen_polling_with_since_is_told_when_a_published_cases_media_are_being_made_again(
        settings, footage_dir, evidence_template, fast_redaction):
    """A reviewer's preview of a published case whose media are of another policy clears them
    (SQL NULL) while the publication queue makes them again. The case then dropped out of every
    query of the feed: a screen polling with ``since`` that had not polled between the policy's
    change and the preview (its network down for a minute) was never told, and kept the old,
    perhaps unblurred, media on the street until the new ones were made, or for good."""
    with _queued_service(settings, footage_dir, evidence_template) as (env, runner, a):
        settings.redaction_policy = "none"
        _approve_then_publish_when_ready(env, a, runner.queued)
        _decided_a_day_ago(env, a)
        on = env.display.get("/api/public/cases").json()
        (item,) = on["items"]
        settings.redaction_policy = "bystanders"
        pv = env.reviewer.get(f"/api/public/preview/{a}")  # the media cleared, to be made again
        assert pv.status_code == 409 and pv.json()["code"] == "not_ready"
        assert env.reviewer.get(f"/api/cases/{a}").json()["published_hashes"] is None
        assert env.display.get(item["media"]["image"]).status_code == 404
        news = env.display.get("/api/public/cases", params={"since": on["server_time"]}).json()
        assert news["items"] == [] and news["withdrawn"] == [item["number"]]
        # named to every screen it is published to (here: all of them)
        hall = env.reviewer.get("/api/public/cases", params={"since": on["server_time"], "screen": "hall"}).json()
        assert hall["withdrawn"] == [item["number"]]  # published to every screen
        # made again: back on the screens, and no longer named
        assert prepare_published(env.app.state.session_factory, env.settings, [a]) == 1
        back = env.display.get("/api/public/cases", params={"since": news["server_time"]}).json()
        assert [i["number"] for i in back["items"]] == [item["number"]] and back["withdrawn"] == []


def test_a_screen_polling_with_since_is_told_of_a_case_of_another_policy_beyond_its_limit(env, cases, fast_redaction):
    """``limit`` bounds the items of an answer, but the feed stopped looking at cases once the
    items were full: with as many new publications as ``limit`` since the last poll, a case of an
    old redaction policy (found after them) was never named in ``withdrawn``, and a screen
    polling with ``since`` kept its old, unblurred media on show for as long as that lasted."""
    a, b = cases
    settings = env.settings
    first = _published_yesterday_unblurred(env, a)
    (old,) = first["items"]
    settings.redaction_policy = "bystanders"
    _approve(env, b)
    assert env.reviewer.post(f"/api/cases/{b}/publish").status_code == 200
    news = env.display.get("/api/public/cases", params={"since": first["server_time"], "limit": 1}).json()
    assert [i["number"] for i in news["items"]] == [env.reviewer.get(f"/api/cases/{b}").json()["public_number"]]
    assert news["withdrawn"] == [old["number"]]


def test_unpairing_takes_only_a_pairing_the_request_came_with(env, cases, fast_redaction):
    """``POST /api/public/unpair`` answered every caller with a Set-Cookie that deleted the
    pairing, so a hostile page opened in the kiosk's browser could post to it and leave the screen
    on its pairing form. The pairing cookie is SameSite=Strict: a request from another site does not
    carry it, and the route now deletes only a pairing the request came with."""
    screen = TestClient(env.app)
    assert screen.post("/api/public/pair", json={"token": env.display_token}).status_code == 200
    stranger = TestClient(env.app)  # another site's request: the Strict cookie is not sent
    r = stranger.post("/api/public/unpair", headers={"Origin": "https://evil.example"})
    assert r.status_code == 204 and "set-cookie" not in r.headers
    assert screen.get("/api/public/cases").status_code == 200
    r = screen.post("/api/public/unpair")
    assert r.status_code == 204 and r.headers["set-cookie"].startswith("cw_display=")
    assert screen.get("/api/public/cases").status_code == 401


def test_a_screen_polling_with_since_is_told_of_a_withdrawal_stamped_by_a_clock_ahead(
        env, cases, fast_redaction, monkeypatch):
    """The withdrawal is made on an app server whose clock runs a minute ahead of the one the
    screen polls. Its stamp lay after the polled server's clock, and the answer named only
    withdrawals stamped up to its own time: the case was gone from full polls at once, but a
    screen polling with ``since`` kept it on the street until that clock caught up."""
    import service.api.cases as cases_api

    a, _ = cases
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    first = env.display.get("/api/public/cases").json()
    [number] = [c["number"] for c in first["items"]]
    ahead = datetime.now(timezone.utc) + timedelta(seconds=60)
    monkeypatch.setattr(cases_api, "utcnow", lambda: ahead)
    assert env.reviewer.post(f"/api/cases/{a}/withdraw", json={"reason": "wrong person"}).status_code == 200
    monkeypatch.undo()
    assert env.display.get("/api/public/cases").json()["items"] == []
    news = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert news["withdrawn"] == [number] and news["items"] == []


def test_media_made_by_earlier_redaction_rules_leave_the_screens_and_are_made_again(env, cases, fast_redaction,
                                                                                     monkeypatch):
    """An upgrade that makes the redaction blur more (``service.publication.REDACTION_RULES``)
    takes the media published by the earlier rules off the screens until they are made again, as a
    policy change does: they were kept, with the faces the new rules blur, for as long as the case
    was on the screens."""
    import service.publication as publication

    a, _ = cases
    current = publication.REDACTION_RULES
    assert current >= 2
    monkeypatch.setattr(publication, "REDACTION_RULES", current - 1)
    env.settings.redaction_policy = "bystanders"
    _approve(env, a)
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    _decided_a_day_ago(env, a)
    first = env.display.get("/api/public/cases").json()
    (item,) = first["items"]

    monkeypatch.setattr(publication, "REDACTION_RULES", current)  # the upgrade
    assert env.display.get("/api/public/cases").json()["items"] == []
    assert env.display.get(item["media"]["image"]).status_code == 404
    news = env.display.get("/api/public/cases", params={"since": first["server_time"]}).json()
    assert news["items"] == [] and news["withdrawn"] == [item["number"]]
    assert env.reviewer.get(f"/api/public/preview/{a}").status_code == 409  # made again now
    assert env.reviewer.get(f"/api/public/preview/{a}").status_code == 200
    (back,) = env.display.get("/api/public/cases").json()["items"]
    assert back["number"] == item["number"]
    with env.app.state.session_factory() as db:
        folder = db.get(Case, a).published_dir.rsplit("/", 1)[-1]
    assert folder.startswith(f"bystanders-r{current}-")  # made by the rules in force
