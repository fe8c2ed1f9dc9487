"""Server-side faults the client should be told about plainly: a full disk and an unreachable database.

A full disk used to surface as 500s on login, approve and chunk uploads (and as the client's 400
on a single-request upload) while ``/healthz`` said ok. Here those failures are recognised
wherever they are raised and answered as 507 Insufficient Storage (nothing was saved, nothing is
wrong with the request) or 503 (the database cannot be reached), with a message in both languages.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError

DISK_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
STORAGE_FULL = ("the server's storage is full: nothing was saved; try again later or tell the administrator"
                " / 服务器存储空间已满：未保存任何内容，请稍后再试或通知管理员")
DB_UNAVAILABLE = ("the database is unavailable: try again in a moment"
                  " / 数据库暂时不可用，请稍后再试")


def is_disk_full(err: BaseException) -> bool:
    """ENOSPC / EDQUOT from a write, or a database that could not write for lack of space
    (SQLite "database or disk is full", PostgreSQL SQLSTATE class 53 "insufficient resources")."""
    seen = 0
    while err is not None and seen < 5:
        if isinstance(err, OSError) and err.errno in DISK_ERRNOS:
            return True
        if "database or disk is full" in str(err).lower():
            return True
        state = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if isinstance(state, str) and state in ("53100", "53000"):
            return True
        err = getattr(err, "orig", None) or err.__cause__
        seen += 1
    return False


def classify(err: BaseException) -> tuple[int, str, str] | None:
    """(status, code, message) for a fault the client should hear about, or None."""
    if is_disk_full(err):
        return 507, "storage_full", STORAGE_FULL
    if isinstance(err, OperationalError) or (isinstance(err, DBAPIError) and err.connection_invalidated):
        return 503, "db_unavailable", DB_UNAVAILABLE
    return None


def disk_free(path: Path) -> int:
    """Free bytes on the disk holding ``path`` (its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free
