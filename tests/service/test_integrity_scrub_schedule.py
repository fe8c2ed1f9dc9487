"""The integrity scrub's schedule outlives a restart: with the default interval of a day, a service
restarted daily (a deploy, a nightly restart) counted the day again from each start and never
scrubbed. The next scrub is due one interval after the last whole one, whenever the service started."""

from __future__ import annotations

import os
import time

from service import hash_cache
from service.integrity_scrub import Scrubber

from .test_integrity_scrub import _flip_a_byte_in_place, _integrity, _snapshot

HOUR = 3600


def _rot_without_a_stat_change(env, case_id: str) -> None:
    """A byte changed in place with the cached digest kept: what only a scrub finds."""
    path, _ = _snapshot(env, case_id)
    assert _integrity(env, case_id)["ok"]
    good = hash_cache.cached_sha256(path)
    _flip_a_byte_in_place(path)
    with hash_cache._lock:
        hash_cache._cache[hash_cache._key(path, os.stat(path))] = good


def _marker(env):
    return env.data_dir / "cache" / "integrity-scrub-last"


def _scrubber(env) -> Scrubber:
    return Scrubber(env.app.state.session_factory, env.settings.model_copy(update={"integrity_scrub_interval_s": HOUR}))


def test_a_scrub_overdue_at_start_runs_then(env, cases):
    marker = _marker(env)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    long_ago = time.time() - 2 * HOUR  # the last whole scrub, two hours ago; since then only restarts
    os.utime(marker, (long_ago, long_ago))
    _rot_without_a_stat_change(env, cases[0])
    scrubber = _scrubber(env)
    scrubber.start()
    try:
        deadline = time.monotonic() + 60
        while _integrity(env, cases[0])["ok"]:
            assert time.monotonic() < deadline, "the overdue scrub did not run after the start"
            time.sleep(0.1)
        while marker.stat().st_mtime < time.time() - 60:  # the whole scrub is on record
            assert time.monotonic() < deadline, "the scrub's end was not recorded"
            time.sleep(0.1)
    finally:
        scrubber.stop()


def test_a_start_soon_after_a_scrub_does_not_scrub_again(env, cases):
    marker = _marker(env)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()  # scrubbed a moment ago
    _rot_without_a_stat_change(env, cases[0])
    scrubber = _scrubber(env)
    scrubber.start()
    try:
        time.sleep(2)
        assert _integrity(env, cases[0])["ok"]  # not read again yet: due in an hour
    finally:
        scrubber.stop()
