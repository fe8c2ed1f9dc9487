"""An approved case whose public media were never made (the redaction failed, or the publication
queue, which lives in memory, was lost with a restart) is made again, not left "not ready" for good.

Before, approval queued the media once. A redaction that failed (a disk hiccup, a decoder error)
was logged and forgotten, and a restart lost whatever the queue held: preview and publish then
answered 409 ``not_ready`` ("try again shortly") for ever, nothing queued the case again, and the
reviewer could neither publish it nor approve it again. Nothing unredacted reached a screen, but a
confirmed offence could never be shown.
"""

from __future__ import annotations

from contextlib import contextmanager

import service.publication as publication
from service.jobs import NullRunner
from service.jobs.publish_queue import PublicationQueue
from service.main import create_app
from service.models import Case

from .conftest import seed_cases, start_env, upload_clip
from .helpers import SCENE_YAML, SHORT_CLIP
from .test_publication import _queued_service


class RealQueueRunner(NullRunner):
    """No job worker, but the real publication queue (made once the app has its database)."""

    publisher: PublicationQueue | None = None

    def start(self) -> None:
        self.publisher.start()

    def stop(self) -> None:
        self.publisher.stop()


@contextmanager
def _service_with_queue(settings, footage_dir, evidence_template):
    runner = RealQueueRunner()
    app = create_app(settings, runner=runner)
    runner.publisher = PublicationQueue(app.state.session_factory, settings)
    main, env = start_env(app, settings)
    try:
        r = env.admin.post("/api/cameras", files={"scene": ("scene.yaml", SCENE_YAML.encode(), "application/x-yaml")})
        assert r.status_code == 201, r.text
        up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
        a, _ = seed_cases(env, up["job_id"], evidence_template)
        yield env, runner.publisher, a
    finally:
        main.__exit__(None, None, None)


def _hashes(env, case_id: str):
    with env.app.state.session_factory() as db:
        return db.get(Case, case_id).published_hashes


def test_a_failed_redaction_is_made_again_when_the_reviewer_previews(settings, footage_dir, evidence_template,
                                                                      fast_redaction, monkeypatch):
    real, calls = publication.make_published, []

    def fails_once(case, settings, stopping=None):  # noqa: ANN001, ANN202
        calls.append(case.id)
        if len(calls) == 1:
            raise OSError("disk hiccup while writing the public clip")
        return real(case, settings, stopping)

    monkeypatch.setattr(publication, "make_published", fails_once)
    with _service_with_queue(settings, footage_dir, evidence_template) as (env, queue, a):
        assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
        assert queue.idle.wait(60) and calls == [a] and _hashes(env, a) is None  # the try failed
        r = env.reviewer.get(f"/api/public/preview/{a}")
        assert r.status_code == 409 and r.json()["code"] == "not_ready"
        assert queue.idle.wait(60) and len(calls) == 2  # queued again by the preview, and made
        assert _hashes(env, a) is not None
        assert env.reviewer.get(f"/api/public/preview/{a}").status_code == 200
        assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
        assert len(env.display.get("/api/public/cases").json()["items"]) == 1


def test_preview_and_publish_queue_again_media_a_lost_queue_held(settings, footage_dir, evidence_template,
                                                                 fast_redaction):
    with _queued_service(settings, footage_dir, evidence_template) as (env, runner, a):
        assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200 and runner.queued == [a]
        runner.queued.clear()  # the queue lived in memory: a restart lost it
        for res in (env.reviewer.get(f"/api/public/preview/{a}"), env.reviewer.post(f"/api/cases/{a}/publish")):
            assert res.status_code == 409 and res.json()["code"] == "not_ready"
        assert runner.queued and set(runner.queued) == {a}
        assert publication.prepare_published(env.app.state.session_factory, env.settings, [a]) == 1
        assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200


def test_a_started_queue_takes_up_the_approved_cases_still_without_media(settings, footage_dir, evidence_template,
                                                                         fast_redaction):
    with _queued_service(settings, footage_dir, evidence_template) as (env, runner, a):
        assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
        factory = env.app.state.session_factory
        queue = PublicationQueue(factory, env.settings)  # the next process's queue, empty
        queue.start()
        try:
            assert queue.idle.wait(60)
        finally:
            queue.stop()
        assert _hashes(env, a) is not None
        assert env.reviewer.get(f"/api/public/preview/{a}").status_code == 200
