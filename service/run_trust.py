"""Does an analysis run still say what the pipeline wrote? Checked before its cases are ingested.

The pipeline signs ``manifest.json`` with the installation's key (``detector.signing``) and the
manifest holds every file's hash. Between the analysis and the ingest the run folder sits on disk:
a snapshot edited there with its hash rewritten in the manifest, or a manifest signed again with
some other key, used to be ingested as if the pipeline had written it, and from then on the
service vouched for it (exports sign the hashes recorded at ingest). Now the run must:

- match its manifest (every listed file re-hashed, ``cases.json``'s own hashes cross-checked):
  else it is refused (``run_hash_mismatch``);
- carry a signature that verifies with a key this installation has signed with (the current one,
  or one of ``service.key_history``'s, for a run signed just before a key change): else it is
  refused (``run_signature_invalid``);
- be signed at all when the analysis function signs its runs (the real pipeline does: an unsigned
  run from it means the signature was removed): else it is refused (``run_unsigned``).

A run from an analysis function that does not sign (pipelines from before signing, a plug-in) is
accepted with a warning: its hashes are checked, and each of its cases gets a ``case.unsigned_run``
audit entry, so the case's history (and its export's ``history.json``) says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from detector.evidence.manifest import verify_report
from detector.signing import SigningKeyError, check_signature, fingerprint, load_public_key
from service import audit, key_history
from service.config import Settings
from service.ingest import IngestError
from service.models import Case, Job

log = logging.getLogger(__name__)


class RunRefused(IngestError):
    """The run is not ingested; ``code`` names why (a sentence in both catalogues: ``error.<code>``,
    which the jobs page shows for a job error that starts with the code)."""

    def __init__(self, detail: str, *, code: str) -> None:
        self.code, self.detail = code, detail
        # "code: details": the jobs page says the code's sentence in its language, the details after
        super().__init__(f"{code}: {detail}")


@dataclass(frozen=True)
class RunTrust:
    """What the check found of a run it accepted: who signed it, or the warning for an unsigned one."""

    signer: str | None
    warning: str | None = None


def installation_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Every key this installation has signed with, by fingerprint: the current key file's and the
    ones ``service.key_history`` noted (a run may be signed just before the key was replaced)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for doc in key_history.known(settings.data_dir):
        try:
            key = serialization.load_pem_public_key(str(doc["public_key_pem"]).encode("ascii"))
        except (ValueError, TypeError, UnicodeError):
            continue
        if isinstance(key, Ed25519PublicKey):
            keys[fingerprint(key)] = key
    path = settings.signing_key_path
    if path.exists():
        try:
            key = load_public_key(path)
            keys[fingerprint(key)] = key
        except SigningKeyError as err:  # the pipeline would have failed on it too
            log.warning("signing key unusable for checking runs: %s", err)
    return keys


def check_run(out_dir: Path, keys: dict[str, Ed25519PublicKey], *, signs: bool) -> RunTrust:
    """Hashes and signature of the run folder ``out_dir``; raises ``RunRefused`` when it fails.

    ``signs``: the analysis function that made the run signs its runs, so a missing signature is
    a refusal rather than an older run's warning."""
    out_dir = Path(out_dir)
    hashes = verify_report(out_dir)
    if hashes.manifest_error is not None or hashes.problems:
        shown = [hashes.manifest_error] if hashes.manifest_error else hashes.problems[:5]
        more = len(hashes.problems) - len(shown) if not hashes.manifest_error else 0
        raise RunRefused(code="run_hash_mismatch", detail="; ".join(shown) + (f"; and {more} more" if more > 0 else ""))
    claimed = check_signature(out_dir, None)
    if claimed.status == "unsigned":
        if signs:
            raise RunRefused(code="run_unsigned", detail=claimed.detail)
        return RunTrust(
            None,
            "the run's manifest is not signed (an analysis from before signing, or one that "
            "does not sign): its files match the manifest, but nothing shows who wrote it",
        )
    if claimed.status != "no-key":  # unreadable: no fingerprint to look a key up by
        raise RunRefused(code="run_signature_invalid", detail=claimed.detail)
    key = keys.get(str(claimed.signer))
    if key is None:
        raise RunRefused(
            code="run_signature_invalid",
            detail=f"signed by key {claimed.signer}, which this installation "
            f"has never signed with (known: {', '.join(sorted(keys)) or 'none'})",
        )
    checked = check_signature(out_dir, key)
    if not checked.ok:
        raise RunRefused(code="run_signature_invalid", detail=checked.detail)
    return RunTrust(claimed.signer)


def note_unsigned(db: Session, trust: RunTrust | None, job: Job, cases: list[Case], run_rel: str) -> None:
    """Record an accepted unsigned run on each of its cases (audit, in the ingest's transaction)
    and on the job's warnings (``service.job_report``: code ``unsigned_run``)."""
    if trust is None or trust.warning is None:
        return
    for case in cases:
        audit.record(
            db, None, "system", "case.unsigned_run", "case", case.id, job_id=job.id, run=run_rel, warning=trust.warning
        )
    if trust.warning not in (job.warnings or []):  # once, for a split job's every segment too
        job.warnings = [*(job.warnings or []), trust.warning]
