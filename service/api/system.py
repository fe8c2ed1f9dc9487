"""Health, Prometheus metrics, and the installation's public signing key."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from detector.signing import ALGORITHM, public_pem
from detector.signing import fingerprint as key_fingerprint
from service.api.schemas import Health, SigningKey
from service.db import ping
from service import key_history
from service.errors import ApiError, responses
from service.faults import disk_free
from service.metrics_http import REFUSAL, bearer_ok
from service.models import JOB_STATES, Case, Job, JobSegment

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health, responses={
    503: {"model": Health, "description": "Not ready: the database does not answer, the disk is (nearly) full or "
                                          "the in-process job worker has stopped"}})
def healthz(request: Request):
    """Ready to take work: the database answers, the data folder's disk has at least
    ``min_free_disk_bytes`` free (a full disk turns uploads, logins and decisions into 507s), and
    the in-process job worker runs (``worker``: ``external`` where workers are other processes)."""
    settings = request.app.state.settings
    db_ok = ping(request.app.state.engine)
    try:
        free = disk_free(settings.data_dir)
    except OSError:
        free = -1
    disk_ok = free >= settings.min_free_disk_bytes
    # the in-process job worker: a thread that ended leaves every upload queued for good
    alive = getattr(request.app.state.runner, "worker_alive", None)
    worker = "external" if alive is None else "ok" if alive() else "stopped"
    ok = db_ok and disk_ok and worker != "stopped"
    return JSONResponse({"status": "ok" if ok else "unavailable", "db": "ok" if db_ok else "unreachable",
                         "disk": "ok" if disk_ok else "low", "worker": worker, "disk_free_bytes": free,
                         "disk_min_free_bytes": settings.min_free_disk_bytes}, 200 if ok else 503)


@router.get("/api/signing-key", response_model=SigningKey, responses={200: {
    "description": "PEM by default; with ``format=json`` the key with its algorithm, fingerprint and the keys used before it",
    "content": {"application/x-pem-file": {"schema": {"type": "string"}}}}, **responses(404)})
def signing_key(request: Request, format: Literal["pem", "json"] = "pem",  # noqa: A002 - the query parameter's name
                fingerprint: str | None = Query(default=None, pattern="^[0-9a-f]{16}$")):
    """The public key that signs this installation's manifests and case exports. Public on
    purpose: anyone holding an export checks it offline with ``civicwatch verify --key``.
    ``?format=json`` adds the algorithm, fingerprint and the keys used before this one
    (``previous``); ``?fingerprint=`` (the one ``civicwatch verify`` names) gives that key, current
    or previous, so an export signed before a key change still verifies."""
    key = request.app.state.signing_key
    current = {"algorithm": ALGORITHM, "fingerprint": key_fingerprint(key), "public_key_pem": public_pem(key)}
    noted = key_history.known(request.app.state.settings.data_dir)
    current["first_used_utc"] = next((k["first_used_utc"] for k in noted if k["fingerprint"] == current["fingerprint"]),
                                     None)
    previous = [k for k in noted if k["fingerprint"] != current["fingerprint"]]
    chosen = current
    if fingerprint is not None and fingerprint != current["fingerprint"]:
        chosen = next((k for k in previous if k["fingerprint"] == fingerprint), None)
        if chosen is None:
            raise ApiError(404, f"no signing key {fingerprint} was ever used by this installation",
                           code="unknown_signing_key")
    if format == "json":
        return {**chosen, "previous": previous} if chosen is current else chosen
    return Response(chosen["public_key_pem"], media_type="application/x-pem-file",
                    headers={"X-Key-Fingerprint": chosen["fingerprint"],
                             "Content-Disposition": 'inline; filename="civicwatch-signing-key.pub.pem"'})


class DbCollector:
    """Counts read from the database at scrape time: correct across restarts and workers."""

    def __init__(self, factory) -> None:  # noqa: ANN001
        self.factory = factory

    def collect(self):
        jobs = GaugeMetricFamily("civicwatch_jobs", "Jobs by state", labels=["state"])
        cases = GaugeMetricFamily("civicwatch_cases", "Cases by state and rule", labels=["state", "rule"])
        speed = GaugeMetricFamily("civicwatch_processing_speed_ratio",
                                  "Seconds of video analysed per second of processing, over all finished jobs")
        last_speed = GaugeMetricFamily("civicwatch_last_job_processing_speed_ratio",
                                       "Seconds of video per second of processing, most recent finished job")
        video = GaugeMetricFamily("civicwatch_video_seconds_processed", "Seconds of video in finished jobs")
        segments = GaugeMetricFamily("civicwatch_job_segments", "Segments of split jobs (worker pool) by state",
                                     labels=["state"])
        with self.factory() as db:
            counts = dict(db.execute(select(Job.state, func.count()).group_by(Job.state)).all())
            for state in JOB_STATES:
                jobs.add_metric([state], counts.get(state, 0))
            seg_counts = dict(db.execute(select(JobSegment.state, func.count()).group_by(JobSegment.state)).all())
            for state in JOB_STATES:
                segments.add_metric([state], seg_counts.get(state, 0))
            for state, rule, n in db.execute(select(Case.state, Case.rule, func.count()).group_by(Case.state, Case.rule)):
                cases.add_metric([state, rule], n)
            v, p = db.execute(select(func.sum(Job.video_seconds), func.sum(Job.processing_seconds))
                              .where(Job.state == "done", Job.processing_seconds > 0)).one()
            speed.add_metric([], float(v or 0) / float(p) if p else 0.0)
            video.add_metric([], float(v or 0))
            last = db.execute(select(Job.video_seconds, Job.processing_seconds).where(
                Job.state == "done", Job.processing_seconds > 0).order_by(Job.finished_at.desc()).limit(1)).first()
            last_speed.add_metric([], float(last[0] or 0) / float(last[1]) if last else 0.0)
        yield from (jobs, cases, speed, last_speed, video, segments)


def make_registry(factory, settings=None) -> CollectorRegistry:  # noqa: ANN001
    from service.config import Settings
    from service.live.health import LiveCollector

    registry = CollectorRegistry()
    registry.register(DbCollector(factory))
    registry.register(LiveCollector(factory, settings or Settings()))  # recorders per camera
    return registry


# ``response_class=Response``: no media type of its own, so the error answers stay documented as JSON
@router.get("/metrics", response_class=Response, responses={200: {
    "description": "Prometheus text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}},
    **responses(401)})
def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None and not bearer_ok(request.headers.get("authorization"), token):
        raise ApiError(401, REFUSAL, headers={"WWW-Authenticate": "Bearer"}, code="metrics_token")
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
