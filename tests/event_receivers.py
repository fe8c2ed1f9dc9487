"""The two ends the service's notices are sent to, real ones for the tests: a paho client on the
local Mosquitto broker and a local HTTP server taking webhooks. Case events (tests/service) and
camera-state notices (tests/live) are both checked on them."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import paho.mqtt.client as mqtt
import pytest

BROKER = ("127.0.0.1", 1883)


class Subscriber:
    """A paho client on the real broker collecting every message under the topic filter ``topics``."""

    def __init__(self, topics: str):
        self.messages: list[tuple[str, dict]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{secrets.token_hex(4)}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topics, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, json.loads(m.payload)))
        try:
            self.client.connect(*BROKER)
        except OSError as err:
            pytest.fail(f"the local Mosquitto broker on {BROKER} is needed (scripts/services.sh starts it): {err}")
        self.client.loop_start()
        assert self.subscribed.wait(10), "no SUBACK from the broker"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Receiver:
    """A real local HTTP server recording each POST; answers with the queued statuses, then 204."""

    def __init__(self, statuses: list[int] | None = None):
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 204)
                self.end_headers()

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
