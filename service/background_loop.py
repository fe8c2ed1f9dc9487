"""A daemon thread that repeats one job of the web process until the process stops.

The janitor, the integrity scrub and the worker pool's re-publisher each run a loop beside the
requests; they share how that loop starts, sleeps (on an event, so ``stop`` wakes it at once) and
stops, and differ only in what one round does.
"""

from __future__ import annotations

import threading


class BackgroundLoop:
    thread_name = "civicwatch-loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start_thread(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _loop(self) -> None:
        """The loop; sleep with ``self._stop.wait(seconds)`` and return when it is true."""
        raise NotImplementedError
