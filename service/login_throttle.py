"""Login rate limiting: too many failed logins for one user name, or from one client IP, get 429.

The failures are counted from the audit log (``login.failed`` entries, which every failed login
writes anyway), so the limit survives a restart, needs no extra table, and what the limiter saw is
exactly what an administrator reads in the log. Both keys are counted because each alone is easy
to dodge: one IP guessing many user names, or many IPs guessing one password.

The user-name count ignores whether the user exists, so a locked-out name and an unknown name get
the same answer (no user enumeration), and it restarts after a successful login of that user. The
IP count does not restart on success: otherwise one valid account would unlock unlimited guessing
at the others. While a key is blocked, attempts are refused without checking the password (a
correct guess would otherwise still be told apart) and audited as ``login.throttled``.
"""

from __future__ import annotations

import hashlib
import math
import threading
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditEntry, utcnow

FAILED = "login.failed"
THROTTLED = "login.throttled"

# The count is of failures already written, so guesses at one name sent in parallel were all
# checked before any had failed (a password check takes most of a second): an attacker got as many
# tries per window as the service had threads. One user name's attempts are therefore checked,
# verified and recorded one at a time (the service is one process). Striped locks, not one per
# name: made-up names must not grow a table, and a shared stripe only makes two names queue.
_NAME_LOCKS = tuple(threading.Lock() for _ in range(64))


def attempt_lock(username: str) -> threading.Lock:
    """The lock to hold from ``retry_after`` until the attempt's outcome is committed."""
    digest = hashlib.blake2b(username.encode("utf-8", "surrogatepass"), digest_size=2).digest()
    return _NAME_LOCKS[int.from_bytes(digest, "big") % len(_NAME_LOCKS)]


def _wait_s(times: list[datetime], limit: int, window_s: int, now: datetime) -> int:
    """Seconds until fewer than ``limit`` of ``times`` (newest first) lie inside the window."""
    if len(times) < limit:
        return 0
    release = times[limit - 1] + timedelta(seconds=window_s)
    return max(1, math.ceil((release - now).total_seconds()))


def retry_after(db: Session, username: str, ip: str | None, limit: int, window_s: int) -> int:
    """0 when a login attempt may be checked now, else the seconds the caller must wait."""
    now = utcnow()
    since = now - timedelta(seconds=window_s)
    last_ok = db.scalar(select(AuditEntry.at).where(AuditEntry.action == "login", AuditEntry.actor == username,
                                                    AuditEntry.at >= since).order_by(AuditEntry.at.desc()).limit(1))
    by_name = select(AuditEntry.at).where(AuditEntry.action == FAILED, AuditEntry.actor == username,
                                          AuditEntry.at >= (last_ok or since))
    if last_ok is not None:
        by_name = by_name.where(AuditEntry.at > last_ok)
    name_times = list(db.scalars(by_name.order_by(AuditEntry.at.desc()).limit(limit)))
    wait = _wait_s(name_times, limit, window_s, now)
    if ip:
        ip_times = list(db.scalars(select(AuditEntry.at).where(AuditEntry.action == FAILED, AuditEntry.ip == ip,
                                                                  AuditEntry.at >= since)
                                   .order_by(AuditEntry.at.desc()).limit(limit)))
        wait = max(wait, _wait_s(ip_times, limit, window_s, now))
    return wait
