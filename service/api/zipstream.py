"""A zip file written as a stream of chunks (no temp file, no whole archive in memory)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from service.blobstore import BlobRef, iter_chunks


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # noqa: ANN001
        self.buf += b
        self.pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


def _pieces(content: Path | BlobRef, chunk_size: int) -> Iterator[bytes]:
    if isinstance(content, BlobRef):  # an object of the evidence store (service.blobstore)
        yield from iter_chunks(content.store, content.key, chunk_size)
        return
    with open(content, "rb") as src:
        while block := src.read(chunk_size):
            yield block


def zip_stream(entries: Iterator[tuple[str, Path | BlobRef | bytes]], chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """Yield the bytes of a zip holding ``(name, file path, stored object or bytes)`` entries, in order."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, content in entries:
            with zf.open(name, "w", force_zip64=True) as dest:
                if isinstance(content, (bytes, bytearray)):
                    dest.write(content)
                else:
                    for block in _pieces(content, chunk_size):
                        dest.write(block)
                        if len(sink.buf) >= chunk_size:
                            yield sink.take()
            yield sink.take()
    yield sink.take()
