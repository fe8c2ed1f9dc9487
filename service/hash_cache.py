"""SHA-256 of a file, remembered while the file's size, mtime and inode stay the same.

Screens fetch the same published clip again and again, and the feed asks every poll whether each
case's media are still intact; re-hashing megabytes per request would make checking on serve too
dear to do. A replaced or edited file changes its mtime (and usually size or inode), so the cached
digest is never trusted for a different file; a writer that forges the mtime back needs the
machine's own privileges, which no screen has.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from detector.hashing import sha256_file

MAX_ENTRIES = 4096
_cache: OrderedDict[tuple[str, int, int, int, int], str] = OrderedDict()
_lock = threading.Lock()


def cached_sha256(path: Path, chunk_size: int = 1024 * 1024) -> str | None:
    """The file's SHA-256, or None when it is not a regular file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    digest = sha256_file(Path(path), chunk_size)
    with _lock:
        _cache[key] = digest
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return digest


def matches(path: Path, expected: str, chunk_size: int = 1024 * 1024) -> bool:
    return cached_sha256(path, chunk_size) == expected
