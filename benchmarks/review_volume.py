"""The review queue at a realistic volume on PostgreSQL: statements per request, EXPLAIN of the
queue's queries, and the time of each request a traffic police reviewer makes.

Usage (from the repo root; the local PostgreSQL of the service tests):

    .venv/bin/python benchmarks/review_volume.py                     # 20,000 cases, 30 days, 20 cameras
    .venv/bin/python benchmarks/review_volume.py --cases 5000 --keep # keep the database afterwards

It makes a fresh database, runs the service's migrations (the app's own startup), adds three
reviewers and ``--cameras`` cameras through the API, then writes ``--cases`` case rows over
``--days`` days straight into the tables (one upload and job per camera and day, a few kilobytes
of pipeline record per case, about four in five already decided, one in fifty with a plate
correction, and an audit entry per decision): no evidence files, so it measures the database
side of the routes only (the case view's integrity check finds no files and says so).

For each request a reviewer makes (the queue's first page, each filter, deep pages, the case
page, an export's history) it prints the median time of ``--repeat`` runs, the number of SQL
statements, and for the queue's list query the plan PostgreSQL chooses.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, event, insert, text  # noqa: E402

from service.config import Settings  # noqa: E402
from service.db import normalize_url  # noqa: E402
from service.main import create_app  # noqa: E402
from service.models import AuditEntry, Case, Job, PlateCorrection, Upload  # noqa: E402
from service.plate_search import plate_key  # noqa: E402
from tests.service.helpers import ADMIN_PASSWORD, PASSWORD, SCENE_YAML, login  # noqa: E402

PG_SERVER = os.environ.get("CIVICWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
RULES = ("wrong_way", "red_light_ped", "illegal_parking", "no_helmet", "lane_violation")
STATES = ("pending",) * 20 + ("approved",) * 20 + ("rejected",) * 25 + ("published",) * 30 + ("withdrawn",) * 5


def load(engine, n_cases: int, days: int, cameras: list[str], reviewers: list[str], seed: int = 1) -> None:  # noqa: ANN001
    """Write ``n_cases`` cases over ``days`` days ending now, in chunks, with their uploads and jobs."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    day0 = now - timedelta(days=days)
    with engine.begin() as conn:
        jobs: dict[tuple[str, int], int] = {}
        for d in range(days):
            for cam in cameras:
                up = conn.execute(
                    insert(Upload)
                    .values(
                        path=f"uploads/{cam}-{d}.mp4",
                        filename=f"{cam}-{d}.mp4",
                        sha256=secrets.token_hex(32),
                        size=1 << 30,
                        camera_id=cam,
                        created_at=day0 + timedelta(days=d),
                    )
                    .returning(Upload.id)
                ).scalar()
                jobs[cam, d] = conn.execute(
                    insert(Job)
                    .values(
                        upload_id=up,
                        state="done",
                        progress=100.0,
                        created_at=day0 + timedelta(days=d),
                        out_dir=f"jobs/{cam}-{d}/run-1",
                    )
                    .returning(Job.id)
                ).scalar()
    track = [[round(rnd.random() * 960, 1), round(rnd.random() * 540, 1)] for _ in range(120)]
    chunk = 2000
    for first in range(0, n_cases, chunk):
        cases, audits, fixes = [], [], []
        for i in range(first, min(first + chunk, n_cases)):
            cam, d = rnd.choice(cameras), int(i * days / n_cases)
            start = day0 + timedelta(days=d, seconds=rnd.randrange(86400))
            created = day0 + timedelta(days=d, seconds=(i % (n_cases // days or 1)) * (86400 / (n_cases / days)))
            state = rnd.choice(STATES)
            cid = f"{cam}-{d:02d}-{i:06d}"
            decided = state != "pending"
            who = rnd.choice(reviewers) if decided else None
            cases.append(
                dict(
                    id=cid,
                    pipeline_id=f"case-{i:04d}",
                    job_id=jobs[cam, d],
                    camera_id=cam,
                    rule=rnd.choice(RULES),
                    zone="near-lanes",
                    start_s=float(i % 3600),
                    end_s=float(i % 3600) + 4.0,
                    start_time=start,
                    object_class="car",
                    track_ids=[i],
                    confidence=0.5 + rnd.random() / 2,
                    explanation="moved against the lane",
                    out_dir=f"jobs/{cam}-{d}/run-1",
                    evidence_dir=f"jobs/{cam}-{d}/run-1/{cid}",
                    evidence={"clip": f"{cid}/clip.mp4", "snapshot": f"{cid}/snapshot.jpg"},
                    evidence_hashes={f"{cid}/clip.mp4": secrets.token_hex(32)},
                    data={"start_time": start.isoformat(), "explanation_zh": "逆行", "track_points": track},
                    state=state,
                    reason="ok" if decided else None,
                    reviewer=who,
                    decided_at=created + timedelta(hours=1) if decided else None,
                    plate={"text": f"京A{i % 100000:05d}", "confidence": 0.9, "format_ok": True, "kind": "blue"},
                    # the plate search's key, as ingest and a correction write it (the correction below)
                    plate_key=plate_key(f"京B{i:05d}" if i % 50 == 0 else f"京A{i % 100000:05d}"),
                    public_number=f"{start:%Y%m%d}-{i:05d}" if state == "published" else None,
                    created_at=created,
                    updated_at=created,
                )
            )
            if decided:
                audits.append(
                    dict(
                        at=created + timedelta(hours=1),
                        actor=f"user:{who}",
                        actor_role="reviewer",
                        action="case.approve" if state != "rejected" else "case.reject",
                        object_type="case",
                        object_id=cid,
                        details={"from_state": "pending"},
                    )
                )
            if i % 50 == 0:
                fixes.append(
                    dict(
                        case_id=cid,
                        text=f"京B{i:05d}",
                        format_ok=True,
                        reason="OCR misread",
                        reviewer=rnd.choice(reviewers),
                        created_at=created,
                    )
                )
        with engine.begin() as conn:
            conn.execute(insert(Case), cases)
            conn.execute(insert(AuditEntry), audits)
            if fixes:
                conn.execute(insert(PlateCorrection), fixes)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


class Counter:
    """SQL statements sent on ``engine`` while counting."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._one)

    def _one(self, *_args) -> None:  # noqa: ANN002
        self.n += 1


def timed(client: TestClient, counter: Counter, method: str, url: str, repeat: int, **kw) -> tuple[float, int, int]:  # noqa: ANN003
    times = []
    for _ in range(repeat):
        before = counter.n
        t0 = time.perf_counter()
        r = client.request(method, url, **kw)
        times.append((time.perf_counter() - t0) * 1000)
        statements = counter.n - before
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return statistics.median(times), statements, len(r.content)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--cameras", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="leave the database in place")
    args = ap.parse_args()

    name = f"civicwatch_volume_{secrets.token_hex(4)}"
    admin_conn = psycopg.connect(PG_SERVER, autocommit=True)
    admin_conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                data_dir=Path(tmp) / "var",
                database_url=url,
                admin_password=ADMIN_PASSWORD,
                runner="none",
                queue_cache_ttl_s=0,
            )
            app = create_app(settings)
            with TestClient(app):
                admin = login(app, "admin", ADMIN_PASSWORD)
                reviewers = ["rita", "ren", "rui"]
                for who in reviewers:
                    admin.post("/api/users", json={"username": who, "password": PASSWORD, "role": "reviewer"})
                cameras = [f"cam-{k:02d}" for k in range(args.cameras)]
                for cam in cameras:
                    doc = SCENE_YAML.replace("camera: bj-overpass", f"camera: {cam}").encode()
                    r = admin.post("/api/cameras", files={"scene": ("scene.yaml", doc, "application/x-yaml")})
                    assert r.status_code == 201, r.text
                t0 = time.perf_counter()
                engine = create_engine(normalize_url(url))
                load(engine, args.cases, args.days, cameras, reviewers)
                print(f"loaded {args.cases} cases in {time.perf_counter() - t0:.1f} s into {name}")
                rita = login(app, "rita", PASSWORD)
                counter = Counter(app.state.engine)
                ids = [
                    r[0] for r in engine.connect().execute(text("SELECT id FROM cases ORDER BY created_at LIMIT 200"))
                ]
                deep = (
                    engine.connect()
                    .execute(text("SELECT id FROM cases ORDER BY created_at, start_s, id OFFSET 19899 LIMIT 1"))
                    .scalar()
                )
                day = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
                checks = [
                    ("queue, first page (pending)", "GET", "/api/cases?state=pending&limit=50"),
                    ("all cases, first page", "GET", "/api/cases?limit=50"),
                    ("pending, one camera", "GET", "/api/cases?state=pending&camera=cam-03&limit=50"),
                    ("pending, one rule", "GET", "/api/cases?state=pending&rule=wrong_way&limit=50"),
                    ("one local day", "GET", f"/api/cases?date_from={day}&date_to={day}&limit=50"),
                    ("pending, offset 3,900", "GET", "/api/cases?state=pending&limit=55&offset=3900"),
                    ("all, offset 19,900", "GET", "/api/cases?limit=55&offset=19900"),
                    ("all, after the 19,900th case", "GET", f"/api/cases?limit=50&after={deep}"),
                    (
                        "the queue's poll (created_since)",
                        "GET",
                        f"/api/cases?state=pending&limit=500&created_since={datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
                    ),
                    ("plate search, part (A123), pending", "GET", "/api/cases?state=pending&plate=A123&limit=50"),
                    ("plate search, whole plate, all", "GET", "/api/cases?plate=京A01234&limit=50"),
                    ("plate search, corrected plate, all", "GET", "/api/cases?plate=京B01250&limit=50"),
                    ("plate search, 2 characters (A1), all", "GET", "/api/cases?plate=A1&limit=50"),
                    ("case page", "GET", f"/api/cases/{ids[0]}"),
                    ("statistics, all days, by rule and camera", "GET", "/api/stats/cases?group=rule,camera"),
                    ("statistics, 30 days, by local day", "GET", "/api/stats/cases?group=day"),
                    ("statistics, one day, by camera, CSV", "GET", f"/api/stats/cases?group=camera&date_from={day}"
                                                                  f"&date_to={day}&format=csv"),
                ]
                print(f"{'request':38} {'median ms':>10} {'statements':>10} {'bytes':>8}")
                for label, method, path in checks:
                    ms, n, size = timed(rita, counter, method, path, args.repeat)
                    print(f"{label:38} {ms:10.1f} {n:10d} {size:8d}")
                before = counter.n
                t0 = time.perf_counter()
                r = rita.post("/api/cases/export", json={"ids": ids[:100]})
                print(
                    f"{'export of 100 cases (no files)':38} {(time.perf_counter() - t0) * 1000:10.1f} "
                    f"{counter.n - before:10d} {len(r.content):8d}"
                )
                with engine.connect() as conn:
                    for label, sql in (
                        (
                            "pending, first page",
                            "SELECT id FROM cases WHERE state IN ('pending') ORDER BY created_at, start_s, id LIMIT 50",
                        ),
                        (
                            "pending, deep page",
                            "SELECT id FROM cases WHERE state IN ('pending') "
                            "ORDER BY created_at, start_s, id LIMIT 55 OFFSET 3900",
                        ),
                        ("all, first page", "SELECT id FROM cases ORDER BY created_at, start_s, id LIMIT 50"),
                        ("plate search, its total", "SELECT count(*) FROM cases WHERE plate_key LIKE '%A0123%'"),
                        (
                            "plate search, pending, first page",
                            "SELECT id FROM cases WHERE state IN ('pending') AND plate_key LIKE '%A0123%' "
                            "ORDER BY created_at, start_s, id LIMIT 50",
                        ),
                    ):
                        plan = conn.execute(text("EXPLAIN ANALYZE " + sql)).scalars().all()
                        print(f"\nEXPLAIN ANALYZE {label}:\n  " + "\n  ".join(plan))
                engine.dispose()
    finally:
        if not args.keep:
            admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
