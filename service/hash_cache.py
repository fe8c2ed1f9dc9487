"""SHA-256 of a file, remembered while the file's size, mtime, ctime and inode stay the same.

The feed asks every poll whether each published case's media are still intact, and the case view
shows every case's integrity; re-hashing megabytes for each would make those checks too dear to
do. A replaced or edited file changes its mtime and ctime (and usually size or inode), so the
cached digest is never trusted for a different file: setting the mtime back still moves the
ctime, which only the machine's own privileges can forge. What no stat shows (bit rot, a raw disk
edit) the periodic scrub finds (``service.integrity_scrub`` re-reads every byte and ``refresh``
replaces the cached digest). Decisions (approve, publish) and serving media to screens read the
bytes themselves (``service.verified_serve``).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from detector.hashing import sha256_file

MAX_ENTRIES = 4096
_cache: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


def cached_sha256(path: Path, chunk_size: int = 1024 * 1024) -> str | None:
    """The file's SHA-256, or None when it is not a regular file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    key = _key(path, st)
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


def refresh(path: Path, chunk_size: int = 1024 * 1024) -> str | None:
    """Read every byte again and remember what is really there under the file's current key,
    replacing whatever digest was cached for it (``service.integrity_scrub``): a file rewritten
    with its mtime put back then fails its next cached check. None when it is not a regular file."""
    try:
        before = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    digest = sha256_file(Path(path), chunk_size)
    try:
        after = os.stat(path)
    except OSError:
        return digest
    key = _key(path, before)
    if key == _key(path, after):  # changed while read: its next check reads it again anyway
        with _lock:
            _cache[key] = digest
            _cache.move_to_end(key)
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
    return digest


def _key(path: Path, st: os.stat_result) -> tuple[str, int, int, int, int, int]:
    # ctime too: writing a file and setting its mtime back (``touch -d``) still moves its ctime,
    # which no unprivileged writer can set
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def matches(path: Path, expected: str, chunk_size: int = 1024 * 1024) -> bool:
    return cached_sha256(path, chunk_size) == expected


# ---- objects of an evidence store (service.blobstore) ----------------------------------------
# The same bargain for any store: a digest is reused while the object's version (a file's stat
# tuple above, an S3 object's ETag and Last-Modified) is unchanged, and the scrub replaces it.
# Local files keep the path-keyed entries above, so both ways of asking share one cache.

def _blob_key(store, info) -> tuple:  # noqa: ANN001
    return ("blob", store.kind, getattr(store, "bucket", ""), getattr(store, "prefix", ""), info.key, *info.version)


def cached_blob_sha256(store, key: str, chunk_size: int = 1024 * 1024) -> str | None:  # noqa: ANN001
    """SHA-256 of object ``key``, or None when it is not there (or not a regular, unlinked file)."""
    from service.blobstore import LocalStore, sha256

    if isinstance(store, LocalStore):
        return cached_sha256(store.path(key), chunk_size) if store.info(key) is not None else None
    info = store.info(key)
    if info is None:
        return None
    ck = _blob_key(store, info)
    with _lock:
        if ck in _cache:
            _cache.move_to_end(ck)
            return _cache[ck]
    digest = _read_version(store, key, info, chunk_size, sha256)
    return digest


def refresh_blob(store, key: str, chunk_size: int = 1024 * 1024) -> str | None:  # noqa: ANN001
    """Read every byte of object ``key`` again and remember it (``service.integrity_scrub``)."""
    from service.blobstore import LocalStore, sha256

    if isinstance(store, LocalStore):
        return refresh(store.path(key), chunk_size) if store.info(key) is not None else None
    info = store.info(key)
    if info is None:
        return None
    return _read_version(store, key, info, chunk_size, sha256)


def _read_version(store, key: str, info, chunk_size: int, sha256) -> str | None:  # noqa: ANN001
    digest = sha256(store, key, chunk_size)
    after = store.info(key)
    if digest is not None and after is not None and after.version == info.version:
        with _lock:  # unchanged while read: the digest belongs to that version
            ck = _blob_key(store, info)
            _cache[ck] = digest
            _cache.move_to_end(ck)
            while len(_cache) > MAX_ENTRIES:
                _cache.popitem(last=False)
    return digest


def blob_matches(store, key: str, expected: str, chunk_size: int = 1024 * 1024) -> bool:  # noqa: ANN001
    return cached_blob_sha256(store, key, chunk_size) == expected
