"""Evidence in an S3-compatible bucket (``storage: s3``, ``service.blobstore.S3Store``).

The bucket is served by moto's server mode: ``moto_server``, a real HTTP server process on a
local port that speaks the S3 protocol, started once for this module; boto3 talks to it over
HTTP exactly as it would to MinIO or AWS. Nothing in the service is patched: a job runs through
``service.jobs.work.run_job`` (its analysis replaced by copying a real evidence run, so no model
runs), the review and screen routes serve from the bucket, and the tests look into the bucket
with their own boto3 client.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import httpx
import pytest
from sqlalchemy import select, update

from service.blobstore import evidence_store
from service.config import Settings
from service.db import session_scope
from service.janitor import sweep
from service.integrity_scrub import scrub
from service.jobs.work import run_job
from service.models import Case, Job, JobSegment

from .conftest import upload_clip
from .helpers import ADMIN_PASSWORD, SHORT_CLIP, copy_run, rewrite_run_file

KEY, SECRET = "civicwatch-test", "civicwatch-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A real S3-compatible server on this machine: ``moto_server`` in its own process."""
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"moto_server did not start on port {port} (exit {proc.poll()})")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def bucket(s3_endpoint) -> str:
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    _client(s3_endpoint).create_bucket(Bucket=name)
    return name


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET)


@pytest.fixture
def settings(tmp_path, database_url, s3_endpoint, bucket) -> Settings:
    """The service fixtures' settings (tests/service/conftest.py), with the evidence in the bucket."""
    return Settings(data_dir=tmp_path / "var", database_url=database_url, admin_password=ADMIN_PASSWORD,
                    runner="none", job_poll_s=0.05, storage="s3", s3_bucket=bucket, s3_endpoint_url=s3_endpoint,
                    s3_access_key_id=KEY, s3_secret_access_key=SECRET, s3_prefix="cw/")


def _objects(env, prefix: str = "") -> dict[str, bytes]:
    s3 = _client(env.settings.s3_endpoint_url)
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env.settings.s3_bucket, Prefix="cw/" + prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"][3:]] = s3.get_object(Bucket=env.settings.s3_bucket, Key=obj["Key"])["Body"].read()
    return out


def _put(env, key: str, data: bytes) -> None:
    _client(env.settings.s3_endpoint_url).put_object(Bucket=env.settings.s3_bucket, Key="cw/" + key, Body=data)


def _copying_analysis(template: Path, broken: bool = False):
    """The job's analysis: the real evidence run copied into the job's run folder (no model)."""

    def analyze(source, scene_path, out_dir, options, progress=None, should_cancel=None):  # noqa: ANN001
        copy_run(template, out_dir)
        if broken:
            # ingest refuses it, with the manifest agreeing, so it is the ingest that refuses it
            # after the store took the run, not the check before (service.run_trust)
            rewrite_run_file(out_dir, "cases.json", "[{\"no\": \"id\"}]")
        return SimpleNamespace(cases=[], warnings=[], timings=None)

    return analyze


def _run(env, job_id: int, template: Path, broken: bool = False) -> str:
    return run_job(job_id, env.app.state.session_factory, env.settings, _copying_analysis(template, broken),
                   lambda extra: None, lambda: False)


@pytest.fixture
def stored(env, camera, footage_dir, evidence_template) -> dict:
    """A job run by the real job code into the bucket: {job_id, out_dir, cases}."""
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    assert _run(env, up["job_id"], evidence_template) == "done"
    with env.app.state.session_factory() as db:
        job = db.get(Job, up["job_id"])
        ids = sorted(db.scalars(select(Case.id).where(Case.job_id == job.id)))
        return {"job_id": job.id, "out_dir": job.out_dir, "cases": ids}


def test_job_evidence_lands_in_the_bucket_and_is_served_from_it_byte_for_byte(env, stored, evidence_template):
    out_dir = stored["out_dir"]
    objects = _objects(env, out_dir + "/")
    template = {p.relative_to(evidence_template).as_posix(): p.read_bytes()
                for p in evidence_template.rglob("*") if p.is_file()}
    assert {k[len(out_dir) + 1:]: v for k, v in objects.items()} == template  # every file, every byte
    assert not (env.data_dir / out_dir).exists()  # the worker kept no evidence on its own disk

    a = stored["cases"][0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert detail["integrity"]["ok"] is True and detail["integrity"]["checked"] >= 4
    names = {"clip": "clip.mp4", "snapshot": "snapshot.jpg", "sheet": "sheet.jpg", "tracks": "tracks.json"}
    for kind, name in names.items():
        rel = next(r for r in detail["evidence_hashes"] if r.endswith("/" + name))
        r = env.reviewer.get(detail["evidence"][kind])
        assert r.status_code == 200 and r.content == template[rel], kind
        assert r.headers["etag"] == f'"{hashlib.sha256(template[rel]).hexdigest()}"'
    rel_clip = next(r for r in detail["evidence_hashes"] if r.endswith("clip.mp4"))
    clip = template[rel_clip]
    part = env.reviewer.get(detail["evidence"]["clip"], headers={"Range": "bytes=1000-4999"})
    assert part.status_code == 206 and part.content == clip[1000:5000]
    assert part.headers["content-range"] == f"bytes 1000-4999/{len(clip)}"
    thumb = env.reviewer.get(detail["evidence"]["snapshot"] + "?w=96")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"

    # the burnt-in clip is drawn from downloads of the clip and track file, then uploaded beside them
    made = env.reviewer.post(f"/api/cases/{a}/annotated")
    assert made.status_code == 200 and made.json()["rendered"] is True, made.text
    annotated_key = f"{out_dir}/{Path(rel_clip).parent.as_posix()}/annotated.mp4"
    annotated = _objects(env, annotated_key)[annotated_key]
    assert hashlib.sha256(annotated).hexdigest() == made.json()["sha256"]
    assert env.reviewer.get(made.json()["url"]).content == annotated
    assert not (env.data_dir / out_dir).exists()

    # the export zip streams the objects; its signed manifest vouches for the recorded hashes
    z = zipfile.ZipFile(io.BytesIO(env.reviewer.post("/api/cases/export", json={"ids": [a]}).content))
    assert z.read(f"{a}/clip.mp4") == clip
    listed = {f["path"]: f["sha256"] for f in json.loads(z.read("manifest.json"))["files"]}
    assert listed[f"{a}/clip.mp4"] == hashlib.sha256(clip).hexdigest()


def test_a_tampered_object_is_refused_on_serve_and_blocks_decisions(env, stored):
    a = stored["cases"][0]
    detail = env.reviewer.get(f"/api/cases/{a}").json()
    assert detail["integrity"]["ok"] is True  # its digests are cached now (by ETag)
    rel = next(r for r in detail["evidence_hashes"] if r.endswith("clip.mp4"))
    key = f"{stored['out_dir']}/{rel}"
    good = _objects(env, key)[key]
    forged = good[:-10] + b"tampered!!"  # same size: only the bytes give it away
    _put(env, key, forged)

    r = env.reviewer.get(detail["evidence"]["clip"])
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed" and forged not in r.content
    r = env.reviewer.get(detail["evidence"]["clip"], headers={"Range": "bytes=0-99"})
    assert r.status_code == 409  # a range is checked over the whole object too
    shown = env.reviewer.get(f"/api/cases/{a}").json()["integrity"]
    assert shown["ok"] is False and any(rel in p and "ingest" in p for p in shown["problems"])
    r = env.reviewer.post(f"/api/cases/{a}/approve")
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"
    report = scrub(env.app.state.session_factory, env.settings)
    assert report.failing == {a: [rel]}

    _put(env, key, good)  # put back: served again
    assert env.reviewer.get(detail["evidence"]["clip"]).content == good


def test_published_media_are_made_into_the_bucket_and_screens_are_served_checked(env, stored, fast_redaction):
    a = stored["cases"][0]
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    with env.app.state.session_factory() as db:
        folder, hashes = db.get(Case, a).published_dir, dict(db.get(Case, a).published_hashes)
    objects = _objects(env, folder + "/")
    assert {k.rsplit("/", 1)[1]: hashlib.sha256(v).hexdigest() for k, v in objects.items()} == hashes
    assert not (env.data_dir / folder).exists()
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200

    item = env.display.get("/api/public/cases").json()["items"][0]
    video = objects[f"{folder}/published.mp4"]
    r = env.display.get(item["media"]["video"])
    assert r.status_code == 200 and r.content == video
    r = env.display.get(item["media"]["video"], headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206 and r.content == video[100:1100]
    assert env.display.get(item["media"]["image"]).content == objects[f"{folder}/published.jpg"]

    _put(env, f"{folder}/published.mp4", video[:-4] + b"evil")
    r = env.display.get(item["media"]["video"])
    assert r.status_code == 409 and r.json()["code"] == "integrity_failed"
    assert env.display.get("/api/public/cases").json()["items"] == []  # and the case left the screens


def test_runs_no_case_refers_to_are_removed_from_the_bucket(env, camera, footage_dir, evidence_template):
    # an analysis whose results cannot be ingested: uploaded, then taken out of the bucket again
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    assert _run(env, up["job_id"], evidence_template, broken=True) == "failed"
    with session_scope(env.app.state.session_factory) as db:
        job = db.get(Job, up["job_id"])
        failed_run = job.out_dir
        job.state = "queued"  # tried again, as an operator's retry does
    assert _objects(env, failed_run + "/") == {}
    assert _run(env, up["job_id"], evidence_template) == "done"
    with env.app.state.session_factory() as db:
        good_run = db.get(Job, up["job_id"]).out_dir
        a = db.scalars(select(Case.id).where(Case.job_id == up["job_id"])).first()
    assert good_run != failed_run and _objects(env, good_run + "/")
    # a worker that died between uploading a run and recording it leaves an orphan: the janitor's
    # (a run of a job this database knows, made after it: a run of no known job is kept, service.janitor)
    orphan = f"jobs/{up['job_id']}/run-9"
    evidence_store(env.settings).commit_tree(orphan, _orphan(env.data_dir, evidence_template))
    assert _objects(env, orphan + "/")
    report = sweep(env.app.state.session_factory, env.settings.model_copy(update={"orphan_run_age_s": 0.001}))
    assert f"s3:{orphan}" in report.removed
    assert _objects(env, orphan + "/") == {}
    assert _objects(env, good_run + "/")  # a run cases refer to stays
    assert env.reviewer.get(f"/api/cases/{a}").json()["integrity"]["ok"] is True


def _orphan(data_dir: Path, template: Path) -> Path:
    local = data_dir / "scratch-orphan"
    copy_run(template, local)
    return local


# ---- the bucket failing while a job writes its evidence ------------------------------------------

WRITES = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")


def _writes_fail(env, monkeypatch, after: int = 0) -> None:
    """From the ``after``-th object on, every write the service's boto3 client sends fails as an
    unreachable endpoint does (``EndpointConnectionError``, after botocore's own retries, whose
    waits are cut to nothing here). Reads and deletes still get through: the outage ended, or only
    the write path is down (a full quota, a gateway refusing uploads)."""
    import botocore.retries.standard
    from botocore.exceptions import EndpointConnectionError

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    sent = {"n": 0}

    def refuse(**_kw):
        if sent["n"] >= after:
            raise EndpointConnectionError(endpoint_url=env.settings.s3_endpoint_url)
        sent["n"] += 1

    # the handlers stay on this test's store only: stores are per bucket, and each test has its own
    events = evidence_store(env.settings).client.meta.events
    for op in WRITES:
        events.register(f"before-send.s3.{op}", refuse, unique_id=f"outage-{op}")


def test_a_bucket_outage_while_storing_a_run_fails_the_job_and_leaves_no_partial_run(
        env, stored, footage_dir, evidence_template, monkeypatch):
    """The job ends failed with the reason for the operator; the objects it managed to write
    before the outage are taken out again (the failed job names its run, so the janitor would keep
    them for good); the cases stored earlier keep every object."""
    from .helpers import LONG_CLIP

    before = _objects(env)
    up = upload_clip(env.operator, footage_dir / LONG_CLIP)
    _writes_fail(env, monkeypatch, after=3)  # three files of the run get in, then the bucket goes
    assert _run(env, up["job_id"], evidence_template) == "failed"
    job = env.operator.get(f"/api/jobs/{up['job_id']}").json()
    assert job["state"] == "failed" and job["error"].startswith("could not store the evidence: EndpointConnectionError")
    assert job["cases_found"] in (None, 0)
    with env.app.state.session_factory() as db:
        failed_run = db.get(Job, up["job_id"]).out_dir
        assert list(db.scalars(select(Case.id).where(Case.job_id == up["job_id"]))) == []
    assert _objects(env, failed_run + "/") == {}  # was: the three objects written before the outage
    assert _objects(env) == before
    for a in stored["cases"]:
        assert env.reviewer.get(f"/api/cases/{a}").json()["integrity"]["ok"] is True


def test_retrying_a_split_job_after_a_bucket_outage_keeps_the_decided_cases_evidence(
        env, camera, footage_dir, evidence_template, monkeypatch, fast_redaction):
    """Segment 1 of a split job is stored and a reviewer approves one of its cases; segment 2 cannot
    store its evidence (the bucket refuses writes) on any try, so the job fails saying so. The
    operator retries it while the bucket still refuses writes: the re-split segment 1 must not write
    into, nor on failure delete, the run folder the approved case's evidence is in (it did: it
    reused ``seg-000-run-1`` and deleted all of it)."""
    from service.jobs.segments import run_segment, split_job
    from service.jobs.work import claim

    owner = "test-worker"
    settings = env.settings.model_copy(update={"segment_s": 1.0, "split_min_s": 1.5})
    factory = env.app.state.session_factory
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]

    def analyze(source, scene_path, out_dir, options, progress=None, should_cancel=None):  # noqa: ANN001
        copy_run(evidence_template, out_dir)

    def split() -> list[int]:
        assert claim(factory, job_id, settings.job_max_attempts, owner, settings.job_lease_s)
        segments = split_job(factory, settings, job_id, owner)
        assert len(segments) == 2
        return segments

    first, second = split()
    done = run_segment(first, factory, settings, analyze, dict, lambda: False, owner)
    assert done.state == "done" and len(done.new_cases) == 2
    approved = done.new_cases[0]
    assert env.reviewer.post(f"/api/cases/{approved}/approve").status_code == 200
    with factory() as db:
        approved_run = db.get(Case, approved).out_dir
    kept = _objects(env, approved_run + "/")
    assert kept

    _writes_fail(env, monkeypatch)
    for _ in range(settings.job_max_attempts):
        outcome = run_segment(second, factory, settings, analyze, dict, lambda: False, owner)
    assert (outcome.state, outcome.parent) == ("failed", "failed")
    job = env.operator.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "failed" and "could not store the evidence" in job["error"]
    assert "segment 2 of 2" in job["error"]

    assert env.operator.post(f"/api/jobs/{job_id}/retry").status_code == 200
    again, _ = split()
    assert run_segment(again, factory, settings, analyze, dict, lambda: False, owner).state == "queued"
    assert _objects(env, approved_run + "/") == kept
    detail = env.reviewer.get(f"/api/cases/{approved}").json()
    assert detail["state"] == "approved" and detail["integrity"]["ok"] is True
    assert env.reviewer.get(detail["evidence"]["clip"]).status_code == 200


class _Body:
    """The raw body botocore reads a short-circuited response from (``AWSResponse.raw.stream()``)."""

    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_kw):
        yield self.data


def _deletes_refused(env) -> None:
    """Every DeleteObjects gets the answer a bucket gives when it keeps the objects (a policy
    denying s3:DeleteObject, a legal hold): HTTP 200, each key listed under ``Error`` with
    AccessDenied. Nothing is deleted."""
    from xml.sax.saxutils import escape

    from botocore.awsrequest import AWSResponse

    def refuse(request, **_kw):
        keys = [k.decode() for k in re.findall(rb"<Key>(.*?)</Key>", request.body or b"")]
        errors = "".join(f"<Error><Key>{escape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
                         "</Error>" for k in keys)
        body = ('<?xml version="1.0" encoding="UTF-8"?><DeleteResult '
                f'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{errors}</DeleteResult>').encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/xml"}, _Body(body))

    evidence_store(env.settings).client.meta.events.register(
        "before-send.s3.DeleteObjects", refuse, unique_id="refuse-deletes")


def _outage_ends(env) -> None:
    events = evidence_store(env.settings).client.meta.events
    for op in WRITES:
        events.unregister(f"before-send.s3.{op}", unique_id=f"outage-{op}")
    events.unregister("before-send.s3.DeleteObjects", unique_id="refuse-deletes")


def test_a_bucket_that_refuses_deletes_as_well_keeps_a_failed_run_apart_until_the_janitor_removes_it(
        env, camera, footage_dir, evidence_template, monkeypatch, caplog):
    """Writes fail half way through storing a run and the bucket refuses the clean-up too. The job
    says why it failed and the refusal is logged (DeleteObjects answers 200 with per-key errors: it
    used to pass for a done delete). The operator's retry runs in a folder of its own (it reused
    ``run-1``, where the failed try's objects still lay, mixed into the new cases' folders), and
    once the bucket deletes again the janitor removes the failed try's objects (it kept them for
    good: the failed job named their folder)."""
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    _writes_fail(env, monkeypatch, after=3)
    _deletes_refused(env)
    with caplog.at_level("ERROR", logger="service.jobs.work"):
        assert _run(env, up["job_id"], evidence_template) == "failed"
    assert "the bucket refused to delete 3 of 3 objects" in caplog.text
    with env.app.state.session_factory() as db:
        failed_run = db.get(Job, up["job_id"]).out_dir
    leftovers = _objects(env, failed_run + "/")
    assert len(leftovers) == 3

    _outage_ends(env)
    assert env.operator.post(f"/api/jobs/{up['job_id']}/retry").status_code == 200
    assert _run(env, up["job_id"], evidence_template) == "done"
    with env.app.state.session_factory() as db:
        good_run = db.get(Job, up["job_id"]).out_dir
        cases = list(db.scalars(select(Case.id).where(Case.job_id == up["job_id"])))
    assert good_run != failed_run
    expected = {p.relative_to(evidence_template).as_posix() for p in evidence_template.rglob("*") if p.is_file()}
    assert {k[len(good_run) + 1:] for k in _objects(env, good_run + "/")} == expected
    assert _objects(env, failed_run + "/") == leftovers  # nothing has removed them yet

    report = sweep(env.app.state.session_factory, env.settings.model_copy(update={"orphan_run_age_s": 0.001}))
    assert f"s3:{failed_run}" in report.removed and f"s3:{good_run}" not in report.removed
    assert _objects(env, failed_run + "/") == {}
    assert cases and all(env.reviewer.get(f"/api/cases/{c}").json()["integrity"]["ok"] for c in cases)


def test_a_segment_try_never_writes_into_a_folder_that_still_holds_objects(env, stored):
    """A re-split job's segment starts again at attempt 1; where a failed try's objects are still in
    ``seg-001-run-1`` (the bucket refused to delete them), the new try takes ``seg-001-run-2``,
    and a folder a case refers to is skipped as before."""
    from service.jobs.work import unused_run_dir

    job_id, store = stored["job_id"], evidence_store(env.settings)
    with env.app.state.session_factory() as db:
        assert unused_run_dir(db, job_id, "seg-001-run-", 1, store) == f"jobs/{job_id}/seg-001-run-1"
        _put(env, f"jobs/{job_id}/seg-001-run-1/cases.json", b"[]")
        assert unused_run_dir(db, job_id, "seg-001-run-", 1, store) == f"jobs/{job_id}/seg-001-run-2"
        db.execute(update(Case).where(Case.id == stored["cases"][0]).values(out_dir=f"jobs/{job_id}/seg-001-run-2"))
        assert unused_run_dir(db, job_id, "seg-001-run-", 1, store) == f"jobs/{job_id}/seg-001-run-3"
        db.rollback()


def test_a_split_job_on_the_bucket_keeps_its_segments_warnings_and_flight_losses(
        env, camera, footage_dir, evidence_template):
    """A pool worker puts a segment's run into the bucket and deletes its own copy; the parent job
    is finished after the last segment (by whichever worker, or the sweep on another machine). It
    read each segment's ``analysis.json`` from the local folder, gone by then: a split job on a
    bucket lost every warning (a truncated file, an unsigned run, nothing judged for part of a
    drone flight) and ended "done" as if the analysis had nothing to say."""
    from service.job_report import warning_items
    from service.jobs.segments import run_segment, split_job
    from service.jobs.work import claim

    owner = "test-worker"
    settings = env.settings.model_copy(update={"segment_s": 1.0, "split_min_s": 1.5})
    factory = env.app.state.session_factory
    job_id = upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"]
    assert claim(factory, job_id, settings.job_max_attempts, owner, settings.job_lease_s)
    segments = split_job(factory, settings, job_id, owner)
    assert len(segments) == 2

    def analyze(source, scene_path, out_dir, options, progress=None, should_cancel=None):  # noqa: ANN001
        copy_run(evidence_template, out_dir)
        start = options["span"][0]
        report = {"warnings": [f"segment from {start:.1f} s: a warning only its analysis.json says"],
                  "registration": {"reference": "scene", "frames": 40, "registered": 30, "unregistered": 10,
                                   "owned_frames": 30, "owned_unregistered": 10,
                                   "losses": [{"from_s": start + 0.2, "to_s": start + 0.6, "frames": 10}]}}
        data = json.dumps(report).encode()
        (out_dir / "analysis.json").write_bytes(data)  # listed in the manifest, as the pipeline lists it
        manifest = json.loads((out_dir / "manifest.json").read_text())
        manifest["files"].append({"path": "analysis.json", "sha256": hashlib.sha256(data).hexdigest(),
                                  "size": len(data)})
        (out_dir / "manifest.json").write_text(json.dumps(manifest))

    outcomes = [run_segment(s, factory, settings, analyze, dict, lambda: False, owner) for s in segments]
    assert [o.state for o in outcomes] == ["done", "done"] and outcomes[-1].parent == "done"
    with factory() as db:
        runs = [db.get(JobSegment, s).out_dir for s in segments]
        warnings = list(db.get(Job, job_id).warnings or [])
    for run in runs:  # the worker keeps no copy: the bucket has the run
        assert not (env.data_dir / run).exists() and _objects(env, run + "/analysis.json")
    assert [w for w in warnings if "a warning only its analysis.json says" in w] == [
        "segment from 0.0 s: a warning only its analysis.json says",
        "segment from 1.0 s: a warning only its analysis.json says"], warnings
    lost = [w for w in warning_items(warnings) if w["code"] == "drone_unregistered"]
    assert len(lost) == 1 and lost[0]["params"]["unregistered"] == 20 and lost[0]["params"]["frames"] == 60
