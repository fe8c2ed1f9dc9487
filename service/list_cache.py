"""A micro-cache for the review queue's case list: the same answer for every reviewer who asks
within a second, rebuilt as soon as this process changes a case.

Every open review page polls the queue, and a shift of reviewers asks the same question ("the
pending cases, first page") many times a second. Its answer is the same for all of them (the list
does not depend on who asks), so the serialised answer is kept for ``ttl_s`` (one second by
default) and forgotten at once when a case changes in this process: a decision, an undo, an ingest
by the in-process runner. What changes elsewhere (a worker on another machine ingesting a segment's
cases) is seen within ``ttl_s``, which the page's own polling interval already exceeds.

Correctness under concurrency: an answer is stored under the generation that was current when its
computation started, and served only while the generation is unchanged, so an answer computed
across a change is never served after it. Changes are counted at commit, not at flush, so a
transaction still open cannot leave a stale answer behind.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from service.models import Case


class ListCache:
    def __init__(self, ttl_s: float, max_entries: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[int, float, bytes]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def bump(self) -> None:
        """A case changed: nothing cached before now may be served."""
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != self.generation or time.monotonic() - entry[1] > self.ttl_s:
                self.misses += 1
                return None
            self.hits += 1
            return entry[2]

    def put(self, key: Hashable, generation: int, body: bytes, started: float) -> None:
        """Keep ``body``, computed from ``started`` (monotonic) under ``generation``."""
        with self._lock:
            if generation != self.generation:
                return  # a case changed while it was being computed
            self._entries[key] = (generation, started, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def watch(self, factory: sessionmaker[Session]) -> None:
        """Count a change whenever a session of ``factory`` commits a new, changed or deleted case."""

        @event.listens_for(factory, "after_flush")
        def _touched(session: Session, _context) -> None:  # noqa: ANN001
            if any(isinstance(o, Case) for o in (*session.new, *session.dirty, *session.deleted)):
                session.info["civicwatch_cases_touched"] = True

        @event.listens_for(factory, "do_orm_execute")
        def _statement(state) -> None:  # noqa: ANN001 - conditional UPDATEs of the review actions
            if (state.is_update or state.is_delete) and any(m.class_ is Case for m in state.all_mappers):
                state.session.info["civicwatch_cases_touched"] = True

        @event.listens_for(factory, "after_commit")
        def _committed(session: Session) -> None:
            if session.info.pop("civicwatch_cases_touched", False):
                self.bump()

        @event.listens_for(factory, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("civicwatch_cases_touched", None)
