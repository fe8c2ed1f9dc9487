"""Small JPEG thumbnails of a case's still evidence (snapshot, crop, sheet) for the review queue.

A queue of hundreds of cases would otherwise load every full-size snapshot. A thumbnail is made
once per (file, width) and cached under ``data_dir/cache/thumbs``, keyed by the source's path,
size and mtime, so a replaced file never serves an old thumbnail. Thumbnails are a convenience
for finding a case, never evidence: they are not hashed or exported.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import cv2

THUMB_WIDTHS = (96, 160, 320)  # the widths served; anything else is refused (no cache flooding)
STILL_KINDS = ("snapshot", "crop", "sheet")


def thumbnail(source: Path, width: int, data_dir: Path) -> Path:
    """Path of a JPEG of ``source`` at most ``width`` px wide (made now if not cached)."""
    st = source.stat()
    key = hashlib.sha256(f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{width}".encode()).hexdigest()[:32]
    out = data_dir / "cache" / "thumbs" / key[:2] / f"{key}.jpg"
    if out.is_file():
        return out
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{source.name}: not a readable image")
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError(f"{source.name}: could not encode a thumbnail")
    out.parent.mkdir(parents=True, exist_ok=True)
    # A temporary file of its own for each writer, then an atomic rename: two requests making the
    # same thumbnail never serve half a file. The name must differ between threads too: the
    # service answers requests on a thread pool, and a name made of the process id alone let two
    # queue rows of one snapshot write one file, and the second rename find it gone (404).
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def blob_thumbnail(store, key: str, width: int, data_dir: Path) -> Path:  # noqa: ANN001
    """``thumbnail`` of object ``key`` of an evidence store (``service.blobstore``): a local file
    as above; an object is fetched only when no thumbnail of its version (ETag, Last-Modified)
    is cached yet. FileNotFoundError when it is not there."""
    from service.blobstore import LocalStore

    if isinstance(store, LocalStore):
        with store.local_copy(key) as path:
            return thumbnail(path, width, data_dir)
    info = store.info(key)
    if info is None:
        raise FileNotFoundError(key)
    ident = hashlib.sha256(repr((store.kind, getattr(store, "bucket", ""), key, info.version, width)).encode())
    name = ident.hexdigest()[:32]
    out = data_dir / "cache" / "thumbs" / name[:2] / f"{name}.jpg"
    if out.is_file():
        return out
    with store.local_copy(key) as path:
        made = thumbnail(path, width, data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(made, out)
    return out
