"""How many requests may hold a database session at once; the rest wait in the event loop.

Sync routes and dependencies run on the thread pool (40 threads), one hop per dependency, and a
request's session keeps its pooled connection from its first query to its close, across hops.
With more requests in flight than the pool has connections (5 + 10 overflow), every thread could
end up blocked waiting for a connection while the requests holding the connections wait for a
thread to go on: the service stopped answering at 64 concurrent requests (the load benchmark)
and after the pool's 30 s timeout answered 500s. Admitting at most one request fewer than the
pool's connections to a session makes that impossible: a request that holds a session can always
get a connection, and waits for a permit cost neither a thread nor a connection. The connection
left over serves what takes one outside a request's session, within one call (``/healthz``'s
ping, ``/metrics``, the job and publication threads).

One semaphore per event loop: uvicorn runs one, while each test client runs its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool


def session_capacity(engine: Engine, default: int = 14) -> int:
    """Permits for ``engine``: its pool's connections less one; ``default`` for pools without a
    fixed size (SQLAlchemy's NullPool / StaticPool / unbounded overflow)."""
    pool = engine.pool
    if isinstance(pool, QueuePool) and pool._max_overflow >= 0:  # no public accessor
        return max(1, pool.size() + pool._max_overflow - 1)
    return default


class SessionSlots:
    def __init__(self, permits: int) -> None:
        self.permits = permits
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        sem = self._by_loop.get(loop)
        if sem is None:
            sem = self._by_loop.setdefault(loop, asyncio.Semaphore(self.permits))
        return sem

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore():
            yield
