"""Send a file only as the bytes its recorded SHA-256 vouches for, checked over the bytes sent.

Checking a file and then serving it by its path leaves a gap: a file replaced in between (a
``cp`` over it, a rename onto it) is what goes out, checked or not. Here the file is opened once
and everything sent is read from that one descriptor while the whole file is hashed, so what is
checked is exactly what is sent:

* up to ``buffer_limit`` bytes of response (published clips and stills are seconds long, well
  under it) are held until the hash is known: a mismatch is a clean 409 and nothing of the file
  goes out;
* a longer response starts before the end of the file is read, and its last piece is held back:
  on a mismatch the connection is dropped before the body is complete, so the client has a
  truncated download (its ``Content-Length`` says so), never a whole wrong file.

The whole file is read on every request, ranges included: a screen fetches its few media rarely,
and this is the point where a hash matters (the feed's poll uses the size/mtime cache,
``service.hash_cache``). Single byte ranges are honoured (video players seek with them); a
multi-range or malformed ``Range`` gets the whole file, as RFC 9110 allows.

The bytes come from an evidence store (``service.blobstore``): a local file opened once without
following symlinks, or one GET of an S3 object, which is one version of it however the bucket
changes meanwhile. Either way the bytes hashed are the bytes sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from service.blobstore import BlobReader, BlobStore, open_file

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class IntegrityAbort(RuntimeError):
    """The file changed under a response already under way; the connection is dropped."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """``(start, end)`` (end exclusive) for a satisfiable single range; None to send the whole
    file (no, several or a malformed range); False when unsatisfiable (416)."""
    m = _RANGE.match(header or "")
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:  # the last N bytes
        n = int(last)
        return (max(0, size - n), size) if n > 0 and size > 0 else False
    start = int(first)
    end = min(size, int(last) + 1) if last else size
    if last and int(last) < start:
        return None  # malformed: ignored
    return (start, end) if start < size else False


def _read_and_hash(reader: BlobReader, digest: hashlib._Hash, offset: int, size: int) -> bytes:
    chunk = reader.read_at(offset, size)
    digest.update(chunk)
    return chunk


class VerifiedBlobResponse(Response):
    """The response for object ``key`` of ``store``, sent only if its SHA-256 is ``sha256``."""

    buffer_limit = 32 * 1024 * 1024

    def __init__(
        self,
        store: BlobStore | None,
        key: str,
        sha256: str,
        media_type: str,
        headers: dict[str, str] | None = None,
        chunk_size: int = 1024 * 1024,
        problem_detail: str = "the file fails its integrity check",
        opener: Callable[[], BlobReader | None] | None = None,
    ) -> None:
        super().__init__(media_type=media_type)
        self.key, self.sha256 = key, sha256
        self.name = PurePosixPath(str(key)).name
        self.opener = opener or (lambda: store.open(key))
        self.extra_headers = dict(headers or {})
        self.chunk_size = chunk_size
        self.problem_detail = problem_detail

    async def _json(self, send: Send, status: int, body: dict, extra: list[tuple[bytes, bytes]] = ()) -> None:
        data = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reader = await run_in_threadpool(self.opener)
        if reader is None:  # missing, a symlink, not a regular file (local), no such object (S3)
            await self._json(send, 404, {"detail": f"{self.name} is not there", "code": "not_found"})
            return
        try:
            await self._send_from(reader, scope, send)
        finally:
            reader.close()
        if self.background is not None:
            await self.background()

    async def _send_from(self, reader: BlobReader, scope: Scope, send: Send) -> None:
        size = reader.size
        span = byte_range(Headers(scope=scope).get("range"), size)
        if span is False:
            await self._json(
                send,
                416,
                {"detail": f"range not satisfiable (the file has {size} bytes)", "code": "range_not_satisfiable"},
                [(b"content-range", f"bytes */{size}".encode())],
            )
            return
        start, end = span if span else (0, size)
        headers = [
            (b"content-type", self.media_type.encode()),
            (b"content-length", str(end - start).encode()),
            (b"accept-ranges", b"bytes"),
            (b"etag", f'"{self.sha256}"'.encode()),
            *((k.lower().encode(), v.encode()) for k, v in self.extra_headers.items()),
        ]
        if span:
            headers.append((b"content-range", f"bytes {start}-{end - 1}/{size}".encode()))
        status = 206 if span else 200

        digest = hashlib.sha256()
        pending: list[bytes] = []
        pending_len, pos, started = 0, 0, False
        while True:
            chunk = await run_in_threadpool(_read_and_hash, reader, digest, pos, self.chunk_size)
            if not chunk:
                break
            piece = chunk[max(0, start - pos) : max(0, end - pos)]
            pos += len(chunk)
            if not piece:
                continue
            pending.append(piece)
            pending_len += len(piece)
            if pending_len > self.buffer_limit:  # too long to hold: send all but the last piece
                if not started:
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    started = True
                for p in pending[:-1]:
                    await send({"type": "http.response.body", "body": p, "more_body": True})
                pending, pending_len = pending[-1:], len(pending[-1])
        if pos != size or digest.hexdigest() != self.sha256:
            log.warning(
                "not serving %s: its SHA-256 is not the recorded one (read %d of %d bytes)", self.key, pos, size
            )
            if not started:
                await self._json(
                    send, 409, {"detail": self.problem_detail, "code": "integrity_failed", "problems": [self.name]}
                )
                return
            raise IntegrityAbort(f"{self.key} changed while it was being sent; the download is cut short")
        if not started:
            await send({"type": "http.response.start", "status": status, "headers": headers})
        body = b"".join(pending) if len(pending) > 1 else (pending[0] if pending else b"")
        await send({"type": "http.response.body", "body": body, "more_body": False})


class VerifiedFileResponse(VerifiedBlobResponse):
    """The response for the file at ``path`` (opened with O_NOFOLLOW), sent only if its SHA-256
    is ``sha256``: for files outside any evidence store (flight reports)."""

    def __init__(self, path: Path, sha256: str, media_type: str, headers: dict[str, str] | None = None,
                 chunk_size: int = 1024 * 1024, problem_detail: str = "the file fails its integrity check") -> None:
        super().__init__(None, Path(path).name, sha256, media_type, headers, chunk_size, problem_detail,
                         opener=lambda: open_file(Path(path)))
        self.path = Path(path)
