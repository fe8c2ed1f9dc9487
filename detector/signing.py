"""Ed25519 signatures over ``manifest.json``: who vouches for an evidence folder.

Hashes alone prove a file matches the manifest, but whoever edits a picture can rewrite the
manifest too. A signature made with the installation's private key closes that gap: a changed
manifest no longer verifies, and the hashes it holds tie every file to it.

- One key per installation, created on first use (PEM, PKCS#8) with mode 600 and never replaced.
  The CLI keeps it at ``$CIVICWATCH_SIGNING_KEY`` or ``~/.config/civicwatch/signing-key.pem``
  (``$XDG_CONFIG_HOME`` respected); the service keeps it in its data folder.
- The signature is a detached ``manifest.sig`` beside the manifest (JSON, see
  ``signature_document``), over the exact bytes of ``manifest.json``.
- The public key copied into ``manifest.sig`` is for information only: a checker uses a key it got
  elsewhere (``--key``, the service's ``/api/signing-key``), never the one the folder offers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE = "manifest.sig"
SIGNED_FILE = "manifest.json"
ALGORITHM = "ed25519"
KEY_ENV = "CIVICWATCH_SIGNING_KEY"
KEY_FILE = "signing-key.pem"


class SigningKeyError(RuntimeError):
    """A key file that cannot be used: unreadable, not Ed25519, or readable by others."""


def default_key_path() -> Path:
    """Where the CLI keeps this installation's key: ``$CIVICWATCH_SIGNING_KEY``, else the user's
    config folder (``$XDG_CONFIG_HOME/civicwatch`` or ``~/.config/civicwatch``)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "civicwatch" / KEY_FILE


def _check_private(path: Path) -> None:
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(
            f"{path}: private signing key is readable by other users (mode {mode:o}); "
            f"run `chmod 600 {path}` / 私钥文件权限过宽，请执行 chmod 600")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    path = Path(path)
    _check_private(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise SigningKeyError(f"{path}: not a readable PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: not an Ed25519 key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, created first (mode 600, parent 700) when there is none.

    Creation writes a private temporary file and hard-links it into place, so two processes
    starting at once end up with one key between them, and an existing key is never replaced.
    """
    path = Path(path)
    if path.exists():
        return load_private_key(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # two threads of a service too
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use that one
    finally:
        tmp.unlink(missing_ok=True)
    return load_private_key(path)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file; a private key file works too (its public half is used)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SigningKeyError(f"{path}: cannot read the key ({err.strerror})") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise SigningKeyError(f"{path}: not a PEM public key ({err})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """First 16 hex digits of SHA-256 over the raw 32 public-key bytes: short enough to read aloud."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signature_document(data: bytes, key: Ed25519PrivateKey, signed_file: str = SIGNED_FILE) -> bytes:
    """The bytes of a ``manifest.sig`` for ``data`` (the exact bytes of ``signed_file``)."""
    doc = {
        "algorithm": ALGORITHM,
        "signed_file": signed_file,
        "signed_sha256": hashlib.sha256(data).hexdigest(),
        "key_fingerprint": fingerprint(key),
        "public_key_pem": public_pem(key),
        "note": "Ed25519 over the exact bytes of signed_file; check it with the installation's published "
                "key, not with public_key_pem above (which anyone could replace)",
        "signature": base64.b64encode(key.sign(data)).decode("ascii"),
    }
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sign_manifest(folder: Path, key: Ed25519PrivateKey) -> Path:
    """Write ``manifest.sig`` for ``folder/manifest.json``; like the manifest, never overwritten.

    An existing signature that already verifies with ``key`` stands (a repeated run); any other
    existing signature is a conflict (``EvidenceConflictError``).
    """
    from detector.evidence.writer import EvidenceConflictError

    folder = Path(folder)
    data = (folder / SIGNED_FILE).read_bytes()
    target = folder / SIGNATURE
    if target.exists():
        if check_signature(folder, key.public_key()).status == "valid":
            return target
        raise EvidenceConflictError(f"{target} already exists and does not match; evidence is never overwritten")
    with open(target, "xb") as fh:
        fh.write(signature_document(data, key))
    return target


SignatureStatus = Literal["valid", "invalid", "unsigned", "no-key", "unreadable"]


@dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    detail: str
    signer: str | None = None  # fingerprint the signature file claims

    @property
    def ok(self) -> bool:
        return self.status == "valid"


def check_signature(folder: Path, key: Ed25519PublicKey | None) -> SignatureCheck:
    """Does ``folder/manifest.sig`` sign ``folder/manifest.json`` under ``key``?"""
    folder = Path(folder)
    sig_path = folder / SIGNATURE
    if not sig_path.is_file():
        return SignatureCheck("unsigned", f"no {SIGNATURE}: the manifest is not signed")
    try:
        doc = json.loads(sig_path.read_text(encoding="utf-8"))
        signature = base64.b64decode(doc["signature"], validate=True)
        algorithm, signed_file = doc.get("algorithm"), doc.get("signed_file", SIGNED_FILE)
        signer = doc.get("key_fingerprint")
    except (OSError, ValueError, KeyError, TypeError) as err:
        return SignatureCheck("unreadable", f"{SIGNATURE} unreadable ({err})")
    if algorithm != ALGORITHM or signed_file != SIGNED_FILE:
        return SignatureCheck("unreadable", f"{SIGNATURE}: unsupported algorithm {algorithm!r} or file {signed_file!r}")
    if key is None:
        return SignatureCheck("no-key", f"no public key to check {SIGNATURE} with (signed by key {signer}); "
                                        "pass --key PUBKEY.pem", signer)
    try:
        data = (folder / SIGNED_FILE).read_bytes()
    except OSError as err:
        return SignatureCheck("unreadable", f"{SIGNED_FILE} unreadable ({err.strerror})", signer)
    try:
        key.verify(signature, data)
    except InvalidSignature:
        mine = fingerprint(key)
        # Another key: often the installation's key from before it was replaced, which the
        # service still publishes by fingerprint; say where to get it.
        why = ("manifest.json was changed after signing" if signer == mine
               else f"signed by key {signer}, checked with key {mine}; the service publishes every key it has "
                    f"signed with at /api/signing-key?fingerprint={signer}")
        return SignatureCheck("invalid", f"signature does not verify ({why})", signer)
    return SignatureCheck("valid", f"signed by key {fingerprint(key)}", signer)
