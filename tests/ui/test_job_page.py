"""The job page for the drone operator in the field (issue 8), in a real browser: a job's warnings
in the page language, what the analysis saw (so "no case" reads as "looked, found nothing"), and
links from a job to its cases that open them on the review page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import harness

sys.path.insert(0, str(Path(__file__).parents[1]))
from service.helpers import LONG_CLIP, SCENE_YAML, SHORT_CLIP, make_run  # noqa: E402

pytestmark = pytest.mark.browser

TRUNCATED = ("the video ends at 1.2 s but its container says 2.3 s: the file is truncated or damaged; "
             "cases found before that point are kept")
SEEN = {"frames_decoded": 12, "duration_s": 2.3, "tracks": {"car": 3, "person": 1},
        "tracks_per_zone": {"near-lanes": 3, "crossing": 0}}


@pytest.fixture(scope="module")
def job_service(tmp_path_factory, footage_dir):
    """A live service (no runner) with two finished jobs: one that found cases (and warned about
    a truncated file), one that found none but saw tracks."""
    from service.db import session_scope
    from service.ingest import ingest_run
    from service.models import Job, JobSegment

    tmp = tmp_path_factory.mktemp("jobpage")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE_YAML, encoding="utf-8")
    svc = harness.start_service(tmp / "data", runner="none")
    try:
        harness.seed(svc, scene_path, None)
        ids = []
        with svc.client("operator") as op:
            for clip in (SHORT_CLIP, LONG_CLIP):
                src = footage_dir / clip
                r = op.post("/api/uploads", data={"camera": svc.camera_id},
                            files={"file": (src.name, src.read_bytes(), "video/mp4")})
                r.raise_for_status()
                ids.append(r.json()["job_id"])
        with session_scope(svc.server.config.app.state.session_factory) as db:
            found = db.get(Job, ids[0])
            found.out_dir = f"jobs/{ids[0]}/run-1"
            make_run(footage_dir / SHORT_CLIP, svc.data_dir / found.out_dir, scene_path)
            rows = ingest_run(db, found, svc.data_dir / found.out_dir, svc.data_dir)
            found.state, found.progress, found.cases_found = "done", 100.0, len(rows)
            found.warnings, found.seen = [TRUNCATED], SEEN
            empty = db.get(Job, ids[1])
            empty.state, empty.progress, empty.cases_found = "done", 100.0, 0
            empty.warnings, empty.seen = [], {**SEEN, "tracks_per_zone": {"near-lanes": 5, "crossing": 2}}
            # the found job ran split across the pool: its two parts (the second on its second try)
            db.add_all([JobSegment(job_id=ids[0], index=0, span_from_s=0.0, span_to_s=1.2, state="done", progress=100.0,
                                   attempts=1, cases_found=1, worker="host-a:101"),
                        JobSegment(job_id=ids[0], index=1, span_from_s=1.2, span_to_s=2.3, state="done", progress=100.0,
                                   attempts=2, cases_found=1, worker="host-b:202")])
            svc.extra.update(found=ids[0], empty=ids[1], cases=sorted(r.id for r in rows))
        yield svc
    finally:
        svc.stop()


def _login(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


def test_job_page_shows_warnings_what_was_seen_and_links_to_cases(browser, job_service) -> None:
    base, found, empty = job_service.base_url, job_service.extra["found"], job_service.extra["empty"]
    page = browser.new_page(locale="zh-CN")
    try:
        _login(page, base, "admin")
        page.goto(f"{base}/jobs")
        details = page.locator(f'[data-job-details="{found}"]')
        details.wait_for()
        warning = details.locator("li.job-warning")
        assert warning.count() == 1
        assert "截断" in warning.inner_text() and warning.get_attribute("title") == TRUNCATED
        seen = details.locator(".job-seen").inner_text()
        assert "2.3" in seen and "12" in seen and "near-lanes 3" in seen and "crossing 0" in seen
        links = details.locator("a.job-case-link")
        assert sorted(links.nth(i).get_attribute("data-case") for i in range(links.count())) == job_service.extra["cases"]

        parts = details.locator("li.job-segment")
        assert "已完成 2/2 段" in details.locator(".job-segments-box").inner_text() and parts.count() == 2
        assert parts.nth(1).inner_text() == "1–2 秒：已完成 · 1 个案件 · 第 2 次尝试"
        assert parts.nth(1).get_attribute("title") == "host-b:202"

        nothing = page.locator(f'[data-job-details="{empty}"]')
        assert "未发现案件" in nothing.inner_text() and "near-lanes 5" in nothing.inner_text()
        assert nothing.locator("li.job-warning").count() == 0

        for i in range(links.count()):  # each link opens its own case (not just the queue's first)
            page.goto(f"{base}/jobs")
            link = page.locator(f'[data-job-details="{found}"] a.job-case-link').nth(i)
            target = link.get_attribute("data-case")
            link.click()
            page.wait_for_url("**/review?case=*")
            page.wait_for_selector(f'.queue-item.active[data-case="{target}"]')

        page.goto(f"{base}/lang/en?next=/jobs")
        page.locator(f'[data-job-details="{found}"] li.job-warning').wait_for()
        assert "truncated" in page.locator(f'[data-job-details="{found}"] li.job-warning').inner_text()
        assert "No case found" in page.locator(f'[data-job-details="{empty}"]').inner_text()
    finally:
        page.close()
