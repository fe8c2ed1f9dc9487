"""The installation's signing key: private on disk, public at /api/signing-key; a case export zip
verifies offline with that key and is refused after a byte inside it changes."""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import zipfile

import pytest

from civicwatch.cli import main
from detector.evidence.verification import verify_evidence
from detector.signing import fingerprint, load_or_create_key, load_public_key, public_pem
from service.config import Settings


def _export(env, cases, folder):
    """An export of both cases (one approved, so published media is in it) and the public key as
    anyone would fetch it, without logging in."""
    a, b = cases
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    r = env.reviewer.post("/api/cases/export", json={"ids": [a, b]})
    assert r.status_code == 200, r.text
    zip_path = folder / "export.zip"
    zip_path.write_bytes(r.content)
    key = env.anon.get("/api/signing-key")
    assert key.status_code == 200 and key.text.startswith("-----BEGIN PUBLIC KEY-----")
    pub = folder / "civicwatch-signing-key.pub.pem"
    pub.write_text(key.text, encoding="ascii")
    return zip_path, pub, cases


@pytest.fixture
def exported_here(env, cases, fast_redaction, tmp_path):
    """``_export`` from this test's own service, for a test that goes on using that service."""
    return _export(env, cases, tmp_path)


@pytest.fixture(scope="module")
def _exports_made(tmp_path_factory) -> dict:
    """The export made for each database backend in this module: the tests below only check (and
    tamper with copies of) the zip offline, so one real export per backend serves them all; making
    it again for each (a service, two cases, an approval, the export) was most of their time."""
    return {"folder": tmp_path_factory.mktemp("exports")}


@pytest.fixture
def exported(_exports_made, db_backend, request, tmp_path):
    """The backend's export (made by the first test that asks), copied into this test's folder:
    each test may change its zip in place."""
    if db_backend not in _exports_made:
        folder = _exports_made["folder"] / db_backend
        folder.mkdir()
        request.getfixturevalue("fast_redaction")
        made = _export(request.getfixturevalue("env"), request.getfixturevalue("cases"), folder)
        _exports_made[db_backend] = made
    zip_src, pub_src, cases = _exports_made[db_backend]
    zip_path, pub = tmp_path / zip_src.name, tmp_path / pub_src.name
    shutil.copyfile(zip_src, zip_path)
    shutil.copyfile(pub_src, pub)
    return zip_path, pub, cases


def rebuild(src, dest, change):
    """A copy of the zip with ``change(name, data) -> data`` applied to every member (valid CRCs)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))
    return dest


def test_key_location(monkeypatch, tmp_path):
    monkeypatch.delenv("CIVICWATCH_SIGNING_KEY", raising=False)
    assert Settings(data_dir=tmp_path).signing_key_path == tmp_path / "signing-key.pem"
    monkeypatch.setenv("CIVICWATCH_SIGNING_KEY", str(tmp_path / "k.pem"))  # the CLI's variable, same meaning
    assert Settings(data_dir=tmp_path / "var").signing_key_path == tmp_path / "k.pem"


def test_key_is_private_on_disk_and_published(env):
    path = env.settings.signing_key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_or_create_key(path)
    r = env.anon.get("/api/signing-key")
    assert r.status_code == 200 and r.text == public_pem(key)
    assert r.headers["x-key-fingerprint"] == fingerprint(key)
    info = env.anon.get("/api/signing-key", params={"format": "json"}).json()
    assert info.pop("first_used_utc")  # when the service first signed with it
    assert info == {"algorithm": "ed25519", "fingerprint": fingerprint(key), "public_key_pem": public_pem(key),
                    "previous": []}
    assert "PRIVATE" not in r.text


def test_export_zip_verifies_offline_with_the_published_key(exported, capsys):
    zip_path, pub, (a, b) = exported
    names = zipfile.ZipFile(zip_path).namelist()
    assert names[-2:] == ["manifest.json", "manifest.sig"]
    listed = json.loads(zipfile.ZipFile(zip_path).read("manifest.json"))
    assert listed["kind"] == "case-export" and {f["path"] for f in listed["files"]} == set(names[:-2])
    assert f"{a}/snapshot.jpg" in names and f"{a}/published/published.mp4" in names
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: {len(names) - 2} files verified, signed by key {fingerprint(load_public_key(pub))}")


def test_flipped_byte_inside_the_zip_is_refused(exported, capsys):
    zip_path, pub, (a, _) = exported
    data = bytearray(zip_path.read_bytes())
    snapshot = zipfile.ZipFile(zip_path).read(f"{a}/snapshot.jpg")
    at = data.find(snapshot)  # stored, not compressed: the picture's bytes lie in the zip as they are
    assert at > 0
    data[at + len(snapshot) // 2] ^= 0x01
    zip_path.write_bytes(bytes(data))
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 1
    out = capsys.readouterr().out
    assert f"{a}/snapshot.jpg" in out and "OK" not in out


def test_edited_picture_repacked_and_resigned_manifest_are_refused(exported, tmp_path, capsys):
    zip_path, pub, (a, _) = exported
    target = f"{a}/snapshot.jpg"

    def edit(name, data):
        return data[:-200] + bytes(b ^ 0x55 for b in data[-200:]) if name == target else data

    repacked = rebuild(zip_path, tmp_path / "repacked.zip", edit)  # CRCs fine, content edited
    assert main(["verify", str(repacked), "--key", str(pub)]) == 1
    assert f"FAIL: changed: {target}" in capsys.readouterr().out

    edited = zipfile.ZipFile(repacked).read(target)

    def forge(name, data):
        data = edit(name, data)
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        for entry in manifest["files"]:
            if entry["path"] == target:
                entry["sha256"], entry["size"] = hashlib.sha256(edited).hexdigest(), len(edited)
        return json.dumps(manifest, indent=2).encode()

    forged = rebuild(zip_path, tmp_path / "forged.zip", forge)
    report = verify_evidence(forged, load_public_key(pub))
    assert report.hashes.problems == [] and report.signature.status == "invalid"
    assert main(["verify", str(forged), "--key", str(pub)]) == 1
    assert "signature does not verify" in capsys.readouterr().out


def test_other_key_or_extra_file_refused(exported, tmp_path, capsys):
    zip_path, _, _ = exported
    other = tmp_path / "other.pub.pem"
    other.write_text(public_pem(load_or_create_key(tmp_path / "other.pem")), encoding="ascii")
    assert main(["verify", str(zip_path), "--key", str(other)]) == 1
    assert "signed by key" in capsys.readouterr().out
    _, pub, _ = exported
    with zipfile.ZipFile(zip_path, "a") as zf:
        zf.writestr("note.txt", "added after export")
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 1
    assert "FAIL: unlisted: note.txt" in capsys.readouterr().out


def test_evidence_edited_on_the_server_is_not_vouched_for(env, cases, tmp_path, capsys):
    """The zip vouches for the hashes recorded at ingest, so a picture edited on disk afterwards
    is exported as it is and the export then fails verification."""
    a, _ = cases
    r = env.reviewer.get(f"/api/cases/{a}/evidence/snapshot")
    assert r.status_code == 200
    snap = next(p for p in (env.data_dir / "jobs").rglob("snapshot.jpg") if p.read_bytes() == r.content)
    data = bytearray(snap.read_bytes())
    data[-50] ^= 0xFF
    snap.write_bytes(bytes(data))
    zip_path = tmp_path / "export.zip"
    zip_path.write_bytes(env.reviewer.post("/api/cases/export", json={"ids": [a]}).content)
    pub = tmp_path / "pub.pem"
    pub.write_text(env.anon.get("/api/signing-key").text, encoding="ascii")
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 1
    assert f"FAIL: changed: {a}/snapshot.jpg" in capsys.readouterr().out


def test_a_name_given_twice_in_the_zip_is_refused(exported, tmp_path, capsys):
    """A zip can hold two members of one name. Unpacking kept the last, so a doctored snapshot
    placed before the genuine one verified (exit 0) while a viewer that shows the first entry
    showed the doctored picture: one zip, two contents, and the check vouched for it."""
    zip_path, pub, (a, _) = exported
    target = f"{a}/snapshot.jpg"
    doubled = tmp_path / "doubled.zip"
    with zipfile.ZipFile(zip_path) as zin, zipfile.ZipFile(doubled, "w") as zout:
        zout.writestr(target, b"\xff\xd8 a doctored picture")
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
    assert main(["verify", str(doubled), "--key", str(pub)]) == 1
    assert f"FAIL: duplicate name in zip: {target}" in capsys.readouterr().out


def test_a_zip_that_would_fill_the_disk_is_not_unpacked(exported, monkeypatch, capsys):
    """The check unpacks a zip to a temporary folder, often on the review server's own disk. A zip
    bomb (megabytes of zeros, or members sharing their compressed bytes) unpacked until that disk
    was full: uploads and decisions then answered 507. The members' declared sizes are summed
    first, and a zip that would not fit, with room to spare, is refused with nothing written.
    The disk here reports just too little room for this real export."""
    import shutil

    from detector.evidence import verification

    zip_path, pub, _ = exported
    need = sum(i.file_size for i in zipfile.ZipFile(zip_path).infolist())
    real = shutil.disk_usage
    asked = []

    def nearly_full(path):
        asked.append(path)
        return real(path)._replace(free=need + verification.UNPACK_RESERVE_BYTES - 1)

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 2  # could not be checked, as an unreadable zip
    err = capsys.readouterr().err
    assert "zip not unpacked" in err and f"would take {need} bytes" in err, err
    assert asked  # the room was checked where the zip is unpacked


def test_the_export_carries_the_cases_review_history(env, cases, fast_redaction, tmp_path, capsys):
    """A case rejected, reopened by another reviewer and then approved was exported with only its
    last state (``record.json``: approved by whom, when): the rejection, the reopening and their
    reasons were not in the zip a court is handed. Each case now carries ``history.json``, its audit
    entries oldest first, covered by the signed manifest like every other member."""
    a, b = cases
    assert env.reviewer.post("/api/cases/export", json={"ids": [b, a]}).status_code == 200  # an earlier export, with b
    assert env.reviewer.post(f"/api/cases/{a}/reject", json={"reason": "plate unreadable"}).status_code == 200
    assert env.admin.post(f"/api/cases/{a}/reopen", json={"reason": "sheet shows it"}).status_code == 200
    assert env.reviewer.post(f"/api/cases/{a}/approve").status_code == 200
    zip_path = tmp_path / "export.zip"
    zip_path.write_bytes(env.reviewer.post("/api/cases/export", json={"ids": [a]}).content)
    with zipfile.ZipFile(zip_path) as zf:
        history = json.loads(zf.read(f"{a}/history.json"))
        listed = {f["path"] for f in json.loads(zf.read("manifest.json"))["files"]}
    decisions = [(e["action"], e["actor"], e["details"].get("reason")) for e in history["entries"]
                 if e["action"] in ("case.reject", "case.reopen", "case.approve")]
    assert decisions == [("case.reject", "rita", "plate unreadable"), ("case.reopen", "admin", "sheet shows it"),
                         ("case.approve", "rita", None)], decisions
    assert all(e["at"] for e in history["entries"]) and "after the analysis" in history["note"]
    exports = [e["details"]["ids"] for e in history["entries"] if e["action"] == "case.export"]
    assert exports == [[b, a], [a]], exports  # every export of the case, those with other cases too
    assert f"{a}/history.json" in listed
    pub = tmp_path / "pub.pem"
    pub.write_text(env.anon.get("/api/signing-key").text, encoding="ascii")
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 0, capsys.readouterr().out


def test_every_case_of_a_big_export_has_the_export_in_its_history(env, cases, tmp_path):
    """The export's audit entry named its cases in one comma-joined object id cut at the column's
    160 characters: in an export of many cases, the later cases' history.json lacked the export,
    and the last id, cut part-way, could name another case. Each case of the export now finds the
    entry, which lists the whole export."""
    from service.models import Case

    a, b = cases
    with env.app.state.session_factory() as db:
        row = db.get(Case, b)
        clones = [f"{b}-copy-{i:02d}" for i in range(12)]
        for cid in clones:
            copy = {c.key: getattr(row, c.key) for c in Case.__table__.columns if c.key not in ("id", "dedup_key")}
            db.add(Case(id=cid, **copy))
        db.commit()
    ids = [a, b, *clones]
    assert len(",".join(ids)) > 160
    r = env.reviewer.post("/api/cases/export", json={"ids": ids})
    assert r.status_code == 200, r.text
    zip_path = tmp_path / "export.zip"
    zip_path.write_bytes(r.content)
    with zipfile.ZipFile(zip_path) as zf:
        for cid in ids:
            history = json.loads(zf.read(f"{cid}/history.json"))
            exports = [e["details"]["ids"] for e in history["entries"] if e["action"] == "case.export"]
            assert exports == [ids], (cid, exports)
    found = env.admin.get("/api/audit", params={"action": "case.export", "case": clones[-1]}).json()["items"]
    assert [e["details"]["ids"] for e in found] == [ids]
    assert all(len(e["object_id"]) <= 160 for e in found)


def test_exports_signed_before_a_key_change_still_verify_with_the_published_old_key(exported_here, env, tmp_path,
                                                                                    capsys):
    """The administrator replaces the signing key (a suspected leak) and restarts. The service
    then published only the new key: a zip exported the day before failed ``civicwatch verify``
    against anything the service offered ("signed by key A, checked with key B"), and the old
    public key was gone with the old key file. Every key the service has signed with is now
    published, each by the fingerprint that ``verify`` names."""
    from fastapi.testclient import TestClient

    from service.main import create_app

    zip_path, old_pub, _ = exported_here
    old = fingerprint(load_public_key(old_pub))
    env.settings.signing_key_path.rename(tmp_path / "retired-key.pem")
    new = fingerprint(load_or_create_key(env.settings.signing_key_path))
    with TestClient(create_app(env.settings)) as restarted:
        current = restarted.get("/api/signing-key", params={"format": "json"}).json()
        assert current["fingerprint"] == new and [k["fingerprint"] for k in current["previous"]] == [old]
        assert current["previous"][0]["public_key_pem"] == old_pub.read_text(encoding="ascii")
        new_pub = tmp_path / "new.pub.pem"
        new_pub.write_text(restarted.get("/api/signing-key").text, encoding="ascii")
        assert main(["verify", str(zip_path), "--key", str(new_pub)]) == 1
        out = capsys.readouterr().out
        assert f"signed by key {old}, checked with key {new}" in out
        assert f"/api/signing-key?fingerprint={old}" in out  # where to get the key that signed it
        by_fp = restarted.get("/api/signing-key", params={"fingerprint": old})
        assert by_fp.status_code == 200 and by_fp.headers["x-key-fingerprint"] == old
        fetched = tmp_path / "old.pub.pem"
        fetched.write_text(by_fp.text, encoding="ascii")
        assert main(["verify", str(zip_path), "--key", str(fetched)]) == 0, capsys.readouterr().out
        unknown = restarted.get("/api/signing-key", params={"fingerprint": "0" * 16})
        assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_signing_key"


def test_a_file_put_in_the_case_folder_after_ingest_is_not_signed_into_the_export(env, cases, tmp_path, capsys):
    """The export signed a fresh hash of any file in the case folder that nothing recorded at
    ingest vouched for: a picture dropped beside the evidence on the server afterwards went out in
    the zip, and ``civicwatch verify`` passed it as the installation's evidence. Such a file is now
    left out and named in the case's manifest.json (``not_exported``)."""
    a, _ = cases
    r = env.reviewer.get(f"/api/cases/{a}/evidence/snapshot")
    snap = next(p for p in (env.data_dir / "jobs").rglob("snapshot.jpg") if p.read_bytes() == r.content)
    (snap.parent / "snapshot_clearer.jpg").write_bytes(r.content[:-10] + b"\x00" * 10)
    zip_path = tmp_path / "export.zip"
    zip_path.write_bytes(env.reviewer.post("/api/cases/export", json={"ids": [a]}).content)
    with zipfile.ZipFile(zip_path) as zf:
        assert f"{a}/snapshot_clearer.jpg" not in zf.namelist() and f"{a}/snapshot.jpg" in zf.namelist()
        skipped = json.loads(zf.read(f"{a}/manifest.json"))["not_exported"]
    assert [s["run_path"].rsplit("/", 1)[1] for s in skipped] == ["snapshot_clearer.jpg"]
    pub = tmp_path / "pub.pem"
    pub.write_text(env.anon.get("/api/signing-key").text, encoding="ascii")
    assert main(["verify", str(zip_path), "--key", str(pub)]) == 0, capsys.readouterr().out
