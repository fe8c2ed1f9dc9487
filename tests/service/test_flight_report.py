"""The job's flight report through the API: who may make and read it, that it holds the job's
approved cases only, that the public variant is made from the redacted media alone, and that its
files are served only as the bytes its record lists."""

from __future__ import annotations

import io
import re

import av
import pytest

from service.models import AuditEntry, Case

from .conftest import upload_clip
from .helpers import SHORT_CLIP

pytestmark = pytest.mark.usefixtures("fast_redaction")


def _job_id(env, case_id: str) -> int:
    return env.reviewer.get(f"/api/cases/{case_id}").json()["job_id"]


def _approve(env, case_ids: list[str]) -> None:
    for cid in case_ids:
        r = env.reviewer.post(f"/api/cases/{cid}/approve", json={})
        assert r.status_code == 200, r.text


def _h264(data: bytes) -> tuple[str, float, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return (
            stream.codec_context.name,
            float(stream.duration * stream.time_base),
            frames,
        )


def test_who_may_make_and_read_a_flight_report(env, cases):
    job = _job_id(env, cases[0])
    url = f"/api/jobs/{job}/flight-report"
    assert env.anon.post(url, json={}).status_code == 401
    assert env.display.post(url, json={}).status_code == 403
    assert (
        env.operator2.post(url, json={}).status_code == 404
    )  # another operator's job: not even its existence
    refused = env.operator.post(url, json={})  # the owner, before any case is approved
    assert refused.status_code == 409 and refused.json()["code"] == "no_approved_cases"

    _approve(env, cases)
    made = env.operator.post(url, json={"unit": "朝阳交警支队"})
    assert made.status_code == 200, made.text
    page = made.json()["html_url"]
    assert env.anon.get(page).status_code == 401
    assert env.display.get(page).status_code == 403
    assert env.operator2.get(page).status_code == 404
    for client in (env.operator, env.reviewer, env.admin):
        r = client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "text/html"
        )
    # the reviewer asking for the same report gets the one made, not a second
    again = env.reviewer.post(url, json={"unit": "朝阳交警支队"}).json()
    assert again["report_id"] == made.json()["report_id"] and again["reused"] is True
    with env.app.state.session_factory() as db:
        entries = db.query(AuditEntry).filter_by(action="job.flight_report").all()
    assert [e.actor for e in entries] == ["otto", "rita"]
    assert (
        sorted(entries[0].details["cases"]) == cases
        and entries[0].details["reused"] is False
    )


def test_the_report_holds_the_approved_cases_and_plays(env, cases):
    job = _job_id(env, cases[0])
    _approve(env, cases[:1])
    r = env.reviewer.post(
        f"/api/cases/{cases[1]}/reject", json={"reason": "not an offence"}
    )
    assert r.status_code == 200
    one = env.reviewer.post(f"/api/jobs/{job}/flight-report", json={}).json()
    assert one["cases"] == cases[:1] and one["publication"] is False

    r = env.reviewer.post(
        f"/api/cases/{cases[1]}/reopen", json={"reason": "looked again"}
    )
    assert r.status_code == 200, r.text
    _approve(env, cases[1:])
    made = env.reviewer.post(
        f"/api/jobs/{job}/flight-report", json={"unit": "Chaoyang brigade"}
    ).json()
    assert made["report_id"] != one["report_id"] and sorted(made["cases"]) == cases
    assert sum(c["cases"] for c in made["counts"]) == 2

    html = env.reviewer.get(made["html_url"])
    assert (
        "script-src" not in html.headers["content-security-policy"]
    )  # the page runs no script at all
    assert "media-src 'self'" in html.headers["content-security-policy"]
    text = html.text
    for cid in cases:
        assert (
            f'data-case="{cid}"' in text and cid in text
        )  # the internal report names each case
    assert "Chaoyang brigade" in text and 'src="flight.mp4"' in text
    for still in re.findall(r'<img src="(stills/\d+\.jpg)"', text):
        base = made["html_url"].rsplit("/", 1)[0]
        img = env.reviewer.get(f"{base}/{still}")
        assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"

    video = env.reviewer.get(made["video_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    codec, duration, frames = _h264(video.content)
    assert (
        codec == "h264"
        and duration == pytest.approx(made["duration_s"], abs=0.05)
        and frames > 0
    )
    part = env.reviewer.get(made["video_url"], headers={"Range": "bytes=0-99"})
    assert (
        part.status_code == 206 and len(part.content) == 100
    )  # players seek with ranges

    pdf = env.reviewer.get(made["pdf_url"]).content
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1


def test_the_public_report_is_made_from_the_redacted_media_only(env, cases):
    job = _job_id(env, cases[0])
    _approve(env, cases)
    made = env.reviewer.post(
        f"/api/jobs/{job}/flight-report", json={"publication": True}
    )
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["publication"] is True and body["report_id"].startswith("publication-")
    folder = env.data_dir / "jobs" / str(job) / "reports" / body["report_id"]
    import json

    record = json.loads((folder / "report.json").read_text())
    assert [c["media"] for c in record["cases"]] == [
        {"clip": "published.mp4", "still": "published.jpg"}
    ] * 2
    text = env.reviewer.get(body["html_url"]).text
    assert "For publication" in text and "Internal" not in text
    assert 'class="muted case-id"' not in text  # no internal ids on the public page
    assert (
        env.reviewer.get(
            f"{body['html_url'].rsplit('/', 1)[0]}/report.json"
        ).status_code
        == 404
    )

    # a case whose redacted media are not made yet stops the public report; the original is never used
    with env.app.state.session_factory() as db:
        case = db.get(Case, cases[0])
        case.published_hashes = None
        case.published_dir = None
        db.commit()
    late = env.reviewer.post(
        f"/api/jobs/{job}/flight-report", json={"publication": True, "unit": "another"}
    )
    assert late.status_code == 409 and late.json()["code"] == "not_ready"
    assert (
        env.reviewer.post(f"/api/jobs/{job}/flight-report", json={}).status_code == 200
    )  # internal is fine


def test_report_files_are_served_only_as_recorded(env, cases):
    job = _job_id(env, cases[0])
    _approve(env, cases)
    made = env.reviewer.post(f"/api/jobs/{job}/flight-report", json={}).json()
    base = made["html_url"].rsplit("/", 1)[0]
    for bad in ("../report.json", "report.json", "nope.html", "stills/../../x"):
        assert env.reviewer.get(f"{base}/{bad}").status_code == 404, bad
    assert (
        env.reviewer.get(
            f"/api/jobs/{job}/flight-reports/internal-zz/report.html"
        ).status_code
        == 404
    )
    pdf = (
        env.data_dir / "jobs" / str(job) / "reports" / made["report_id"] / "report.pdf"
    )
    pdf.write_bytes(pdf.read_bytes() + b"%changed")
    r = env.reviewer.get(made["pdf_url"])
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"


def test_a_report_needs_a_finished_job_and_valid_input(env, camera, footage_dir):
    up = upload_clip(
        env.operator, footage_dir / SHORT_CLIP
    )  # queued: the runner is off
    r = env.operator.post(f"/api/jobs/{up['job_id']}/flight-report", json={})
    assert r.status_code == 409 and r.json()["code"] == "job_not_done"
    r = env.operator.post(
        f"/api/jobs/{up['job_id']}/flight-report", json={"unit": "x" * 201}
    )
    assert r.status_code == 422
    r = env.operator.post(
        f"/api/jobs/{up['job_id']}/flight-report", json={"publication": "sometimes"}
    )
    assert r.status_code == 422


def test_the_public_report_never_uses_media_made_under_another_policy(env, cases):
    """Cases prepared while the installation ran with ``redaction_policy: none``, approved after
    it turned redaction on: the public flight report used their unblurred prepared media. They are
    made again under the policy in force first."""
    from service.publication import prepare_published

    settings = env.app.state.settings
    settings.redaction_policy = "none"
    assert prepare_published(env.app.state.session_factory, settings, cases) == 2
    with env.app.state.session_factory() as db:
        unblurred = {c: db.get(Case, c).published_hashes["published.mp4"] for c in cases}
        _approve(env, cases)  # approved under "none": the prepared media are reused
    settings.redaction_policy = "bystanders"
    job = _job_id(env, cases[0])
    made = env.reviewer.post(f"/api/jobs/{job}/flight-report", json={"publication": True})
    assert made.status_code == 200, made.text
    with env.app.state.session_factory() as db:  # the report was made from these
        for c in cases:
            assert db.get(Case, c).published_hashes["published.mp4"] != unblurred[c]


def test_the_public_report_never_uses_a_published_cases_media_of_another_policy(env, cases):
    """Cases published while the installation ran with ``redaction_policy: none`` are off the
    screens once redaction is turned on, until their media are made again; the public flight report
    still used their unblurred media (only approved cases were made again first) and, asked again,
    handed back the report made under ``none`` as it was. Their media are made again first now."""
    settings = env.app.state.settings
    settings.redaction_policy = "none"
    _approve(env, cases)
    for c in cases:
        assert env.reviewer.post(f"/api/cases/{c}/publish").status_code == 200
    with env.app.state.session_factory() as db:
        unblurred = {c: db.get(Case, c).published_hashes["published.mp4"] for c in cases}
    job = _job_id(env, cases[0])
    before = env.reviewer.post(f"/api/jobs/{job}/flight-report", json={"publication": True})
    assert before.status_code == 200, before.text
    settings.redaction_policy = "bystanders"
    made = env.reviewer.post(f"/api/jobs/{job}/flight-report", json={"publication": True})
    assert made.status_code == 200, made.text
    assert made.json()["reused"] is False and made.json()["report_id"] != before.json()["report_id"]
    with env.app.state.session_factory() as db:  # the report was made from these
        for c in cases:
            case = db.get(Case, c)
            assert case.state == "published" and case.published_hashes["published.mp4"] != unblurred[c]
