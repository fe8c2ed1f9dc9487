"""SHA-256 of files and bytes, streamed in 1 MiB blocks so a long video never sits in memory.

One implementation for evidence, manifests, model files and demo photos: a hash that differs
because two copies of this function drifted would be an integrity failure nobody could explain.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1 << 20


def sha256_file(path: Path, block_size: int = BLOCK) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
