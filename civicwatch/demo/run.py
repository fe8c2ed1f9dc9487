"""``civicwatch demo run``: the whole product on one machine, set up the way a city would use it.

It starts the real service (SQLite file, evidence on local disk, in-process worker) and then
drives it only through its public HTTP API, as the people in the brief would: the admin creates
the reviewer and operator and registers the camera; the operator uploads the demo footage; the
worker analyses it; a display token is made for the exposure screen. Going through the API keeps
the demo honest: anything that works here works for a real deployment.

Passwords are generated on the first run and kept in ``<data_dir>/demo-credentials.json`` (mode
0600), so a second run reuses the same database, users and cases.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import httpx

from civicwatch.commands import cannot_listen
from civicwatch.demo import DemoFootage, build_demo

DEFAULT_DATA_DIR = Path("var") / "demo"
DEMO_SCREEN = "demo-screen"
USERS = {"reviewer": "reviewer", "operator": "operator"}  # username -> role


@dataclass
class DemoCredentials:
    admin: str
    reviewer: str
    operator: str
    display_token: str | None = None

    @classmethod
    def load_or_create(cls, path: Path) -> "DemoCredentials":
        if path.is_file():
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        creds = cls(*(secrets.token_urlsafe(9) for _ in range(3)))
        creds.save(path)
        return creds

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.__dict__, fh, indent=2)
        tmp.replace(path)


def reference_frame_jpeg(video: Path, at_s: float = 0.0) -> bytes:
    """The camera's reference frame: the first frame of the footage, as the page draws zones on it."""
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is None or frame.time >= at_s:
                ok, data = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, 90])
                if ok:
                    return data.tobytes()
    raise RuntimeError(f"{video}: no frame to use as the reference")


def _expect(resp: httpx.Response, *ok: int) -> httpx.Response:
    if resp.status_code not in ok:
        raise RuntimeError(f"{resp.request.method} {resp.request.url.path}: {resp.status_code} {resp.text[:300]}")
    return resp


@contextmanager
def _login(base: str, username: str, password: str) -> Iterator[httpx.Client]:
    # The service refuses cookie-authenticated writes without a same-origin Origin (CSRF check):
    # this script talks to the service it started, so it says so.
    with httpx.Client(base_url=base, timeout=120.0, headers={"Origin": base.rstrip("/")}) as client:
        _expect(client.post("/api/auth/login", json={"username": username, "password": password}), 200)
        yield client


def provision(base: str, demo: DemoFootage, creds: DemoCredentials, creds_path: Path) -> int | None:
    """Users, camera, display token and the upload, each only if missing. Returns the job id."""
    import yaml

    scene_text = demo.scene.read_text(encoding="utf-8")
    camera_id = yaml.safe_load(scene_text)["camera"]
    with _login(base, "admin", creds.admin) as admin:
        existing = {u["username"] for u in _expect(admin.get("/api/users"), 200).json()}
        for name, role in USERS.items():
            if name not in existing:
                body = {"username": name, "password": getattr(creds, name), "role": role}
                _expect(admin.post("/api/users", json=body), 201, 200)
        if admin.get(f"/api/cameras/{camera_id}").status_code == 404:
            files = {"scene": ("scene.yaml", scene_text.encode("utf-8"), "application/x-yaml"),
                     "reference": ("reference.jpg", reference_frame_jpeg(demo.video), "image/jpeg")}
            _expect(admin.post("/api/cameras", files=files), 201)
        if creds.display_token is None:
            body = {"name": "demo exposure screen", "role": "display", "screen": DEMO_SCREEN}
            creds.display_token = _expect(admin.post("/api/tokens", json=body), 201, 200).json()["token"]
            creds.save(creds_path)
    with _login(base, "operator", creds.operator) as operator:
        with demo.video.open("rb") as fh:
            # no place typed: the case shows the scene's place, named in both languages
            resp = operator.post("/api/uploads", data={"camera": camera_id},
                                 files={"file": (demo.video.name, fh, "video/mp4")})
        if resp.status_code == 409:  # already uploaded on an earlier run
            return None
        return _expect(resp, 201).json()["job_id"]


def follow_job(base: str, creds: DemoCredentials, job_id: int, timeout_s: float = 1800.0) -> dict:
    with _login(base, "operator", creds.operator) as operator:
        deadline = time.monotonic() + timeout_s
        last = -1
        while time.monotonic() < deadline:
            job = _expect(operator.get(f"/api/jobs/{job_id}"), 200).json()
            pct = int(job.get("progress") or 0)
            if pct != last:
                print(f"  job {job_id}: {job['state']} {pct}%", flush=True)
                last = pct
            if job["state"] in ("done", "failed", "cancelled"):
                return job
            time.sleep(1.0)
    raise TimeoutError(f"job {job_id} did not finish in {timeout_s:.0f} s")


def run_demo(host: str = "127.0.0.1", port: int = 8000, data_dir: Path = DEFAULT_DATA_DIR,
             serve_forever: bool = True) -> int:
    import uvicorn

    from service.config import Settings
    from service.main import create_app

    why = cannot_listen(host, port)
    if why is not None:
        print(f"civicwatch demo: the server could not start: {why}", file=sys.stderr)
        return 2
    print("building the demo footage (real photographs from Debian's darknet package)...", flush=True)
    demo = build_demo()
    creds_path = data_dir / "demo-credentials.json"
    creds = DemoCredentials.load_or_create(creds_path)
    settings = Settings(data_dir=data_dir, admin_password=creds.admin)
    app = create_app(settings)
    # the client address is the peer's unless trust_forwarded_for says otherwise (as civicwatch serve)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=False))
    thread = threading.Thread(target=server.run, name="civicwatch-http", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            print(f"civicwatch demo: the server could not start on {host}:{port} (is the port in use?)", file=sys.stderr)
            return 2
        time.sleep(0.1)
    base = f"http://{host}:{port}"
    code, ready = 0, False
    try:
        job_id = provision(base, demo, creds, creds_path)
        if job_id is not None:
            print("analysing the demo footage (the operator's upload is job "
                  f"{job_id}; follow it at {base}/jobs too)...", flush=True)
            job = follow_job(base, creds, job_id)
            if job["state"] != "done":
                # the review UI is still served (the job page says more), but the command says it failed
                print(f"civicwatch demo: the job ended {job['state']}: {job.get('error')}", file=sys.stderr)
                code = 1
            else:
                print(f"  {job.get('cases_found')} case(s) found", flush=True)
        print(f"""
CivicWatch demo is running at {base}
  review (traffic police):  {base}/review   user reviewer / {creds.reviewer}
  uploads (drone operator): {base}/upload   user operator / {creds.operator}
  administration:           {base}/admin    user admin / {creds.admin}
  exposure screen:          {base}/display/{DEMO_SCREEN}  (pair it once with display token {creds.display_token})
Approve a case on the review page, then publish it, and it appears on the exposure screen. Ctrl-C stops.
(Credentials are kept in {creds_path}.)""", flush=True)
        ready = True
        if serve_forever:
            thread.join()
    except KeyboardInterrupt:
        if not ready:
            code = 130  # Ctrl-C before the demo was ready (while analysing): not a success
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    return code
