"""Many requests at once against a real ``civicwatch serve``: every one is answered.

Sync routes run on the thread pool (40 threads) and a request's session keeps its pooled
connection across the hops between its dependencies; with more requests in flight than threads
plus connections (5 + 10), every thread waited for a connection held by a request waiting for a
thread: the service answered nothing, then 500s when the pool's 30 s timeout ran out.
``service.db_slots`` admits at most as many requests to a session as the pool can serve.

The server runs in its own process, as in production: a client in the same process (sharing its
GIL) cannot send a burst fast enough to show the deadlock.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .helpers import PASSWORD

sys.path.insert(0, str(Path(__file__).parents[1] / "ui"))
from harness import free_port

CONCURRENT = 120  # well above 40 threads + 15 connections


def serve_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from civicwatch.cli import main; sys.exit(main())",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def _serve(settings, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICWATCH_") and k != "DATABASE_URL"}
    env.update({"CIVICWATCH_DATA_DIR": str(settings.data_dir), "CIVICWATCH_RUNNER": "none"})
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    proc = subprocess.Popen(serve_command(port), env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not come up")


async def _burst(port: int, cookie: str, paths: list[str]) -> list[int]:
    """Open every connection first, then send every request at once: the sharpest burst."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in paths]
    for (_, writer), path in zip(conns, paths, strict=True):
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: cw_session={cookie}\r\n"
            "Connection: close\r\n\r\n".encode()
        )

    async def status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        answer = await reader.read()  # to the end: the server closes after the response
        writer.close()
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else -1

    return list(await asyncio.gather(*(status(r, w) for r, w in conns)))


def test_a_burst_of_requests_is_answered_not_deadlocked(env, cases, tmp_path):
    port = free_port()
    proc = _serve(env.settings, port, tmp_path / "serve.log")
    try:
        paths = [
            ("/api/cases?state=pending&limit=50", f"/api/cases/{cases[0]}", "/api/me")[i % 3] for i in range(CONCURRENT)
        ]
        login = httpx.post(f"http://127.0.0.1:{port}/api/auth/login", json={"username": "rita", "password": PASSWORD})
        assert login.status_code == 200, login.text
        started = time.monotonic()
        statuses = asyncio.run(_burst(port, login.cookies["cw_session"], paths))
        took = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(30)
    assert statuses == [200] * CONCURRENT, sorted(set(statuses))
    # no request waited out the connection pool's 30 s timeout (the deadlock's only way out)
    assert took < 30, f"{CONCURRENT} requests took {took:.1f} s"
