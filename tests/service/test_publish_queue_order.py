"""The publication queue: an approved case goes before the cases prepared in advance, and a case
rejected while its media are being made is given up part-way."""

from __future__ import annotations

import threading

import service.jobs.publish_queue as publish_queue
from service.jobs.publish_queue import PublicationQueue


def test_an_approved_case_goes_first_and_a_rejected_one_is_given_up(monkeypatch):
    made: list[str] = []
    given_up: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def prepare(factory, settings, case_ids, stopping):  # noqa: ANN001 - the queue's call
        (case_id,) = case_ids
        if case_id == "parked-car":  # a long clip: redaction polls ``stopping`` on every frame
            started.set()
            while not release.wait(0.01):
                if stopping():
                    given_up.append(case_id)
                    return 0
        made.append(case_id)
        return 1

    monkeypatch.setattr(publish_queue, "prepare_published", prepare)
    queue = PublicationQueue(factory=None, settings=None)
    queue.start()
    try:
        # a job is done: its four new cases are prepared in advance, in the review queue's order
        queue.enqueue(["parked-car", "litter", "red-light", "wrong-way"])
        assert started.wait(10)
        queue.enqueue(["wrong-way"], urgent=True)  # the reviewer approves the last one
        queue.give_up("litter")  # and rejects one still waiting
        queue.give_up("parked-car")  # and the one being made
        assert queue.idle.wait(10)
    finally:
        release.set()
        queue.stop()
    assert given_up == ["parked-car"]  # stopped part-way, not made to the end
    assert made == ["wrong-way", "red-light"]  # the approved case first; litter skipped
    # (the approval's entry took the turn of the "wrong-way" queued in advance: it is not made twice)


def test_a_case_queued_again_while_waiting_keeps_one_place(monkeypatch):
    """A preview or publish of a case without media queues it (``service.publication.queue_missing``):
    asked again while it waits, it is made once, not once per click."""
    made: list[str] = []
    monkeypatch.setattr(publish_queue, "prepare_published",
                        lambda factory, settings, case_ids, stopping: made.extend(case_ids) or 1)
    queue = PublicationQueue(factory=None, settings=None)
    for _ in range(3):
        queue.enqueue(["case-1"], urgent=True)
    queue.enqueue(["case-1"])  # prepared in advance: it is queued sooner already
    queue.start()
    try:
        assert queue.idle.wait(10)
    finally:
        queue.stop()
    assert made == ["case-1"]


def test_a_rejected_case_approved_again_is_made(monkeypatch):
    made: list[str] = []
    monkeypatch.setattr(publish_queue, "prepare_published",
                        lambda factory, settings, case_ids, stopping: made.extend(case_ids) or 1)
    queue = PublicationQueue(factory=None, settings=None)
    queue.give_up("case-1")  # rejected, then reopened and approved
    queue.enqueue(["case-1"], urgent=True)
    queue.start()
    try:
        assert queue.idle.wait(10)
    finally:
        queue.stop()
    assert made == ["case-1"]
