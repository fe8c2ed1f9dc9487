"""Small JPEG thumbnails of a case's still evidence (snapshot, crop, sheet) for the review queue.

A queue of hundreds of cases would otherwise load every full-size snapshot. A thumbnail is made
once per (file, width) and cached under ``data_dir/cache/thumbs``, keyed by the source's path,
size and mtime, so a replaced file never serves an old thumbnail. Thumbnails are a convenience
for finding a case, never evidence: they are not hashed or exported.
"""

from __future__ import annotations

import hashlib
import os
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
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, out)  # atomic: two requests making the same thumbnail never serve half a file
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
