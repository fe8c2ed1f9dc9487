"""One approval of a case at a time in this process.

Approval without a publication queue (``runner: celery`` or ``none``) redacts the case's clip
itself before its conditional transition decides who won. Two reviewers approving one case at
once both redacted the whole clip (minutes of both cores each), and the loser learnt only then
that the case was decided. Holding this lock from reading the case to committing the decision
lets the second approval see the first's outcome before doing any of that work. The service is
one process (uvicorn ``workers=1``); across processes the conditional UPDATE still decides.

Striped locks, not one per case id: the table never grows, and a shared stripe only makes two
approvals of different cases queue behind each other.
"""

from __future__ import annotations

import hashlib
import threading

_STRIPES = tuple(threading.Lock() for _ in range(64))


def deciding(case_id: str) -> threading.Lock:
    """The lock to hold while approving ``case_id`` (``with deciding(case_id): ...``)."""
    digest = hashlib.blake2b(case_id.encode("utf-8", "surrogatepass"), digest_size=2).digest()
    return _STRIPES[int.from_bytes(digest, "big") % len(_STRIPES)]
