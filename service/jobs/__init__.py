"""Background processing of uploads (see ``base.JobRunner``)."""

from service.jobs.base import JobRunner, NullRunner
from service.jobs.inprocess import InProcessRunner

__all__ = ["JobRunner", "NullRunner", "InProcessRunner"]
