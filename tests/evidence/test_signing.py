"""Signed manifests: the key is private and reused; a flipped byte, an edited or swapped manifest,
and the wrong key are each refused; a folder written before signing still verifies its hashes
when the user says so."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat

import pytest

from civicwatch.cli import main
from detector.evidence import EvidenceConflictError, verify, write_cases, write_manifest
from detector.evidence.verification import verify_evidence
from detector.signing import (
    SIGNATURE, SigningKeyError, default_key_path, fingerprint, load_or_create_key, load_public_key, public_pem,
    sign_manifest,
)

from .helpers import make_event, make_logs, make_scene

SOURCE = "beijing-intersection/uadetrac_overpass_short.mp4"


def write_pub(key, path):
    path.write_text(public_pem(key), encoding="ascii")
    return path


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return load_or_create_key(tmp_path_factory.mktemp("key") / "installation" / "signing-key.pem")


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory, footage_dir, signer):
    """A real evidence folder (clip, snapshot... cut from real footage), its manifest and signature."""
    root = tmp_path_factory.mktemp("signed")
    out = root / "out"
    scene_path = root / "scene.yaml"
    scene_path.write_text("camera: bj-overpass-01\n", encoding="utf-8")
    tracks, signals = make_logs()
    cases = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=[make_event()], track_log=tracks,
                        signal_log=signals, out_dir=out, pre=0.3, post=0.3)
    write_manifest(out, source=footage_dir / SOURCE, scene_path=scene_path, model_path=None, software_version="t")
    sign_manifest(out, signer)
    return out, cases[0], write_pub(signer, root / "pub.pem")


@pytest.fixture
def run_copy(signed_run, tmp_path):
    out, case, pub = signed_run
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return copy, case, pub


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_key_is_created_private_and_reused(tmp_path):
    path = tmp_path / "cfg" / "signing-key.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()
    assert fingerprint(load_or_create_key(path)) == fingerprint(key)  # same key, file untouched
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]  # no temporary left behind
    assert len(fingerprint(key)) == 16
    pub = write_pub(key, tmp_path / "pub.pem")
    assert fingerprint(load_public_key(pub)) == fingerprint(key) == fingerprint(load_public_key(path))
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_or_create_key(path)
    with pytest.raises(SigningKeyError):
        load_public_key(tmp_path / "missing.pem")


def test_default_key_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVICWATCH_SIGNING_KEY", str(tmp_path / "k.pem"))
    assert default_key_path() == tmp_path / "k.pem"
    monkeypatch.delenv("CIVICWATCH_SIGNING_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_key_path() == tmp_path / "xdg" / "civicwatch" / "signing-key.pem"


def test_signed_folder_verifies(signed_run, signer, capsys):
    out, _, pub = signed_run
    sig = json.loads((out / SIGNATURE).read_text())
    assert sig["algorithm"] == "ed25519" and sig["key_fingerprint"] == fingerprint(signer)
    assert sig["signed_sha256"] == sha(out / "manifest.json")
    report = verify_evidence(out, load_public_key(pub), strict=True)
    assert report.ok and report.signature.status == "valid", report.problems
    assert main(["verify", str(out), "--key", str(pub)]) == 0
    listed = len(json.loads((out / "manifest.json").read_text())["files"])
    assert capsys.readouterr().out.strip() == f"OK: {listed} files verified, signed by key {fingerprint(signer)}"


def test_flipped_byte_in_a_snapshot_is_refused(run_copy, capsys):
    out, case, pub = run_copy
    snap = out / case["evidence"]["snapshot"]
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0x01
    snap.write_bytes(bytes(data))
    assert main(["verify", str(out), "--key", str(pub)]) == 1
    printed = capsys.readouterr().out
    assert f"FAIL: changed: {case['evidence']['snapshot']}" in printed and "OK" not in printed


def test_manifest_edited_to_match_a_tampered_picture_is_refused(run_copy, capsys):
    """The forger re-hashes everything: the edited snapshot's hash in cases.json and in the
    manifest. Hashes alone now agree; only the signature shows the manifest is not the signed one."""
    out, case, pub = run_copy
    rel = case["evidence"]["snapshot"]
    snap = out / rel
    data = bytearray(snap.read_bytes())
    data[-100] ^= 0xFF  # a "PS-edited" picture
    snap.write_bytes(bytes(data))
    cases = json.loads((out / "cases.json").read_text(encoding="utf-8"))
    cases[0]["sha256"]["snapshot"] = sha(snap)
    (out / "cases.json").write_text(json.dumps(cases, indent=2, ensure_ascii=False), encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] in (rel, "cases.json"):
            entry["sha256"], entry["size"] = sha(out / entry["path"]), (out / entry["path"]).stat().st_size
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    assert verify(out, strict=True) == []  # the hashes are consistent again
    report = verify_evidence(out, load_public_key(pub))
    assert report.signature.status == "invalid" and not report.ok
    assert main(["verify", str(out), "--key", str(pub)]) == 1
    assert "FAIL: signature: signature does not verify (manifest.json was changed after signing)" in capsys.readouterr().out


def test_swapped_manifest_from_another_run_is_refused(run_copy, tmp_path, signer, capsys):
    out, _, pub = run_copy
    other = tmp_path / "other"
    other.mkdir()
    (other / "cases.json").write_text("[]\n")
    write_manifest(other, source=pub, scene_path=pub, model_path=None, software_version="t")
    sign_manifest(other, signer)  # a genuine signature, same installation, other run

    # Only the manifest swapped in: it is not the one this signature covers.
    shutil.copy(other / "manifest.json", out / "manifest.json")
    assert main(["verify", str(out), "--key", str(pub)]) == 1
    assert "signature does not verify" in capsys.readouterr().out
    # Manifest and signature swapped in together: the signature holds, the files do not match it.
    shutil.copy(other / SIGNATURE, out / SIGNATURE)
    report = verify_evidence(out, load_public_key(pub))
    assert report.signature.ok and not report.ok
    assert main(["verify", str(out), "--key", str(pub)]) == 1
    assert "FAIL: changed: cases.json" in capsys.readouterr().out


def test_wrong_key_is_refused(signed_run, signer, tmp_path, capsys):
    out, _, _ = signed_run
    stranger = load_or_create_key(tmp_path / "stranger.pem")
    pub = write_pub(stranger, tmp_path / "stranger.pub.pem")
    assert main(["verify", str(out), "--key", str(pub)]) == 1
    printed = capsys.readouterr().out
    assert f"signed by key {fingerprint(signer)}, checked with key {fingerprint(stranger)}" in printed
    # The key copied into manifest.sig is never trusted: with no key at all, nothing is vouched for.
    report = verify_evidence(out, None)
    assert report.signature.status == "no-key" and not report.ok


def test_no_key_known_says_so(signed_run, tmp_path, monkeypatch, capsys):
    out, _, _ = signed_run
    monkeypatch.setenv("CIVICWATCH_SIGNING_KEY", str(tmp_path / "none-here.pem"))
    assert main(["verify", str(out)]) == 1
    assert "pass --key" in capsys.readouterr().out
    assert not (tmp_path / "none-here.pem").exists()  # verifying never creates a key
    assert main(["verify", str(out), "--key", str(tmp_path / "nope.pem")]) == 2


def test_local_installation_key_is_used_without_key_option(signed_run, signer, monkeypatch, capsys):
    out, _, _ = signed_run
    monkeypatch.setenv("CIVICWATCH_SIGNING_KEY", str(_key_file(signer, out.parent)))
    assert main(["verify", str(out)]) == 0
    assert fingerprint(signer) in capsys.readouterr().out


def _key_file(signer, folder):
    from cryptography.hazmat.primitives import serialization

    path = folder / "local-key.pem"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(signer.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return path


def test_unsigned_legacy_folder(run_copy, capsys):
    out, _, pub = run_copy
    (out / SIGNATURE).unlink()
    assert main(["verify", str(out), "--key", str(pub)]) == 1
    assert "FAIL: signature: no manifest.sig: the manifest is not signed" in capsys.readouterr().out
    assert main(["verify", str(out), "--key", str(pub), "--allow-unsigned"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("NOTE: unsigned") and "files verified, unsigned" in printed


def test_signature_is_never_overwritten(run_copy, signer, tmp_path):
    out, _, _ = run_copy
    before = sha(out / SIGNATURE)
    sign_manifest(out, signer)  # a repeated run: the same signer, the same manifest
    assert sha(out / SIGNATURE) == before
    with pytest.raises(EvidenceConflictError):
        sign_manifest(out, load_or_create_key(tmp_path / "other.pem"))
    assert sha(out / SIGNATURE) == before
    # the signature is not itself a listed file: re-writing the same manifest is still a no-op
    assert "manifest.sig" not in (out / "manifest.json").read_text()


def test_two_threads_creating_the_key_at_once_share_one(tmp_path, monkeypatch):
    """The service signs on a thread pool: two cases finishing first on a new installation create
    the key at the same moment. Both must sign with the one key that lands; the temporary file was
    named by the process id alone, so the second thread's exclusive create failed."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from detector import signing

    both_generated = threading.Barrier(2, timeout=10)
    generate = signing.Ed25519PrivateKey.generate

    def generate_together():
        made = generate()
        both_generated.wait()  # neither has written its temporary file yet
        return made

    monkeypatch.setattr(signing.Ed25519PrivateKey, "generate", staticmethod(generate_together))
    path = tmp_path / "installation" / "signing-key.pem"
    with ThreadPoolExecutor(2) as pool:
        keys = list(pool.map(lambda _: signing.load_or_create_key(path), range(2)))
    assert public_pem(keys[0]) == public_pem(keys[1]) == public_pem(load_public_key(path))
    assert sorted(p.name for p in path.parent.iterdir()) == ["signing-key.pem"]
