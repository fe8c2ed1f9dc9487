"""The publication-media queue: redacted copies for exposure screens, made off the job worker.

Redaction decodes, detects and re-encodes each clip (10-20 s of both cores per case). Made by the
job worker right after a job, it held the next job back (a new upload waited ~98 s); here it has
its own thread and queue, so analysis never waits for it. The queue lives in memory: a queue that
starts takes up the approved and published cases still without media (a restart lost what the queue
of the process before held), and a preview or publish of a case without media queues it again
(``service.publication.queue_missing``: its redaction may have failed). Before, both answered 409
``not_ready`` for good once the one try approval queued was lost or failed, and a confirmed offence
could never be published.

Two kinds of work share it. After a job, every new case is prepared ahead of the reviewer's
decision, in the order the review queue shows them; a case just approved (its reviewer waits to
publish it) goes before all of those. A case rejected while its media are being made is given up
part-way: a demo parked car's 44 s clip takes minutes to redact on two cores, and the approved
case behind it waited for all of them.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.publication import awaiting_media, prepare_published

log = logging.getLogger(__name__)

URGENT, AHEAD = 0, 1  # an approved case waiting to be published; a new case prepared in advance


class PublicationQueue:
    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        self.factory, self.settings = factory, settings
        self._queue: queue.PriorityQueue[tuple[int, int, str | None]] = queue.PriorityQueue()
        self._order = itertools.count()  # first come, first served within a priority
        self._given_up: set[str] = set()  # cases no longer wanted (rejected) while queued or being made
        # each queued case's entry in force, (priority, order): a preview asked again and again while
        # the media of a case whose redaction keeps failing are not there queues it once, not once a click
        self._waiting: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()  # set while nothing is queued or being made (tests wait on it)
        self.idle.set()

    def enqueue(self, case_ids: list[str], *, urgent: bool = False) -> None:
        """Queue ``case_ids`` in the order given; ``urgent`` (an approval) puts them before every
        case prepared in advance."""
        priority = URGENT if urgent else AHEAD
        for case_id in case_ids:
            with self._lock:
                self._given_up.discard(case_id)  # wanted again (a case reopened and approved)
                queued = self._waiting.get(case_id)
                if queued is not None and queued[0] <= priority:
                    continue  # queued already, as soon or sooner
                entry = self._waiting[case_id] = (priority, next(self._order))
                self.idle.clear()
                self._queue.put((*entry, case_id))

    def give_up(self, case_id: str) -> None:
        """The case's media are no longer wanted (it was rejected): skip it if queued, and stop
        its redaction at the next frame if it is being made now. Approval queues it again."""
        with self._lock:
            self._given_up.add(case_id)

    def start(self) -> None:
        if self._thread is None:
            try:
                # approved or published, media never made: the queue that held them went with the
                # process before this one (approval queued each once, and nothing queued it again)
                self.enqueue(awaiting_media(self.factory), urgent=True)
            except Exception:  # noqa: BLE001 - a preview or publish of each queues it all the same
                log.exception("could not look for cases still waiting for their publication media")
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="civicwatch-publication", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._queue.put((-1, next(self._order), None))
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            priority, order, case_id = self._queue.get()
            if case_id is None:
                continue
            with self._lock:
                # not when queued again sooner meanwhile: that entry has had this one's turn
                in_force = self._waiting.get(case_id) == (priority, order)
                if in_force:
                    del self._waiting[case_id]
            try:
                if in_force and not self._unwanted(case_id):
                    prepare_published(self.factory, self.settings, [case_id],
                                      lambda case_id=case_id: self._stop.is_set() or self._unwanted(case_id))
            except Exception:  # noqa: BLE001 - one bad case must not stop the queue
                log.exception("publication media for case %s failed", case_id)
            finally:
                if self._queue.empty():
                    with self._lock:  # nothing queued or being made: no give-up can matter any more
                        self._given_up.clear()
                    self.idle.set()

    def _unwanted(self, case_id: str) -> bool:
        with self._lock:
            return case_id in self._given_up
