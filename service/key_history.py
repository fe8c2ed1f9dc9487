"""Every public key this installation has signed with, kept so that what it signed stays checkable.

An export zip is checked offline with the key its installation publishes. When that key is
replaced (a suspected leak, a rebuilt server), ``/api/signing-key`` published only the new one:
every zip signed before then failed ``civicwatch verify`` against anything the service offered,
and the old public key was gone with the old key file. The service now notes the public half of
each key it starts with under ``<data_dir>/signing-keys/`` (never deleted, never rewritten), and
publishes them all, each with the time it was first used.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from detector.signing import ALGORITHM, fingerprint, public_pem

KEY_HISTORY_DIR = "signing-keys"


def remember(data_dir: Path, key: Ed25519PrivateKey | Ed25519PublicKey) -> None:
    """Note ``key``'s public half, first use now, unless it is noted already (a restart)."""
    folder = Path(data_dir) / KEY_HISTORY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(key)
    target = folder / f"{fp}.json"
    if target.exists():
        return
    doc = {
        "algorithm": ALGORITHM,
        "fingerprint": fp,
        "public_key_pem": public_pem(key),
        "first_used_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    tmp = folder / f".{fp}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    try:
        os.link(tmp, target)  # two processes starting at once: the first note stands
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def known(data_dir: Path) -> list[dict]:
    """The noted keys, oldest first: ``{algorithm, fingerprint, public_key_pem, first_used_utc}``."""
    out = []
    for path in sorted((Path(data_dir) / KEY_HISTORY_DIR).glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("fingerprint") == path.stem and doc.get("public_key_pem"):
            out.append(doc)
    return sorted(out, key=lambda d: str(d.get("first_used_utc")))
