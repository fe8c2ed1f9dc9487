"""Whose address a request comes from, for the per-address login limit and the audit log's ``ip``.

``trust_forwarded_for`` (default off) is the one switch that lets ``X-Forwarded-For`` name the
client. Two ways round it let a client name itself, and so guess passwords across many user
names from one machine with a new made-up address per guess (the per-address limit never
reached) and write any address it liked into the audit log:

- off: ``civicwatch serve`` ran uvicorn with its own proxy-header handling, which believes the
  header from any peer on 127.0.0.1, a local reverse proxy included, whatever the setting said;
- on: the service took the header's first entry, which is the one the client wrote: a proxy
  appends the address it saw (nginx ``$proxy_add_x_forwarded_for``) after whatever came in.
"""

from __future__ import annotations

import subprocess

import httpx

from .test_concurrency import _serve, free_port


def _guesses(post, spoofed: list[str]) -> list[int]:
    """Failed logins at a new user name each, each claiming its own address."""
    return [post(f"spray{i}", ip).status_code for i, ip in enumerate(spoofed)]


def test_serve_ignores_the_header_when_it_is_not_trusted(settings, tmp_path):
    """A real ``civicwatch serve`` with the default settings, reached from 127.0.0.1 (as through
    a local proxy that passes the client's header on): the address is the peer's, so the sixth
    guess from this machine is refused however each one names itself."""
    port = free_port()
    proc = _serve(settings, port, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            def post(name: str, ip: str) -> httpx.Response:
                return client.post(
                    "/api/auth/login",
                    json={"username": name, "password": "wrong-password"},
                    headers={"X-Forwarded-For": ip},
                )

            codes = _guesses(post, [f"203.0.113.{i}" for i in range(6)])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert codes == [401] * 5 + [429], codes


def test_a_trusted_proxy_names_the_client_not_the_client_itself(env):
    """Behind the proxy the setting is for: the header reaches the service as '<what the client
    sent>, <what the proxy saw>'. The proxy's entry is the address; the client's is not."""
    env.settings.trust_forwarded_for = True

    def post(name: str, ip: str) -> httpx.Response:
        return env.anon.post(
            "/api/auth/login",
            json={"username": name, "password": "wrong-password"},
            headers={"X-Forwarded-For": f"{ip}, 198.51.100.7"},
        )

    assert _guesses(post, [f"203.0.113.{i}" for i in range(6)]) == [401] * 5 + [429]
    ips = {e["ip"] for e in env.admin.get("/api/audit", params={"action": "login.failed"}).json()["items"]}
    assert ips == {"198.51.100.7"}
