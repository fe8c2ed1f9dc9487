"""A zip file written as a stream of chunks (no temp file, no whole archive in memory)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path


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


def zip_stream(entries: Iterator[tuple[str, Path | bytes]], chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """Yield the bytes of a zip holding ``(name, file path or bytes)`` entries, in order."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, content in entries:
            with zf.open(name, "w", force_zip64=True) as dest:
                if isinstance(content, (bytes, bytearray)):
                    dest.write(content)
                else:
                    with open(content, "rb") as src:
                        while block := src.read(chunk_size):
                            dest.write(block)
                            if len(sink.buf) >= chunk_size:
                                yield sink.take()
            yield sink.take()
    yield sink.take()
