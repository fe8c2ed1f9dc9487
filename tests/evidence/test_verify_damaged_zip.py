"""``civicwatch verify`` on damaged or crafted zips: each is refused with a message that says what
is wrong with the zip (not a temporary folder's path, not "missing" for a file that is there).

The folder and zip are made here and signed with a key of their own: how a zip is unpacked does not
depend on what the files hold, so no footage is needed.
"""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from civicwatch.cli import main
from detector.signing import SIGNATURE, SIGNED_FILE, public_pem, signature_document


@pytest.fixture
def signed_zip(tmp_path):
    """``(zip, public key file, members)``: a signed export-like zip that verifies."""
    key = Ed25519PrivateKey.generate()
    members = {"export.json": b'{"cases": ["c1"]}', "c1/record.json": b'{"id": "c1"}',
               "c1/snapshot.jpg": bytes(range(256)) * 40}
    files = [{"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
             for name, data in sorted(members.items())]
    manifest = (json.dumps({"manifest_version": 1, "kind": "case-export", "files": files}, indent=2) + "\n").encode()
    members[SIGNED_FILE] = manifest
    members[SIGNATURE] = signature_document(manifest, key)
    path = tmp_path / "export.zip"
    write_zip(path, members.items())
    pub = tmp_path / "key.pub.pem"
    pub.write_text(public_pem(key), encoding="ascii")
    return path, pub, members


def write_zip(path, items) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in items:
            zf.writestr(name, data)


def flip_in_member(path, name) -> None:
    """Flip one byte of ``name``'s stored data (its CRC no longer matches)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.file_size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def verify(path, pub, capsys) -> tuple[int, str]:
    code = main(["verify", str(path), "--key", str(pub)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_zip_made_here_verifies(signed_zip, capsys):
    path, pub, _ = signed_zip
    code, text = verify(path, pub, capsys)
    assert code == 0, text


def test_a_truncated_zip_is_named_as_one(signed_zip, capsys):
    """Cut short (a download that stopped): the end of a zip, its list of members, is gone. It
    was refused as "neither an output folder nor a zip file", about a file that is a zip."""
    path, pub, _ = signed_zip
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    code, text = verify(path, pub, capsys)
    assert code == 2
    assert "truncated" in text and "neither an output folder" not in text


def test_bytes_cut_from_the_middle_name_the_damaged_members(signed_zip, capsys):
    """The member list at the end is whole but points before the start of the file for the
    members in front of the cut: they are named as damaged (exit 1), not "unreadable zip
    ([Errno 22] Invalid argument)" for the whole zip (exit 2)."""
    path, pub, _ = signed_zip
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("c1/snapshot.jpg")
    data = path.read_bytes()
    cut = info.header_offset + 30 + len(info.filename) + 1000
    path.write_bytes(data[:cut] + data[cut + 500:])
    code, text = verify(path, pub, capsys)
    assert code == 1, text
    assert "corrupt in zip: c1/snapshot.jpg" in text
    assert "Errno" not in text


@pytest.mark.parametrize("order", ["file first", "folder first"])
def test_a_name_that_is_a_file_and_a_folder_is_refused_as_such(signed_zip, tmp_path, capsys, order):
    """``c1/snapshot.jpg`` and ``c1/snapshot.jpg/x`` cannot both be unpacked: the second was a
    "File exists" error naming the checker's temporary folder, exit 2, as if the zip could not be read."""
    path, pub, members = signed_zip
    extra = ("c1/snapshot.jpg/x", b"x")
    items = list(members.items())
    write_zip(path, items + [extra] if order == "file first" else [extra] + items)
    code, text = verify(path, pub, capsys)
    assert code == 1, text
    assert "c1/snapshot.jpg/x" in text and "both a file and a folder" in text
    assert "civicwatch-verify-" not in text


def test_a_damaged_manifest_is_not_called_missing(signed_zip, capsys):
    path, pub, _ = signed_zip
    flip_in_member(path, SIGNED_FILE)
    code, text = verify(path, pub, capsys)
    assert code == 2
    assert "manifest.json" in text and "corrupt in zip" in text
    assert "missing: manifest.json" not in text


def test_a_damaged_signature_is_not_called_absent(signed_zip, capsys):
    path, pub, _ = signed_zip
    flip_in_member(path, SIGNATURE)
    code, text = verify(path, pub, capsys)
    assert code == 1
    assert "corrupt in zip: manifest.sig" in text
    assert "not signed" not in text


def test_allow_unsigned_does_not_accept_a_zip_whose_signature_was_removed(signed_zip, capsys):
    """``--allow-unsigned`` is for analysis folders written before manifests were signed. Every zip
    ``verify`` reads is an export, and every export is signed: one without ``manifest.sig`` had it
    taken out. With the flag, a zip whose picture was edited, its hash rewritten in the manifest
    and the signature dropped verified "OK" (exit 0)."""
    path, pub, members = signed_zip
    edited = members["c1/snapshot.jpg"][::-1]
    manifest = json.loads(members[SIGNED_FILE])
    for entry in manifest["files"]:
        if entry["path"] == "c1/snapshot.jpg":
            entry["sha256"], entry["size"] = hashlib.sha256(edited).hexdigest(), len(edited)
    forged = {**members, "c1/snapshot.jpg": edited, SIGNED_FILE: json.dumps(manifest).encode()}
    del forged[SIGNATURE]
    write_zip(path, forged.items())
    assert main(["verify", str(path), "--key", str(pub), "--allow-unsigned"]) == 1
    out = capsys.readouterr().out
    assert "FAIL: signature: no manifest.sig" in out and "every case export is signed" in out
