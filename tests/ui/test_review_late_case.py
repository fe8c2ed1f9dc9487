"""A case committed late still reaches the review queue without a reload.

A case's place in the queue (``created_at``) is taken when its job's transaction inserts it, not
when that transaction commits: a case committed a few milliseconds after a newer one sorts before
it. The page polled for new cases from the newest one it knew (``created_since``) and paged on
after the last case it had (``after``), so such a case was in neither answer: it stayed out of the
queue, and its count made "more" promise a case no page ever brought, until the queue was loaded
again. The poll now looks back an overlap before the newest case it knows and keeps what it has
not seen (by id). The page is rendered by the real router; the API is scripted as the service
answers (the queue's order, ``created_since``, ``after``, ``limit``, ``offset`` and ``total``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

import harness

pytestmark = pytest.mark.browser

BASE = "http://review-late.test"
T0 = datetime(2026, 12, 5, 1, 30, tzinfo=UTC)


def _case(n: int, created: datetime) -> dict:
    return {"id": f"J1-cam1-wrong_way-{n:08d}-1", "rule": "wrong_way", "state": "pending", "camera_id": "cam1",
            "start_s": 0.0, "start_time": "2026-12-05T01:30:12+00:00", "created_at": created.isoformat(),
            "integrity": {"ok": True}, "evidence": {}, "history": [], "version": f"1700000000{n:06d}"}


class Queue:
    """The cases the service has committed, answered as ``GET /api/cases`` answers."""

    def __init__(self, n: int) -> None:
        # microseconds apart, as rows of one ingest are
        self.cases = [_case(i, T0 + timedelta(seconds=i, microseconds=123456)) for i in range(1, n + 1)]
        self.asked: list[dict] = []

    def commit(self, case: dict) -> None:
        self.cases.append(case)

    def answer(self, route) -> bool:  # noqa: ANN001
        url = urlsplit(route.request.url)
        path, method = url.path, route.request.method
        if path == "/api/me":
            harness.fulfil_json(route, {"username": "rita", "role": "reviewer", "kind": "user"})
        elif path == "/api/cameras":
            harness.fulfil_json(route, [])
        elif path == "/api/cases" and method == "GET":
            harness.fulfil_json(route, self.page({k: v[0] for k, v in parse_qs(url.query).items()}))
        elif method == "GET" and path.startswith("/api/cases/") and path.count("/") == 3:
            harness.fulfil_json(route, next(c for c in self.cases if c["id"] == path.rsplit("/", 1)[1]))
        else:
            return False
        return True

    def page(self, q: dict) -> dict:
        self.asked.append(q)
        order = sorted(self.cases, key=lambda c: (datetime.fromisoformat(c["created_at"]), c["start_s"], c["id"]))
        if "created_since" in q:
            since = datetime.fromisoformat(q["created_since"])
            order = [c for c in order if datetime.fromisoformat(c["created_at"]) >= since]
        total = len(order)
        if "after" in q:
            at = next(i for i, c in enumerate(order) if c["id"] == q["after"]) if any(
                c["id"] == q["after"] for c in order) else None
            if at is None:  # outside the filter: after its place in the order
                mark = next(c for c in self.cases if c["id"] == q["after"])
                key = (datetime.fromisoformat(mark["created_at"]), mark["start_s"], mark["id"])
                order = [c for c in order
                         if (datetime.fromisoformat(c["created_at"]), c["start_s"], c["id"]) > key]
            else:
                order = order[at + 1:]
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 50))
        return {"items": order[offset:offset + limit], "total": total, "limit": limit, "offset": offset}


def _open(browser, queue: Queue):  # noqa: ANN001, ANN202
    context = browser.new_context(locale="en-US")
    context.add_init_script("window.CW_REVIEW_POLL_MS = 250;")
    page = context.new_page()
    harness.serve_pages(page, BASE, "en-US", queue.answer, undo_window_s=30)
    page.goto(f"{BASE}/review")
    harness.wait_js(page, "!!(CW.review && CW.review.current())", timeout=10_000)
    return context, page


def _queue_ids(page) -> list[str]:  # noqa: ANN001
    return page.evaluate("CW.review.queue().map(c => c.id)")


def test_a_case_committed_after_a_newer_one_is_found_by_the_next_poll(browser) -> None:
    queue = Queue(3)
    context, page = _open(browser, queue)
    harness.wait_js(page, "CW.review.queue().length === 3", timeout=5_000)
    page.wait_for_timeout(600)  # polls that find nothing new
    # inserted 1.5 s before the newest case the page has, committed only now
    late = _case(99, T0 + timedelta(seconds=1, microseconds=623456))
    queue.commit(late)
    harness.wait_js(page, "CW.review.queue().length === 4", timeout=5_000)
    page.wait_for_selector("#queue-news:not([hidden])")
    assert page.text_content("#queue-news") == "1 new case(s) added at the end of the queue."
    assert _queue_ids(page)[-1] == late["id"]  # appended: the case on show and those above stay put
    assert page.evaluate("CW.review.current().id") == queue.cases[0]["id"]
    page.wait_for_timeout(800)  # later polls see it again in their overlap: it is not added twice
    assert _queue_ids(page).count(late["id"]) == 1 and len(_queue_ids(page)) == 4
    assert page.get_attribute("#queue-count", "data-total") == "4"
    context.close()


def test_a_late_case_among_the_pages_already_loaded_joins_the_queue_and_more_brings_the_rest(browser) -> None:
    """60 cases, the first page of 50 loaded. A case that sorts among those 50 commits late: "more"
    pages on after the 50th and could never bring it; the poll finds it, and "more" brings the
    other 10, each case once."""
    queue = Queue(60)
    context, page = _open(browser, queue)
    harness.wait_js(page, "CW.review.queue().length === 50", timeout=5_000)
    assert page.get_attribute("#queue-count", "data-total") == "60"
    page.wait_for_timeout(600)  # the newest case is learnt, and polls find nothing new
    late = _case(99, T0 + timedelta(seconds=10, microseconds=623456))
    queue.commit(late)
    harness.wait_js(page, "CW.review.queue().length === 51", timeout=5_000)
    assert _queue_ids(page)[-1] == late["id"]
    page.click("#queue-more button")
    harness.wait_js(page, "CW.review.queue().length === 61", timeout=5_000)
    ids = _queue_ids(page)
    assert sorted(ids) == sorted(c["id"] for c in queue.cases) and len(set(ids)) == 61
    assert page.query_selector("#queue-more") is None
    page.wait_for_timeout(600)
    assert len(_queue_ids(page)) == 61
    context.close()
