"""A worker's own metrics port honours the service's ``metrics_token`` as ``GET /metrics`` does."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge

from service.metrics_http import serve_metrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    Gauge("civicwatch_queue_depth", "work waiting", registry=registry).set(3)
    return registry


def test_with_a_token_only_its_bearer_reads_the_figures(registry):
    token = "scrape-" + "y" * 24
    port = free_port()
    serve_metrics(port, registry, token, addr="127.0.0.1")
    url = f"http://127.0.0.1:{port}/metrics"
    for headers in ({}, {"Authorization": "Bearer nope-nope-nope-nope"}, {"Authorization": token}):
        r = httpx.get(url, headers=headers, timeout=10)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
        assert "civicwatch_queue_depth" not in r.text
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200 and "civicwatch_queue_depth 3.0" in r.text


def test_without_a_token_it_is_open_and_a_taken_port_is_an_oserror(registry):
    port = free_port()
    serve_metrics(port, registry, None, addr="127.0.0.1")
    assert "civicwatch_queue_depth 3.0" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    with pytest.raises(OSError):
        serve_metrics(port, registry, None, addr="127.0.0.1")


def test_an_ipv6_address_is_served_on_ipv6(registry):
    """``worker_metrics_host`` accepts IPv6 addresses; the server takes the address's family (the
    WSGI server alone is IPv4 and fails on one). Where this machine has no IPv6 loopback, binding
    it fails as any socket's would."""
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 0))
            port = probe.getsockname()[1]
        except OSError:
            port = None
    if port is None:
        with pytest.raises(OSError):
            serve_metrics(free_port(), registry, None, addr="::1")
        return
    serve_metrics(port, registry, None, addr="::1")
    assert "civicwatch_queue_depth 3.0" in httpx.get(f"http://[::1]:{port}/metrics", timeout=10).text
