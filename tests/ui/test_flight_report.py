"""The flight report from the job page (issue 9), in a real browser: a job with two approved cases
offers the report, the report page plays its video and lists both cases."""

from __future__ import annotations

import harness
import pytest

from tests.service.helpers import SCENE_YAML, SHORT_CLIP, make_run

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def flight_service(tmp_path_factory, footage_dir):
    """A live service (no runner) with one finished job of two pending cases from real footage."""
    from service import redaction
    from service.db import session_scope
    from service.ingest import ingest_run
    from service.models import Job

    tmp = tmp_path_factory.mktemp("flightreport")
    scene_path = tmp / "scene.yaml"
    scene_path.write_text(SCENE_YAML, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        # approval makes the public media; the redaction's own safe fallback (blur all but the
        # offender) instead of the detector on every frame of every clip
        mp.setattr(redaction, "default_finders", list)
        svc = harness.start_service(tmp / "data", runner="none")
        try:
            harness.seed(svc, scene_path, None)
            with svc.client("operator") as op:
                src = footage_dir / SHORT_CLIP
                r = op.post(
                    "/api/uploads",
                    data={"camera": svc.camera_id, "drone_id": "DJI-M30-07"},
                    files={"file": (src.name, src.read_bytes(), "video/mp4")},
                )
                r.raise_for_status()
                job_id = r.json()["job_id"]
            with session_scope(svc.server.config.app.state.session_factory) as db:
                job = db.get(Job, job_id)
                job.out_dir = f"jobs/{job_id}/run-1"
                make_run(
                    footage_dir / SHORT_CLIP, svc.data_dir / job.out_dir, scene_path
                )
                rows = ingest_run(db, job, svc.data_dir / job.out_dir, svc.data_dir)
                job.state, job.progress, job.cases_found = "done", 100.0, len(rows)
                svc.extra.update(job=job_id, cases=sorted(r.id for r in rows))
            yield svc
        finally:
            svc.stop()


def _login(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", role)
    page.fill("#password", harness.PASSWORDS[role])
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_job_with_two_approved_cases_offers_a_report_that_plays_and_lists_them(
    browser, flight_service, screenshot_dir
):
    base, job, cases = (
        flight_service.base_url,
        flight_service.extra["job"],
        flight_service.extra["cases"],
    )
    page = browser.new_page(locale="zh-CN")
    try:
        _login(page, base, "operator")
        page.goto(f"{base}/jobs")
        page.locator(f'[data-job-details="{job}"] .job-case-links').wait_for()
        assert (
            page.locator(f'[data-job-report="{job}"]').count() == 0
        )  # nothing approved: no report

        with flight_service.client("reviewer") as rev:
            for cid in cases:
                rev.post(f"/api/cases/{cid}/approve", json={}).raise_for_status()
        page.reload()
        box = page.locator(f'[data-job-report="{job}"]')
        box.wait_for()
        make = box.locator("button.job-report-make")
        assert "2" in make.inner_text() and "飞行报告" in make.inner_text()
        box.locator("input.job-report-unit").fill("朝阳交警支队")
        make.click()
        link = page.locator(f'[data-job-report="{job}"] a.job-report-open')
        link.wait_for(timeout=180_000)
        assert (
            "2"
            in page.locator(f'[data-job-report="{job}"] .job-report-links').inner_text()
        )
        page.screenshot(
            path=str(screenshot_dir / "flight-report-job.png"), full_page=True
        )
        page.evaluate("CW.refreshJobs()")  # the list's refresh keeps what was made
        page.locator(f'[data-job-details="{job}"] .job-case-links').wait_for()
        href = page.locator(
            f'[data-job-report="{job}"] a.job-report-open'
        ).get_attribute("href")
        assert href.startswith(
            f"/api/jobs/{job}/flight-reports/internal-"
        ) and href.endswith("/report.html")

        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(base + href)
        listed = page.locator("#cases li.case")
        assert (
            sorted(
                listed.nth(i).get_attribute("data-case") for i in range(listed.count())
            )
            == cases
        )
        assert "朝阳交警支队" in page.locator("dl.facts").inner_text()
        harness.wait_js(
            page,
            "(() => { const v = document.getElementById('flight-video');"
            " return v.readyState >= 1 && v.duration > 0; })()",
            timeout=60_000,
        )
        page.evaluate(
            "(() => { const v = document.getElementById('flight-video'); v.muted = true;"
            " return v.play(); })()"
        )
        harness.wait_js(
            page,
            "document.getElementById('flight-video').currentTime > 0.5",
            timeout=60_000,
        )
        state = page.evaluate(
            "(() => { const v = document.getElementById('flight-video');"
            " return {error: v.error && v.error.code, w: v.videoWidth, d: v.duration}; })()"
        )
        assert state["error"] is None and state["w"] > 0 and state["d"] > 2.0, state
        stills = page.locator("#cases li.case img")
        harness.wait_js(
            page,
            "[...document.querySelectorAll('#cases img')].every(i => i.complete && i.naturalWidth > 0)",
        )
        assert stills.count() == 2
        assert errors == []
        page.screenshot(path=str(screenshot_dir / "flight-report.png"), full_page=True)
    finally:
        page.close()
