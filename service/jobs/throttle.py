"""How a running analysis talks to the database: progress written and the cancel flag read at
most twice a second, whatever rate the pipeline reports at (a job and a split job's segment do
the same; only the rows they touch differ)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from service.jobs.stall import Liveness

INTERVAL_S = 0.5


class Throttle:
    def __init__(self, write_progress: Callable[[float], None], read_cancel: Callable[[], bool],
                 stopping: Callable[[], bool], interval_s: float = INTERVAL_S, liveness: Liveness | None = None) -> None:
        self._write, self._read, self._stopping, self.interval_s = write_progress, read_cancel, stopping, interval_s
        self._liveness = liveness  # every call back, throttled or not, shows the pipeline alive (service.jobs.stall)
        self._last_write = self._last_check = 0.0
        self.cancelled = False  # what the last read of the database said

    def progress(self, p: Any) -> None:
        """The pipeline's progress callback: percent 0-100 written, the final 100 % always."""
        if self._liveness is not None:
            self._liveness.touch()
        now = time.monotonic()
        if now - self._last_write < self.interval_s and getattr(p, "fraction", 0) < 1.0:
            return
        self._last_write = now
        self._write(round(max(0.0, min(1.0, float(p.fraction))) * 100.0, 1))

    def should_cancel(self) -> bool:
        """The pipeline's cancel check: the runner stopping now, else the database's last answer."""
        if self._liveness is not None:
            self._liveness.touch()
        if self._stopping():
            return True
        now = time.monotonic()
        if now - self._last_check >= self.interval_s:
            self._last_check = now
            self.cancelled = self._read()
        return self.cancelled
