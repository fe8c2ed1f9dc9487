"""A run folder changed between the analysis and the ingest is refused (service.run_trust).

The job runner ingested whatever ``manifest.json`` said: a snapshot edited after the analysis,
its hash rewritten in the manifest (and in ``cases.json``) and the manifest signed again with some
other key, became a case the service vouched for. Now the run must match its hashes and carry a
signature by a key this installation has signed with; an unsigned run is refused from the real
pipeline (which always signs) and accepted with a warning on each case from an analysis that does
not sign (older pipelines)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from detector.signing import SIGNATURE, fingerprint, load_or_create_key, sign_manifest
from service import key_history
from service.models import Case
from service.run_trust import RunRefused, check_run, installation_keys
from service.web import i18n

from .conftest import upload_clip
from .helpers import SHORT_CLIP, wait_job
from .test_jobs import FakePipeline, start


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def doctor(run: Path) -> str:
    """Edit the first case's snapshot and rewrite every hash that names it, as a careful forger
    would: in ``cases.json`` and the case files (and the hashes of those, in turn), then every
    entry of ``manifest.json``. Returns the snapshot's path in the run."""
    cases = json.loads((run / "cases.json").read_text(encoding="utf-8"))
    cases = cases["cases"] if isinstance(cases, dict) else cases
    rel = cases[0]["evidence"]["snapshot"]
    files = [p for p in run.rglob("*") if p.is_file() and p.name not in ("manifest.json", SIGNATURE)]
    original = {p: _sha(p) for p in files}
    snap = run / rel
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snap.write_bytes(bytes(data))
    for _ in range(5):  # a case file names the snapshot's hash, cases.json the case file's
        for changed in [p for p in files if _sha(p) != original[p]]:
            for path in files:
                if path.suffix == ".json" and original[changed] in (text := path.read_text(encoding="utf-8")):
                    path.write_text(text.replace(original[changed], _sha(changed)), encoding="utf-8")
            original[changed] = _sha(changed)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        target = run / entry["path"]
        entry["sha256"], entry["size"] = _sha(target), target.stat().st_size
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return rel


@pytest.fixture
def run(evidence_template, tmp_path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(evidence_template, dest)
    return dest


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def keys_of(*keys: Ed25519PrivateKey) -> dict:
    return {fingerprint(k): k.public_key() for k in keys}


def test_a_signed_run_as_written_is_accepted(run, key):
    sign_manifest(run, key)
    assert check_run(run, keys_of(key), signs=True).signer == fingerprint(key)


def test_a_changed_file_with_its_hash_rewritten_fails_the_signature(run, key):
    sign_manifest(run, key)
    doctor(run)  # the old manifest.sig stays: it no longer verifies
    with pytest.raises(RunRefused) as refused:
        check_run(run, keys_of(key), signs=True)
    assert refused.value.code == "run_signature_invalid"


def test_a_run_signed_again_by_a_key_never_used_here_is_refused(run, key):
    doctor(run)
    sign_manifest(run, Ed25519PrivateKey.generate())
    with pytest.raises(RunRefused) as refused:
        check_run(run, keys_of(key), signs=True)
    assert refused.value.code == "run_signature_invalid" and "never signed with" in refused.value.detail


def test_a_changed_file_with_its_hash_left_is_refused(run, key):
    sign_manifest(run, key)
    cases = json.loads((run / "cases.json").read_text(encoding="utf-8"))
    cases = cases["cases"] if isinstance(cases, dict) else cases
    snap = run / cases[0]["evidence"]["snapshot"]
    snap.write_bytes(snap.read_bytes() + b"\0")
    with pytest.raises(RunRefused) as refused:
        check_run(run, keys_of(key), signs=True)
    assert refused.value.code == "run_hash_mismatch" and cases[0]["evidence"]["snapshot"] in refused.value.detail


def test_an_unsigned_run_is_refused_from_a_pipeline_that_signs_and_accepted_with_a_warning_otherwise(run, key):
    doctor(run)  # its hashes all agree: only the missing signature can tell
    with pytest.raises(RunRefused) as refused:
        check_run(run, keys_of(key), signs=True)
    assert refused.value.code == "run_unsigned"
    trust = check_run(run, keys_of(key), signs=False)
    assert trust.signer is None and "not signed" in trust.warning


def test_a_run_signed_before_the_key_was_replaced_is_accepted(run, tmp_path):
    """installation_keys: the current key file's and every key the service has noted."""
    from service.config import Settings

    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    old = load_or_create_key(settings.data_dir / "old-key.pem")
    key_history.remember(settings.data_dir, old)
    current = load_or_create_key(settings.signing_key_path)
    assert set(installation_keys(settings)) == {fingerprint(old), fingerprint(current)}
    sign_manifest(run, old)
    assert check_run(run, installation_keys(settings), signs=True).signer == fingerprint(old)


class SigningPipeline(FakePipeline):
    """The stand-in pipeline, signing its run with the installation key like the real one; then
    ``tamper`` (if set) changes the run before the service ingests it."""

    signs_runs = True

    def __init__(self, template, key_path: Path):
        super().__init__(template)
        self.key_path = key_path
        self.tamper = None

    def __call__(self, source, scene_path, out_dir, options, progress=None, should_cancel=None):
        result = super().__call__(source, scene_path, out_dir, options, progress, should_cancel)
        sign_manifest(out_dir, load_or_create_key(self.key_path))
        if self.tamper is not None:
            self.tamper(out_dir)
        return result


def _resign_elsewhere(out_dir: Path) -> None:
    doctor(out_dir)
    (out_dir / SIGNATURE).unlink()
    sign_manifest(out_dir, Ed25519PrivateKey.generate())


def clip_copy(footage_dir: Path, tmp_path: Path, n: int) -> Path:
    """The short clip with ``n`` bytes after its end: another upload (the service refuses a file twice)."""
    dest = tmp_path / f"clip-{n}.mp4"
    dest.write_bytes((footage_dir / SHORT_CLIP).read_bytes() + b"\0" * n)
    return dest


def test_the_job_of_a_doctored_run_fails_visibly_and_keeps_the_cases_before_it(
    settings, evidence_template, footage_dir, tmp_path
):
    fake = SigningPipeline(evidence_template, settings.signing_key_path)
    main, env = start(settings, fake)
    try:
        first = wait_job(env.operator, upload_clip(env.operator, footage_dir / SHORT_CLIP)["job_id"])
        assert (first["state"], first["cases_found"], first["warnings"] or []) == ("done", 2, [])
        with env.app.state.session_factory() as db:
            before = {c.id: dict(c.evidence_hashes) for c in db.scalars(select(Case))}
        assert len(before) == 2

        fake.tamper = _resign_elsewhere
        second = wait_job(env.operator, upload_clip(env.operator, clip_copy(footage_dir, tmp_path, 1))["job_id"])
        assert second["state"] == "failed" and second["cases_found"] in (0, None)
        error = second["error"]
        assert error.startswith("run_signature_invalid: ") and "never signed with" in error, error
        for lang in i18n.LANGUAGES:  # the jobs page says the code's sentence in its language
            assert "error.run_signature_invalid" in i18n.catalogue(lang)
        with env.app.state.session_factory() as db:
            after = {c.id: dict(c.evidence_hashes) for c in db.scalars(select(Case))}
        assert after == before  # nothing of the doctored run, nothing stored before lost
        for case_id in before:
            assert env.reviewer.get(f"/api/cases/{case_id}").status_code == 200

        # An analysis that does not sign (an older pipeline): accepted, and each case says so.
        fake.tamper = lambda out_dir: (out_dir / SIGNATURE).unlink()
        fake.signs_runs = False
        third = wait_job(env.operator, upload_clip(env.operator, clip_copy(footage_dir, tmp_path, 2))["job_id"])
        assert third["state"] == "done" and third["cases_found"] == 2
        assert [w["code"] for w in third["warnings"]] == ["unsigned_run"], third["warnings"]
        with env.app.state.session_factory() as db:
            new = sorted(c.id for c in db.scalars(select(Case).where(Case.job_id == third["id"])))
        assert len(new) == 2
        for case_id in new:
            history = env.reviewer.get(f"/api/cases/{case_id}").json()["history"]
            assert [h["action"] for h in history] == ["case.unsigned_run"], history
    finally:
        main.__exit__(None, None, None)
