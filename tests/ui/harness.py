"""A real CivicWatch service on a free localhost port, for browser tests and screenshots.

It runs ``service.main.create_app`` under uvicorn in a thread, with its own data folder and
SQLite file, and seeds it only through the public API (admin bootstrap from the settings, then
users, a display token and the camera), so the pages are tested against what a deployment has.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import av
import cv2
import httpx
import uvicorn

ADMIN_PASSWORD = "station-key-924"
PASSWORDS = {"admin": ADMIN_PASSWORD, "reviewer": "review-desk-481", "operator": "field-crew-472"}
SCREEN = "lobby"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def wait_js(page, expr: str, timeout: float = 30_000) -> None:  # noqa: ANN001
    """Poll the JavaScript expression ``expr`` until it is true (``timeout`` in ms, as Playwright's).

    Playwright's ``wait_for_function`` evaluates a string predicate with ``eval`` inside the page,
    which the service's Content-Security-Policy (``script-src 'self'``) rightly forbids;
    ``page.evaluate`` goes through the DevTools protocol and is not subject to it."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expr):
                return
        except PlaywrightError as err:
            # the page navigated while the expression ran (often what is being waited for): ask the new page
            if "context was destroyed" not in str(err) and "navigat" not in str(err):
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:g} s: {expr}")
        time.sleep(0.05)


def fulfil_json(route, body: Any, status: int = 200) -> None:  # noqa: ANN001
    """Answer a routed request with ``body`` as JSON (an API answer made up by a page test)."""
    route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


def serve_pages(page, base: str, locale: str = "en-US", api: Callable[[Any], bool] | None = None,  # noqa: ANN001
                **settings: Any) -> None:
    """Answer every request ``page`` makes under ``base`` with the service's page routes alone: the
    real templates, scripts and translations, with these ``settings`` (time zone Asia/Shanghai,
    default language English unless given), and no database behind them.

    ``api(route)`` sees each request first and returns True for those it answered (``fulfil_json``),
    so a test of a page's script controls exactly what the API tells it; any other ``/api/`` request
    is a 404 like the service's, so a page never waits on one the test forgot."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from service.web import router

    app = FastAPI()
    app.include_router(router)
    app.state.settings = SimpleNamespace(**{"timezone": "Asia/Shanghai", "default_language": "en", **settings})
    pages = TestClient(app)

    def handle(route) -> None:  # noqa: ANN001
        if api is not None and api(route):
            return
        url = urlsplit(route.request.url)
        if url.path.startswith("/api/"):
            fulfil_json(route, {"detail": "not found", "code": "not_found"}, status=404)
            return
        r = pages.get(url.path + (f"?{url.query}" if url.query else ""), headers={"accept-language": locale})
        route.fulfill(status=r.status_code, content_type=r.headers.get("content-type"), body=r.content)

    page.route(f"{base}/**", handle)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveService:
    base_url: str
    data_dir: Path
    server: uvicorn.Server
    thread: threading.Thread
    display_token: str = ""
    camera_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def client(self, role: str | None = None) -> Iterator[httpx.Client]:
        """An API client, logged in as the user of that role when one is given."""
        # Origin as the pages' own requests carry it: cookie-authenticated writes need it.
        with httpx.Client(base_url=self.base_url, timeout=60, headers={"Origin": self.base_url}) as c:
            if role:
                r = c.post("/api/auth/login", json={"username": role, "password": PASSWORDS[role]})
                r.raise_for_status()
            yield c

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_service(data_dir: Path, **settings: Any) -> LiveService:
    from service.config import Settings
    from service.main import create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'civicwatch.sqlite3'}",
                   admin_password=ADMIN_PASSWORD, job_poll_s=0.2, **settings)
    app = create_app(cfg)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="civicwatch-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the CivicWatch test server did not start")
        time.sleep(0.05)
    return LiveService(f"http://127.0.0.1:{port}", data_dir, server, thread)


def reference_frame(video: Path, out_png: Path, at_s: float = 0.0) -> Path:
    """The first frame (or the one at ``at_s``) of a video as the camera's reference image."""
    with av.open(str(video)) as c:
        for frame in c.decode(video=0):
            if frame.time is None or frame.time >= at_s:
                cv2.imwrite(str(out_png), frame.to_ndarray(format="bgr24"))
                return out_png
    raise ValueError(f"{video}: no frame at {at_s}s")


def seed(svc: LiveService, scene: Path, reference: Path | None) -> LiveService:
    """Users for each human role, a display token for screen ``lobby``, and the camera."""
    with svc.client("admin") as admin:
        for role in ("reviewer", "operator"):
            admin.post("/api/users", json={"username": role, "password": PASSWORDS[role], "role": role}).raise_for_status()
        tok = admin.post("/api/tokens", json={"name": "Lobby screen", "role": "display", "screen": SCREEN})
        tok.raise_for_status()
        svc.display_token = tok.json()["token"]
        files = {"scene": (scene.name, scene.read_bytes(), "application/yaml")}
        if reference is not None:
            files["reference"] = (reference.name, reference.read_bytes(), "image/png")
        cam = admin.post("/api/cameras", files=files)
        cam.raise_for_status()
        svc.camera_id = cam.json()["camera_id"]
    return svc


def upload(svc: LiveService, video: Path, **fields: str) -> int:
    """The operator uploads ``video`` for the seeded camera; returns its job's id (a service
    started with ``runner="none"`` leaves the job queued for the test to finish)."""
    with svc.client("operator") as op:
        up = op.post("/api/uploads", data={"camera": svc.camera_id, **fields},
                     files={"file": (video.name, video.read_bytes(), "video/mp4")})
        up.raise_for_status()
        return up.json()["job_id"]


@dataclass
class FinishedJob:
    db: Any  # the open session: changes to the rows are committed when the block ends
    job: Any
    rows: list  # the ingested Case rows
    run_dir: Path
    written: Any  # what ``write_run`` returned (the cases it wrote, say)


@contextmanager
def finished_job(svc: LiveService, job_id: int, write_run: Callable[[Path], Any]) -> Iterator[FinishedJob]:
    """The job finished as a worker finishes it: ``write_run(folder)`` writes an analysis run (the
    real evidence writer, or a copy of one) into the job's run folder, which is ingested as the
    job's result, and the job is done. The block runs inside that transaction, so a test can
    change the rows (an older record, a tampered file) before anyone sees them."""
    from service.db import session_scope
    from service.ingest import ingest_run
    from service.models import Job

    out_rel = f"jobs/{job_id}/run-1"
    run_dir = svc.data_dir / out_rel
    written = write_run(run_dir)
    with session_scope(svc.server.config.app.state.session_factory) as db:
        job = db.get(Job, job_id)
        job.out_dir = out_rel
        rows = ingest_run(db, job, run_dir, svc.data_dir)
        job.state, job.progress, job.cases_found = "done", 100.0, len(rows)
        yield FinishedJob(db, job, rows, run_dir, written)
