"""The review service under load: the review queue and the case view, against /healthz.

Usage (from the repo root, after scripts/setup.sh; the footage folder sits beside the checkout):

    .venv/bin/python benchmarks/service_load.py                       # SQLite, 200 cases, 20 s a phase
    .venv/bin/python benchmarks/service_load.py --postgres            # the local PostgreSQL
    .venv/bin/python benchmarks/service_load.py --cases 400 --duration 30 --json out.json

What it does:

1. seeds a fresh data folder with ``--cases`` pending cases, each with real evidence (clip, track
   file, snapshot, crop, sheet, cut from real footage by the real evidence writer, as the service
   tests do: ``tests/service/helpers.make_run``), ingested by the real ``service.ingest``;
2. starts the real service in its own process (``civicwatch serve``: uvicorn, one worker, the job
   runner idle), logs in as a reviewer and takes the session cookie;
3. drives, in turn, ``GET /healthz`` (the trivial endpoint: the same server, middleware and
   connection handling, one ``SELECT 1``), ``GET /api/cases?state=pending&limit=50`` (the review
   page's queue: 50 items per page, pages in rotation) and ``GET /api/cases/{id}`` (the case view,
   every case in rotation, after one pass that fills the hash cache), each first as fast as
   ``--connections`` keep-alive clients can (closed loop: throughput) and then the queue at a fixed
   ``--rate`` (open loop: the latency a shift's load would see; each request is timed from when it
   was due, so a stalled server cannot hide its backlog).

It reports req/s and p50/p95/p99 latency per phase, and each endpoint's throughput as a ratio of
/healthz's in the same run: the machine is shared, and the ratio moves less than the absolute
figures when other work runs beside it.

The load client is a minimal HTTP/1.1 keep-alive client on asyncio in this process: on a 2-core
machine an httpx client spends more CPU per request than the server's endpoints do, and would
measure itself. Its own cost is small but not zero; it is shown as ``client CPU``. Last, the
same three requests go through the ASGI app in this process (no HTTP server, no client) and their
CPU time is taken, the least of several batches: the figure other work on the machine moves least.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_FOOTAGE = ROOT.parent / "shared" / "footage"
DEFAULT_POSTGRES = os.environ.get("CIVICWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_PASSWORD = "bench-station-key-924"
REVIEWER, REVIEWER_PASSWORD = "rita", "bench-review-pass-123"
QUEUE_PAGE = 50
DRAIN_S = 10.0  # open loop: how long answers due in the phase are awaited after it


# ---------------------------------------------------------------- seeding


def make_template(footage: Path, work: Path) -> tuple[Path, Path]:
    """One real evidence run folder (two cases) and its scene file, as the service tests make them."""
    from tests.service.helpers import SCENE_YAML, SHORT_CLIP, make_run

    source = footage / SHORT_CLIP
    if not source.is_file():
        raise SystemExit(f"footage missing: {source} (pass --footage)")
    scene = work / "bj-overpass.yaml"
    scene.write_text(SCENE_YAML, encoding="utf-8")
    run = work / "run-template"
    cases = make_run(source, run, scene)
    if len(cases) != 2:
        raise SystemExit(f"the template run made {len(cases)} cases, expected 2")
    return run, scene


def seed(data_dir: Path, database_url: str | None, template: Path, scene: Path, n_cases: int) -> list[str]:
    """A data folder as a running service would have it after ``n_cases`` cases came in: an admin,
    a reviewer, the camera, and one upload + finished job per run folder (two cases each)."""
    from fastapi.testclient import TestClient

    from service.config import Settings
    from service.db import session_scope
    from service.ingest import ingest_run
    from service.main import create_app
    from service.models import Job, Upload
    from tests.service.helpers import copy_run

    settings = Settings(data_dir=data_dir, database_url=database_url, admin_password=ADMIN_PASSWORD, runner="none")
    app = create_app(settings)
    with TestClient(app) as client:  # lifespan: migrations and the admin
        r = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        r.raise_for_status()
        client.headers["Origin"] = "http://testserver"
        r = client.post("/api/users", json={"username": REVIEWER, "password": REVIEWER_PASSWORD, "role": "reviewer"})
        r.raise_for_status()
        r = client.post("/api/cameras", files={"scene": ("scene.yaml", scene.read_bytes(), "application/x-yaml")})
        r.raise_for_status()
        camera = r.json()["camera_id"]
        ids: list[str] = []
        runs = math.ceil(n_cases / 2)
        with session_scope(app.state.session_factory) as db:
            for i in range(runs):
                # Upload rows stand for the drone uploads the runs came from (the case list and
                # view read their place and id, never the video itself).
                up = Upload(
                    path=f"uploads/bench-{i}.mp4",
                    filename=f"bench-{i}.mp4",
                    sha256=secrets.token_hex(32),
                    size=0,
                    camera_id=camera,
                    place=None,
                )
                db.add(up)
                db.flush()
                job = Job(upload_id=up.id, state="done", progress=100.0, attempts=1)
                db.add(job)
                db.flush()
                job.upload = up
                job.out_dir = f"jobs/{job.id}/run-1"
                copy_run(template, data_dir / job.out_dir)
                rows = ingest_run(db, job, data_dir / job.out_dir, data_dir)
                job.cases_found = len(rows)
                ids.extend(r.id for r in rows)
                db.flush()
    return ids  # two a run: an odd --cases gets one more


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, database_url: str | None, port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "CIVICWATCH_DATA_DIR": str(data_dir)}
    env.pop("CIVICWATCH_CONFIG", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
        env.pop("CIVICWATCH_DATABASE_URL", None)
    cmd = [
        sys.executable,
        "-c",
        "import sys; from civicwatch.cli import main; sys.exit(main())",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited with {proc.returncode}; log:\n{log_path.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("the service did not start listening within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the load client


class HttpError(Exception):
    pass


class Conn:
    """One keep-alive HTTP/1.1 connection; GET only, Content-Length or chunked bodies."""

    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        reused = self.writer is not None
        if not reused:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}\r\n".encode("latin-1"))
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError) as err:
            if not reused or (isinstance(err, asyncio.IncompleteReadError) and err.partial):
                raise
            # the server closed this idle keep-alive connection (uvicorn: after 5 s): a new one, as
            # every HTTP client does
            self.close()
            return await self.get(path)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if "content-length" in hdrs:
            body = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        else:
            raise HttpError(f"{path}: a response with neither Content-Length nor chunked body")
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Phase:
    name: str
    mode: str  # "closed" (as fast as the clients go) or "open" (a fixed arrival rate)
    connections: int
    seconds: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_share: float  # the server's CPU seconds per wall second (1.0 = one core busy)
    client_cpu_share: float
    server_cpu_ms: float  # the server's CPU time per answered request: what the endpoint costs
    # however busy the machine is; 1000 / server_cpu_ms is what one free core would serve
    target_rps: float | None = None
    error_samples: list[str] = field(default_factory=list)


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, math.ceil(q / 100 * len(sorted_ms)) - 1))
    return sorted_ms[k]


def summarise(
    name: str,
    mode: str,
    connections: int,
    seconds: float,
    lat_ms: list[float],
    errors: list[str],
    server_cpu: float,
    client_cpu: float,
    target: float | None = None,
) -> Phase:
    lat = sorted(lat_ms)
    return Phase(
        name,
        mode,
        connections,
        round(seconds, 2),
        len(lat),
        len(errors),
        round(len(lat) / seconds, 1),
        round(percentile(lat, 50), 1),
        round(percentile(lat, 95), 1),
        round(percentile(lat, 99), 1),
        round(lat[-1] if lat else float("nan"), 1),
        round(server_cpu / seconds, 2),
        round(client_cpu / seconds, 2),
        round(server_cpu * 1000 / max(1, len(lat)), 2),
        target,
        errors[:5],
    )


class Driver:
    def __init__(self, port: int, cookie: str, pid: int):
        self.port, self.pid = port, pid
        self.headers = {"Cookie": f"cw_session={cookie}", "Accept": "application/json"}

    def conn(self) -> Conn:
        return Conn("127.0.0.1", self.port, self.headers)

    async def closed(self, name: str, paths, connections: int, seconds: float, warmup: float) -> Phase:
        """``connections`` clients, each sending its next request as soon as the last is answered."""
        lat: list[float] = []
        errors: list[str] = []
        t_start = time.perf_counter()
        measure_from = t_start + warmup
        stop_at = measure_from + seconds
        marks: dict[str, float] = {}

        async def client() -> None:
            c = self.conn()
            try:
                while True:
                    now = time.perf_counter()
                    if now >= stop_at:
                        return
                    path = next(paths)
                    try:
                        status, body = await c.get(path)
                    except (OSError, asyncio.IncompleteReadError, HttpError, ValueError) as err:
                        c.close()
                        status, body = -1, str(err).encode()
                    done = time.perf_counter()
                    if now >= measure_from and done <= stop_at:
                        if status == 200:
                            lat.append((done - now) * 1000)
                        else:
                            errors.append(f"{path}: {status} {body[:200]!r}")
            finally:
                c.close()

        async def mark() -> None:
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            marks["cpu0"], marks["self0"] = server_cpu_s(self.pid), time.process_time()

        await asyncio.gather(mark(), *(client() for _ in range(connections)))
        server_cpu = server_cpu_s(self.pid) - marks["cpu0"]
        client_cpu = time.process_time() - marks["self0"]
        return summarise(name, "closed", connections, seconds, lat, errors, server_cpu, client_cpu)

    async def open(self, name: str, paths, rate: float, seconds: float, warmup: float, max_connections: int) -> Phase:
        """Requests due at a fixed rate; each latency counts from when its request was due."""
        lat: list[float] = []
        errors: list[str] = []
        idle: list[Conn] = []
        opened = 0
        slots = asyncio.Semaphore(max_connections)
        t0 = time.perf_counter()
        measure_from = t0 + warmup
        stop_at = measure_from + seconds
        tasks: list[asyncio.Task] = []
        marks: dict[str, float] = {}

        async def one(due: float, path: str) -> None:
            nonlocal opened
            async with slots:
                if idle:
                    c = idle.pop()
                else:
                    c, opened = self.conn(), opened + 1
                try:
                    status, body = await c.get(path)
                    idle.append(c)
                except (OSError, asyncio.IncompleteReadError, HttpError, ValueError) as err:
                    c.close()
                    status, body = -1, str(err).encode()
                except asyncio.CancelledError:
                    c.close()
                    raise
            done = time.perf_counter()
            if due >= measure_from and due < stop_at:
                if status == 200:
                    lat.append((done - due) * 1000)
                else:
                    errors.append(f"{path}: {status} {body[:200]!r}")

        i = 0
        while True:
            due = t0 + i / rate
            if due >= stop_at:
                break
            if "cpu0" not in marks and due >= measure_from:
                marks["cpu0"], marks["self0"], marks["t"] = (
                    server_cpu_s(self.pid),
                    time.process_time(),
                    time.perf_counter(),
                )
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, next(paths))))
            i += 1
        # A server slower than the rate leaves a backlog: wait a little for it, then count the
        # rest as unanswered (errors) rather than wait for ever.
        _, late = await asyncio.wait(tasks, timeout=DRAIN_S)
        for task in late:
            task.cancel()
        errors.extend(["unanswered within the drain time"] * len(late))
        wall = time.perf_counter() - marks["t"]
        server_cpu = server_cpu_s(self.pid) - marks["cpu0"]
        client_cpu = time.process_time() - marks["self0"]
        for c in idle:
            c.close()
        phase = summarise(
            name,
            "open",
            max_connections,
            seconds,
            lat,
            errors,
            server_cpu * seconds / wall,
            client_cpu * seconds / wall,
            rate,
        )
        phase.rps = round(len(lat) / wall, 1)  # answered per second, including the tail after the last was due
        phase.server_cpu_ms = round(server_cpu * 1000 / max(1, len(lat)), 2)
        return phase


def rotate(items: list[str]):
    while True:
        yield from items


async def login(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"username": REVIEWER, "password": REVIEWER_PASSWORD}).encode()
    writer.write(
        f"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    raw = await reader.read()
    writer.close()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    if " 200 " not in head.split("\r\n")[0]:
        raise SystemExit(f"reviewer login failed: {raw[:400]!r}")
    for line in head.split("\r\n"):
        if line.lower().startswith("set-cookie:") and "cw_session=" in line:
            return line.split("cw_session=", 1)[1].split(";", 1)[0]
    raise SystemExit("reviewer login set no session cookie")


async def check_endpoints(driver: Driver, ids: list[str]) -> None:
    """The figures mean something only if the endpoints answer what the page needs."""
    c = driver.conn()
    status, body = await c.get(f"/api/cases?state=pending&limit={QUEUE_PAGE}")
    page = json.loads(body)
    if status != 200 or len(page["items"]) != QUEUE_PAGE or page["total"] != len(ids):
        raise SystemExit(f"queue answered {status}: {len(page.get('items', []))} items of {page.get('total')}")
    status, body = await c.get(f"/api/cases/{ids[0]}")
    case = json.loads(body)
    if status != 200 or not case["integrity"]["ok"] or not case["integrity"]["checked"]:
        raise SystemExit(f"case view answered {status}: integrity {case.get('integrity')}")
    c.close()


async def drive(port: int, pid: int, ids: list[str], args) -> list[Phase]:
    cookie = await login(port)
    driver = Driver(port, cookie, pid)
    await check_endpoints(driver, ids)
    pages = [
        f"/api/cases?state=pending&limit={QUEUE_PAGE}&offset={o}"
        for o in range(0, max(1, len(ids) - QUEUE_PAGE + 1), QUEUE_PAGE)
    ]
    views = [f"/api/cases/{i}" for i in ids]
    # One pass over every case view first: the first view of a case hashes its files (cold cache).
    c = driver.conn()
    t0 = time.perf_counter()
    for v in views:
        await c.get(v)
    c.close()
    cold = (time.perf_counter() - t0) / len(views) * 1000
    print(f"  first view of each case (hashing its evidence): {cold:.1f} ms a case", flush=True)
    phases = []
    for name, paths in (("healthz", ["/healthz"]), ("queue (50 items)", pages), ("case view", views)):
        phase = await driver.closed(name, rotate(paths), args.connections, args.duration, args.warmup)
        print(f"  {fmt(phase)}", flush=True)
        phases.append(phase)
    for rate in args.rate:
        phase = await driver.open(
            f"queue (50 items) at {rate:g}/s", rotate(pages), rate, args.duration, args.warmup, args.max_connections
        )
        print(f"  {fmt(phase)}", flush=True)
        phases.append(phase)
    return phases


def fmt(p: Phase) -> str:
    mode = f"{p.connections} conn" if p.mode == "closed" else f"open {p.target_rps:g}/s"
    return (
        f"{p.name:<30} {mode:>12}  {p.rps:7.1f} req/s  p50 {p.p50_ms:6.1f}  p95 {p.p95_ms:6.1f}  "
        f"p99 {p.p99_ms:6.1f}  max {p.max_ms:6.1f} ms  errors {p.errors}  server CPU {p.server_cpu_share:.2f} "
        f"({p.server_cpu_ms:.2f} ms a request)  client CPU {p.client_cpu_share:.2f}"
        + (f"\n    e.g. {p.error_samples[0]}" if p.error_samples else "")
    )


# ---------------------------------------------------------------- in-process CPU per request


def in_process_cpu(
    data_dir: Path, database_url: str | None, ids: list[str], batches: int = 7, per_batch: int = 30
) -> dict[str, float]:
    """CPU ms a request through the whole ASGI app (middleware, routing, dependencies, thread pool,
    database; no HTTP server, no client), the least of ``batches``: the figure that other work on
    the machine disturbs least."""
    from service.config import Settings
    from service.main import create_app

    app = create_app(Settings(data_dir=data_dir, database_url=database_url, runner="none"))
    paths = {
        "healthz": "/healthz",
        "queue (50 items)": f"/api/cases?state=pending&limit={QUEUE_PAGE}",
        "case view": f"/api/cases/{ids[0]}",
    }

    async def call(method: str, path: str, headers: list, body: bytes = b"") -> tuple[int, list, bytes]:
        route, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        out: dict = {"body": b""}

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                out["status"], out["headers"] = message["status"], message["headers"]
            else:
                out["body"] += message.get("body", b"")

        await app(scope, receive, send)
        return out["status"], out["headers"], out["body"]

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            body = json.dumps({"username": REVIEWER, "password": REVIEWER_PASSWORD}).encode()
            status, headers, _ = await call("POST", "/api/auth/login", [(b"content-type", b"application/json")], body)
            cookie = next(v.split(b";")[0] for k, v in headers if k == b"set-cookie" and v.startswith(b"cw_session="))
            auth = [(b"cookie", cookie), (b"accept", b"application/json")]
            result = {}
            for name, path in paths.items():
                status, _, _ = await call("GET", path, auth)
                if status != 200:
                    raise SystemExit(f"in-process {path}: {status}")
                best = float("inf")
                for _ in range(batches):
                    t0 = time.process_time()
                    for _ in range(per_batch):
                        await call("GET", path, auth)
                    best = min(best, (time.process_time() - t0) / per_batch * 1000)
                result[name] = round(best, 2)
            return result

    return asyncio.run(run())


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=200, help="pending cases to seed (>= 50; default 200)")
    ap.add_argument("--duration", type=float, default=20.0, help="measured seconds per phase (default 20)")
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each phase (default 3)")
    ap.add_argument("--connections", type=int, default=8, help="closed-loop clients (default 8)")
    ap.add_argument(
        "--rate",
        type=float,
        nargs="*",
        default=[200.0],
        help="open-loop arrival rates for the queue, req/s (default 200)",
    )
    ap.add_argument("--max-connections", type=int, default=64, help="open-loop connection cap (default 64)")
    ap.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        default=None,
        metavar="URL",
        help=f"run on PostgreSQL (a fresh database on this server; default {DEFAULT_POSTGRES})",
    )
    ap.add_argument("--footage", type=Path, default=DEFAULT_FOOTAGE, help="the shared footage folder")
    ap.add_argument("--keep", action="store_true", help="keep the data folder (its path is printed)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    if args.cases < QUEUE_PAGE:
        ap.error(f"--cases must be at least {QUEUE_PAGE}")

    # A SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C, so the server and the temp folder
    # and database are cleaned up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="civicwatch-load-"))
    pg_admin = pg_name = None
    database_url = None
    proc = None
    try:
        if args.postgres:
            import psycopg

            pg_name = f"civicwatch_bench_{secrets.token_hex(4)}"
            pg_admin = psycopg.connect(args.postgres, autocommit=True, connect_timeout=5)
            pg_admin.execute(f'CREATE DATABASE "{pg_name}"')
            database_url = f"{args.postgres.rsplit('/', 1)[0]}/{pg_name}"
        print(f"seeding {args.cases} cases ({'PostgreSQL' if database_url else 'SQLite'}) in {work}", flush=True)
        t0 = time.perf_counter()
        template, scene = make_template(args.footage, work)
        ids = seed(work / "var", database_url, template, scene, args.cases)
        print(f"  {len(ids)} cases in {time.perf_counter() - t0:.1f} s", flush=True)
        port = free_port()
        proc = start_server(work / "var", database_url, port, work / "server.log")
        phases = asyncio.run(drive(port, proc.pid, ids, args))
        stop_server(proc)
        cpu = in_process_cpu(work / "var", database_url, ids)
        print(
            "\nCPU a request in-process (the ASGI app alone, least of 7 batches of 30): "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()),
            flush=True,
        )
    finally:
        if proc is not None:
            stop_server(proc)
        if pg_admin is not None:
            pg_admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            pg_admin.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    base = phases[0]
    print(f"\nratio to /healthz in this run ({base.rps:.1f} req/s, p99 {base.p99_ms:.1f} ms):")
    for p in phases[1:]:
        print(f"  {p.name:<30} throughput {p.rps / base.rps:.2f}x   p99 {p.p99_ms / base.p99_ms:.1f}x")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": " ".join(sys.argv),
                    "database": "postgresql" if database_url else "sqlite",
                    "cases": len(ids),
                    "cpus": os.cpu_count(),
                    "machine": platform.processor() or platform.machine(),
                    "phases": [asdict(p) for p in phases],
                    "in_process_cpu_ms": cpu,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
