"""The publication-media queue: redacted copies for exposure screens, made off the job worker.

Redaction decodes, detects and re-encodes each clip (10-20 s of both cores per case). Made by the
job worker right after a job, it held the next job back (a new upload waited ~98 s); here it has
its own thread and queue, so analysis never waits for it. The queue lives in memory: a case whose
media were not made before a restart gets them made on demand when it is published
(``service.publication``), so losing the queue loses no work that matters.
"""

from __future__ import annotations

import logging
import queue
import threading

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.publication import prepare_published

log = logging.getLogger(__name__)


class PublicationQueue:
    def __init__(self, factory: sessionmaker[Session], settings: Settings):
        self.factory, self.settings = factory, settings
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()  # set while nothing is queued or being made (tests wait on it)
        self.idle.set()

    def enqueue(self, case_ids: list[str]) -> None:
        for case_id in case_ids:
            self.idle.clear()
            self._queue.put(case_id)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="civicwatch-publication", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            case_id = self._queue.get()
            if case_id is None:
                continue
            try:
                prepare_published(self.factory, self.settings, [case_id], self._stop.is_set)
            except Exception:  # noqa: BLE001 - one bad case must not stop the queue
                log.exception("publication media for case %s failed", case_id)
            finally:
                if self._queue.empty():
                    self.idle.set()
