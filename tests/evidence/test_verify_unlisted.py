"""``civicwatch verify DIR`` without ``--strict`` names the files the manifest does not list.

A folder check passes files nobody signed for (``render`` adds ``annotated.mp4`` after the
manifest was signed), which is why refusing them takes ``--strict``. But it passed them in
silence: a made-up case put in a signed run folder verified "OK", as if vouched for.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from civicwatch.cli import main
from detector.signing import SIGNATURE, SIGNED_FILE, public_pem, signature_document


def signed_folder(root):
    """A signed output folder (as the pipeline leaves one) and its public key file."""
    key = Ed25519PrivateKey.generate()
    files = {"cases.json": b"[]", "cases/c1/case.json": b'{"id": "c1"}', "cases/c1/snapshot.jpg": b"\xff\xd8" * 500}
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    listed = [{"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
              for rel, data in sorted(files.items())]
    manifest = (json.dumps({"manifest_version": 1, "files": listed}, indent=2) + "\n").encode()
    (root / SIGNED_FILE).write_bytes(manifest)
    (root / SIGNATURE).write_bytes(signature_document(manifest, key))
    pub = root.parent / "key.pub.pem"
    pub.write_text(public_pem(key), encoding="ascii")
    return pub


def test_a_file_added_to_a_signed_folder_is_named(tmp_path, capsys):
    out = tmp_path / "run"
    pub = signed_folder(out)
    assert main(["verify", str(out), "--key", str(pub)]) == 0
    assert "NOTE" not in capsys.readouterr().out  # nothing to say about an intact folder
    (out / "cases" / "c2").mkdir()
    (out / "cases" / "c2" / "snapshot.jpg").write_bytes(b"made up")
    assert main(["verify", str(out), "--key", str(pub)]) == 0  # documented: refusing them takes --strict
    printed = capsys.readouterr().out
    assert "NOTE: 1 file(s) not in the manifest, so not vouched for" in printed
    assert "cases/c2/snapshot.jpg" in printed
    assert main(["verify", str(out), "--key", str(pub), "--strict"]) == 1
    assert "FAIL: unlisted: cases/c2/snapshot.jpg" in capsys.readouterr().out
