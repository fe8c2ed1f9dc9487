"""Cached integrity checks are not fooled: a file written and given its old mtime back is read
again (the ctime moved), and the periodic scrub replaces a cached digest that no longer matches
the bytes (what no stat shows: bit rot, a raw disk edit)."""

from __future__ import annotations

import os
import time

from service import hash_cache
from service.integrity_scrub import Scrubber, scrub
from service.models import Case


def _snapshot(env, case_id: str):
    """(path, path relative to the run folder) of the case's snapshot."""
    with env.app.state.session_factory() as db:
        case = db.get(Case, case_id)
        rel = case.evidence["snapshot"]
        return env.data_dir / case.out_dir / rel, rel


def _integrity(env, case_id: str) -> dict:
    return env.reviewer.get(f"/api/cases/{case_id}").json()["integrity"]


def _flip_a_byte_in_place(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    with open(path, "r+b") as fh:  # same inode, same size
        fh.write(data)


def test_an_mtime_put_back_does_not_keep_the_cached_digest(env, cases):
    path, _ = _snapshot(env, cases[0])
    assert _integrity(env, cases[0])["ok"]  # cached now
    st = os.stat(path)
    _flip_a_byte_in_place(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # `touch -d` back to the old time
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns and os.stat(path).st_size == st.st_size
    report = _integrity(env, cases[0])
    assert not report["ok"] and any("snapshot" in p for p in report["problems"])


def test_the_scrub_finds_a_change_no_stat_shows(env, cases, fast_redaction):
    a = cases[0]
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    assert env.reviewer.post(f"/api/cases/{a}/publish").status_code == 200
    assert len(env.display.get("/api/public/cases").json()["items"]) == 1
    path, rel = _snapshot(env, a)
    good = hash_cache.cached_sha256(path)
    # bit rot: the bytes change and the stat does not; the cache keeps the digest of what was there
    _flip_a_byte_in_place(path)
    with hash_cache._lock:
        hash_cache._cache[hash_cache._key(path, os.stat(path))] = good
    assert _integrity(env, a)["ok"]  # the cached checks cannot see it ...
    assert len(env.display.get("/api/public/cases").json()["items"]) == 1

    report = scrub(env.app.state.session_factory, env.settings)
    assert report.failing == {a: [rel]}
    assert report.files > len(cases)
    # ... until the scrub has read it: the case view says so and the screens drop the case
    assert not _integrity(env, a)["ok"]
    assert env.display.get("/api/public/cases").json()["items"] == []
    assert env.reviewer.post(f"/api/cases/{cases[1]}/approve").status_code == 200  # others unaffected


def test_the_scrubber_runs_every_interval(env, cases):
    path, _ = _snapshot(env, cases[0])
    assert _integrity(env, cases[0])["ok"]
    good = hash_cache.cached_sha256(path)
    _flip_a_byte_in_place(path)
    with hash_cache._lock:
        hash_cache._cache[hash_cache._key(path, os.stat(path))] = good
    scrubber = Scrubber(
        env.app.state.session_factory, env.settings.model_copy(update={"integrity_scrub_interval_s": 0.2})
    )
    scrubber.start()
    try:
        deadline = time.monotonic() + 30
        while _integrity(env, cases[0])["ok"]:
            assert time.monotonic() < deadline, "the scrubber never ran"
            time.sleep(0.1)
    finally:
        scrubber.stop()
    off = Scrubber(env.app.state.session_factory, env.settings.model_copy(update={"integrity_scrub_interval_s": 0}))
    off.start()
    assert off._thread is None  # 0: never
