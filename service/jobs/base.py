"""The job runner interface the API talks to.

The API only ever writes a queued Job row and calls ``submit(job_id)``; everything else (claiming,
running, progress, cancellation through ``Job.cancel_requested``) goes through the database, so a
runner in another process (the Celery runner of a later issue) fits behind the same three calls.
"""

from __future__ import annotations

from typing import Protocol


class JobRunner(Protocol):
    def submit(self, job_id: int) -> None:
        """A queued job exists; start it when a worker is free."""

    def start(self) -> None:
        """Begin working, including recovery of jobs interrupted by a previous shutdown."""

    def stop(self) -> None:
        """Stop working; a job in progress goes back to the queue and reruns on the next start."""


class NullRunner:
    """API-only mode (``runner = "none"``): jobs stay queued for an external worker."""

    def submit(self, job_id: int) -> None:  # noqa: D401
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass
