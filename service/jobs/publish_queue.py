"""The publication-media queue: redacted copies for exposure screens, made off the job worker.

Redaction decodes, detects and re-encodes each clip (10-20 s of both cores per case). Made by the
job worker right after a job, it held the next job back (a new upload waited ~98 s); here it has
its own thread and queue, so analysis never waits for it. The queue lives in memory: a case whose
media were not made before a restart gets them made on demand when it is published
(``service.publication``), so losing the queue loses no work that matters.

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
from service.publication import prepare_published

log = logging.getLogger(__name__)

URGENT, AHEAD = 0, 1  # an approved case waiting to be published; a new case prepared in advance


class PublicationQueue:
    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        self.factory, self.settings = factory, settings
        self._queue: queue.PriorityQueue[tuple[int, int, str | None]] = queue.PriorityQueue()
        self._order = itertools.count()  # first come, first served within a priority
        self._given_up: set[str] = set()  # cases no longer wanted (rejected) while queued or being made
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()  # set while nothing is queued or being made (tests wait on it)
        self.idle.set()

    def enqueue(self, case_ids: list[str], *, urgent: bool = False) -> None:
        """Queue ``case_ids`` in the order given; ``urgent`` (an approval) puts them before every
        case prepared in advance."""
        for case_id in case_ids:
            with self._lock:
                self._given_up.discard(case_id)  # wanted again (a case reopened and approved)
            self.idle.clear()
            self._queue.put((URGENT if urgent else AHEAD, next(self._order), case_id))

    def give_up(self, case_id: str) -> None:
        """The case's media are no longer wanted (it was rejected): skip it if queued, and stop
        its redaction at the next frame if it is being made now. Approval queues it again."""
        with self._lock:
            self._given_up.add(case_id)

    def start(self) -> None:
        if self._thread is None:
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
            _, _, case_id = self._queue.get()
            if case_id is None:
                continue
            try:
                if not self._unwanted(case_id):
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
