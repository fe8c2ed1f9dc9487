"""The FastAPI application: ``create_app(settings)``.

Startup order matters: folders, migrations, first-admin bootstrap, then the job runner (which
re-queues jobs a previous process left running). The browser pages (``service.web``) are
optional so the API runs and is tested on its own.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import func, select

from civicwatch import __version__
from detector.signing import load_or_create_key
from service import api_docs, body_limit, errors, key_history, log_redaction, web
from service.api import (
    admin,
    audit_log,
    auth,
    cameras,
    cases,
    flight_reports,
    jobs,
    live,
    plates,
    public,
    review_actions,
    stats,
    system,
    uploads,
)
from service.api.common import reject_nul_in_url
from service.config import Settings
from service.db import make_engine, make_session_factory, migrate, session_scope
from service.list_cache import ListCache
from service.db_slots import SessionSlots, session_capacity
from service.http_security import SecurityMiddleware
from service.integrity_scrub import Scrubber
from service.janitor import Janitor
from service.jobs import InProcessRunner, JobRunner, NullRunner
from service.jobs.work import AnalyzeFn
from service.live.notices import CameraNotices
from service.live.recorders import LiveManager
from service.models import User
from service.web import not_found

log = logging.getLogger(__name__)


def bootstrap_admin(factory, settings: Settings) -> bool:
    """Create ``admin`` from CIVICWATCH_ADMIN_PASSWORD on a start that finds no users."""
    if not settings.admin_password:
        return False
    from service import audit
    from service.api.admin import create_user

    with session_scope(factory) as db:
        if db.scalar(select(func.count()).select_from(User)):
            return False
        try:
            user = create_user(db, "admin", settings.admin_password, "admin")
        except errors.ApiError as err:  # a weak bootstrap password: say which setting, then stop
            raise RuntimeError(f"CIVICWATCH_ADMIN_PASSWORD refused: {err.detail}") from None
        audit.record(db, None, "system", "user.create", "user", user.id, username="admin", role="admin",
                     via="CIVICWATCH_ADMIN_PASSWORD")
        return True


def create_app(settings: Settings | None = None, runner: JobRunner | None = None,
               analyze_fn: AnalyzeFn | None = None) -> FastAPI:
    """``analyze_fn`` replaces the pipeline (runner unit tests only); ``runner`` replaces the runner."""
    settings = settings or Settings()
    log_redaction.install()  # tokens out of the access log (an old ?token= bookmark)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    if runner is None:
        if settings.runner == "none":
            runner = NullRunner()
        elif settings.runner == "celery":  # the worker pool: ``civicwatch worker`` processes run the jobs
            from service.jobs.celery_runner import CeleryRunner

            runner = CeleryRunner(factory, settings)
        else:
            runner = InProcessRunner(factory, settings, analyze_fn=analyze_fn)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        settings.ensure_dirs()
        migrate(settings, engine)
        if bootstrap_admin(factory, settings):
            log.info("created user 'admin' from CIVICWATCH_ADMIN_PASSWORD")
        janitor = Janitor(factory, settings)  # orphans of crashed or abandoned work (service.janitor)
        janitor.start()
        scrubber = Scrubber(factory, settings)  # every byte read again now and then (service.integrity_scrub)
        scrubber.start()
        runner.start()
        live_manager = LiveManager(factory, settings, runner.submit)  # live cameras (service.live)
        live_manager.start()
        app.state.live_manager = live_manager  # woken when a stream URL changes (service.api.live)
        notices = CameraNotices(factory, settings)  # cameras offline / online on MQTT and webhooks
        notices.start()
        try:
            yield
        finally:
            notices.stop()
            live_manager.stop()
            runner.stop()
            scrubber.stop()
            janitor.stop()
            engine.dispose()

    app = FastAPI(title="CivicWatch review service", version=__version__, lifespan=lifespan,
                  description="Drone uploads, processing jobs, case review and public exposure screens.",
                  dependencies=[Depends(reject_nul_in_url)], docs_url=None, redoc_url=None,  # api_docs: no CDN
                  responses=errors.EVERY_ROUTE)  # 422 (NUL in the URL), 503 / 507 (faults) anywhere
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = factory
    app.state.list_cache = ListCache(settings.queue_cache_ttl_s)  # the review queue's micro-cache
    app.state.list_cache.watch(factory)
    app.state.db_slots = SessionSlots(session_capacity(engine))  # no thread-pool deadlock under load
    app.state.runner = runner
    app.state.secret_key = settings.resolved_secret_key()
    app.state.signing_key = load_or_create_key(settings.signing_key_path)
    key_history.remember(settings.data_dir, app.state.signing_key)  # still published after a key change
    app.state.metrics_registry = system.make_registry(factory, settings)
    errors.install(app)
    not_found.install(app)  # browsers get an HTML 404 page, /api/ keeps JSON
    api_docs.install(app)
    app.add_middleware(body_limit.BodyLimitMiddleware)  # bodies routes read whole are capped; inside: refusals get the headers
    body_limit.document(app)
    app.add_middleware(SecurityMiddleware, allowed_origins=settings.allowed_origins)
    for module in (auth, admin, live, cameras, uploads, jobs, flight_reports, cases, review_actions, plates, public,
                   audit_log, stats, system):
        app.include_router(module.router)
    app.include_router(web.router)
    return app
