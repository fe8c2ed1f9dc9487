"""The worker pool's throughput with 1 and 2 workers on this machine.

Usage (from the repo root, after scripts/setup.sh and scripts/services.sh: Redis and PostgreSQL
running locally; the footage folder sits beside the checkout):

    .venv/bin/python benchmarks/workers.py                      # 1 and 2 workers, 8 s segments
    .venv/bin/python benchmarks/workers.py --workers 1 2 3 --segment-s 8 --json out.json

For each pool size it creates a scratch PostgreSQL database, starts the service in this process
(runner "celery", Redis database 10 as broker, emptied first) and that many real
``civicwatch worker`` processes, uploads the 30.5 s real clip of a New York crosswalk
(``footage-more/pedestrian-crossing/zebra_crossing.mp4``), which the pool splits into segments,
and times from the upload to the job's end. Workers are started and their model loaded (a warm-up
job on the 2.3 s overpass clip) before the clock starts.

Last, one worker analyses the clip whole (no split), the baseline the split is measured against.
It reports, per pool size: wall seconds, segments per second, and the speed as a multiple of real
time (seconds of footage per wall second), plus the seconds decoded per segment (its span and the
pre-roll its rules need: the price of splitting).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from harness import free_port  # noqa: E402

from service.config import Settings  # noqa: E402
from service.main import create_app  # noqa: E402
from tests.service.conftest import start_env  # noqa: E402
from tests.service.helpers import ADMIN_PASSWORD, SHORT_CLIP  # noqa: E402
from tests.service.test_worker_pool import ANALYZE, CLIP, SCENE  # noqa: E402

FOOTAGE = ROOT.parent / "shared" / "footage"
PG = os.environ.get("CIVICWATCH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BROKER = "redis://127.0.0.1:6379/10"


def _wait(client, job_id: int, timeout: float = 900) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} stuck: {job}")
        time.sleep(0.2)


def _upload(client, path: Path, camera: str) -> int:
    with open(path, "rb") as fh:
        r = client.post("/api/uploads", data={"camera": camera}, files={"file": (path.name, fh, "video/mp4")})
    r.raise_for_status()
    return r.json()["job_id"]


def run_pool(n: int, segment_s: float, tmp: Path, split: bool = True) -> dict:
    name = f"civicwatch_bench_{secrets.token_hex(4)}"
    admin = psycopg.connect(PG, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG.rsplit('/', 1)[0]}/{name}"
    redis.Redis.from_url(BROKER).flushdb()
    data_dir = tmp / f"pool-{n}-{int(split)}"
    split_min = segment_s * 1.25 if split else 1e9
    settings = Settings(data_dir=data_dir, database_url=url, admin_password=ADMIN_PASSWORD, runner="celery",
                        broker_url=BROKER, segment_s=segment_s, split_min_s=split_min,
                        redaction_policy="none", analyze_options=ANALYZE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICWATCH_") and k != "DATABASE_URL"}
    env.update({"CIVICWATCH_DATA_DIR": str(data_dir), "DATABASE_URL": url, "CIVICWATCH_BROKER_URL": BROKER,
                "CIVICWATCH_SEGMENT_S": str(segment_s), "CIVICWATCH_SPLIT_MIN_S": str(split_min),
                "CIVICWATCH_REDACTION_POLICY": "none", "CIVICWATCH_ANALYZE_OPTIONS": json.dumps(ANALYZE)})
    main, e = start_env(create_app(settings), settings)
    workers = []
    try:
        for i in range(n):
            cmd = [sys.executable, "-c", "import sys; from civicwatch.cli import main; sys.exit(main())",
                   "worker", "--metrics-port", str(free_port()), "--log-level", "warning"]
            workers.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=(tmp / f"w{n}-{i}.log").open("ab"),
                                            stderr=subprocess.STDOUT))
        e.admin.post("/api/cameras", data={"scene": SCENE}).raise_for_status()
        overpass = SCENE.replace("nyc-zebra", "warmup").replace("[768, 432]", "[960, 540]")
        e.admin.post("/api/cameras", data={"scene": overpass}).raise_for_status()
        warm = [_upload(e.operator, FOOTAGE / SHORT_CLIP, "warmup")]
        for job_id in warm:  # one short job per worker would be ideal; one loads the model on one of them
            _wait(e.operator, job_id)
        t0 = time.monotonic()
        job = _wait(e.operator, _upload(e.operator, (FOOTAGE / CLIP).resolve(), "nyc-zebra"))
        wall = time.monotonic() - t0
        from sqlalchemy import create_engine, select
        from sqlalchemy.orm import Session

        from service.db import normalize_url
        from service.models import JobSegment

        engine = create_engine(normalize_url(url))
        with Session(engine) as db:
            segs = list(db.scalars(select(JobSegment).where(JobSegment.job_id == job["id"])))
            busy = sum(s.processing_seconds or 0 for s in segs)
        engine.dispose()
        video = float(job.get("video_seconds") or 30.5)
        if not segs:  # analysed whole
            from service.models import Job

            engine = create_engine(normalize_url(url))
            with Session(engine) as db:
                busy = db.get(Job, job["id"]).processing_seconds or 0.0
            engine.dispose()
        return {"workers": n, "split": split, "state": job["state"], "cases": job["cases_found"], "segments": len(segs),
                "wall_s": round(wall, 1), "segments_per_s": round(len(segs) / wall, 3),
                "speed_x_realtime": round(video / wall, 2), "worker_busy_s": round(busy, 1),
                "per_worker_speed_x": round(video / busy, 2) if busy else None}
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        main.__exit__(None, None, None)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--segment-s", type=float, default=8.0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the 1-worker run of the whole clip")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.chdir(ROOT)
    results = []
    with tempfile.TemporaryDirectory(prefix="civicwatch-workers-") as tmp:
        runs = [(n, True) for n in args.workers] + ([] if args.no_baseline else [(1, False)])
        for n, split in runs:
            r = run_pool(n, args.segment_s, Path(tmp), split)
            print(json.dumps(r), flush=True)
            results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
