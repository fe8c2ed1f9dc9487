"""The signed manifest at the root of a case export zip: what makes the zip verify offline.

``civicwatch verify export.zip --key civicwatch-signing-key.pub.pem`` reads the zip's
``manifest.json`` (the same form as an analysis folder's: path, SHA-256 and size of every other
file in the zip) and checks ``manifest.sig`` with the service's published key.

For evidence files the hash vouched for is the one recorded when the run was ingested (else the
run manifest's), not a fresh hash of what is on disk now: a file edited on the server after
ingest is exported as it is, and the zip then fails verification instead of the service signing
the edit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from detector.hashing import sha256_file
from detector.signing import SIGNATURE, SIGNED_FILE, signature_document

EXPORT_MANIFEST_VERSION = 1


class ExportManifest:
    """Collects one entry per zip member as the zip streams, then renders manifest + signature."""

    def __init__(self) -> None:
        self.files: list[dict] = []

    def add(self, name: str, content, sha256: str | None = None, size: int | None = None) -> None:  # noqa: ANN001
        """Record ``name``; bytes are hashed here, a file (a path or a ``service.blobstore.BlobRef``)
        is vouched for by ``sha256`` when given."""
        from service.blobstore import BlobRef, sha256 as blob_sha256

        if isinstance(content, (bytes, bytearray)):
            sha256, size = hashlib.sha256(content).hexdigest(), len(content)
        elif isinstance(content, BlobRef):
            sha256 = sha256 or blob_sha256(content.store, content.key)
            size = content.size if size is None else size
        else:
            if not sha256:
                sha256 = sha256_file(content)
            if size is None:
                size = Path(content).stat().st_size
        self.files.append({"path": name, "sha256": sha256, "size": size})

    def render(self, key: Ed25519PrivateKey, software_version: str, extra: dict | None = None) -> list[tuple[str, bytes]]:
        """``manifest.json`` and ``manifest.sig`` as zip entries (to be written after the rest)."""
        manifest = {
            "manifest_version": EXPORT_MANIFEST_VERSION,
            "kind": "case-export",
            "software_version": software_version,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "hash": "sha256",
            "files": sorted(self.files, key=lambda f: f["path"]),
            "extra": extra or {},
        }
        data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        return [(SIGNED_FILE, data), (SIGNATURE, signature_document(data, key))]
