"""The review queue's micro-cache (service.list_cache) on the real databases: a repeated question
is answered from the cache with the same body; a decision, a conditional UPDATE or an ingest in
this process shows at once; a change made by another process shows within the TTL."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text

from .conftest import seed_cases, upload_clip
from .helpers import SHORT_CLIP

PENDING = "/api/cases?state=pending&limit=50"


def test_queue_is_cached_and_forgotten_when_a_case_changes(env, camera, footage_dir, evidence_template,
                                                           fast_redaction):
    cache = env.app.state.list_cache
    assert cache.enabled
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    first = env.reviewer.get(PENDING)
    assert first.status_code == 200 and first.json()["total"] == 0
    ids = seed_cases(env, up["job_id"], evidence_template)  # ingested through this process: seen at once
    page = env.reviewer.get(PENDING)
    assert page.json()["total"] == len(ids) >= 2
    hits = cache.hits
    again = env.reviewer.get(PENDING)
    assert cache.hits == hits + 1 and again.content == page.content  # served from the cache, same bytes
    assert again.headers["content-type"].startswith("application/json")

    # a decision (a conditional UPDATE of the case) shows on the very next poll
    r = env.reviewer.post(f"/api/cases/{ids[0]}/approve", json={})
    assert r.status_code == 200, r.text
    after = env.reviewer.get(PENDING).json()
    assert after["total"] == len(ids) - 1 and ids[0] not in [c["id"] for c in after["items"]]

    # another process (its own connection, no listener) changes a case: seen within the TTL
    with create_engine(env.settings.db_url).begin() as conn:
        conn.execute(text("UPDATE cases SET state = 'rejected', reason = 'elsewhere' WHERE id = :id"), {"id": ids[1]})
    time.sleep(cache.ttl_s + 0.2)
    later = env.reviewer.get(PENDING).json()
    assert later["total"] == len(ids) - 2

    # who asks does not matter, but asking still needs the role
    assert env.operator.get(PENDING).status_code == 403
    assert env.anon.get(PENDING).status_code == 401
