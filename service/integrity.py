"""Re-hash a case's evidence and compare with its manifest before anyone relies on it.

Two references are checked: the run's manifest.json on disk and the copy of its hashes taken
into the database at ingest. Editing a clip and the manifest together still shows up as a
difference from the database copy. Evidence made after the analysis (the annotated clip, rendered
on demand) cannot be in the run's manifest; the database copy, taken when it was made, vouches
for it alone.

Files are read through the evidence store (``service.blobstore``): ``where`` is the store, or a
data folder path meaning the local store there (what callers passed before stores existed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from service.annotation import on_demand_paths
from detector.hashing import sha256_file
from service.blobstore import BadKey, BlobStore, LocalStore, as_store, join, read_bytes, sha256
from service.hash_cache import cached_blob_sha256
from service.ingest import manifest_files
from service.models import Case


# What can be wrong with an evidence file, as the English sentence the API has always given after
# "<file>: ". Pages translate the code (``integrity.<code>`` in the catalogues) and show the file.
PROBLEM_CODES = {
    "missing or unreadable": "manifest_unreadable",
    "file missing": "file_missing",
    "not listed in manifest.json": "not_in_manifest",
    "SHA-256 differs from manifest.json": "differs_from_manifest",
    "no hash recorded at ingest": "no_ingest_hash",
    "SHA-256 differs from the hash recorded at ingest": "differs_from_ingest",
    "SHA-256 differs from the hash recorded at approval": "differs_from_approval",
}


def problem_item(problem: str) -> dict[str, str]:
    """``{"file", "code", "text"}`` for one problem sentence; an unknown kind has code ``other``."""
    path, sep, what = problem.partition(": ")
    code = PROBLEM_CODES.get(what) if sep else None
    if code is None:
        return {"file": "", "code": "no_published_media" if problem == "no published media" else "other", "text": problem}
    return {"file": path, "code": code, "text": problem}


@dataclass
class IntegrityReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    def as_dict(self) -> dict:
        # ``problems``: English sentences (API clients read them); ``items``: the same with a code
        # each, so that pages can say them in their language.
        return {"ok": self.ok, "problems": self.problems, "items": [problem_item(p) for p in self.problems],
                "checked": self.checked}


def check_case(case: Case, where: BlobStore | Path, chunk_size: int = 1024 * 1024, *,
               cached: bool = False) -> IntegrityReport:
    """Every evidence file of the case against the run's manifest and the hash taken at ingest.

    ``cached`` reuses a digest while the file's size, mtime and inode (an object's ETag and
    Last-Modified) are unchanged (``service.hash_cache``): for showing the status on every case
    view. Decisions (approve, publish) pass ``cached=False`` and read every byte again.
    """
    store = as_store(where)
    problems: list[str] = []
    try:
        raw = read_bytes(store, join(case.out_dir, "manifest.json"))
        manifest = manifest_files(json.loads(raw.decode("utf-8"))) if raw is not None else None
    except (OSError, ValueError, BadKey):
        manifest = None
    if manifest is None:
        problems.append("manifest.json: missing or unreadable")
    checked = 0
    made_later = on_demand_paths(case)
    for relpath, stored in sorted(case.evidence_hashes.items()):
        actual = _digest(store, case.out_dir, relpath, chunk_size, cached)
        if actual is None:
            problems.append(f"{relpath}: file missing")
            continue
        checked += 1
        if manifest is not None:
            entry = manifest.get(relpath)
            expected = entry.get("sha256") if isinstance(entry, dict) else entry
            if not expected and relpath not in made_later:
                problems.append(f"{relpath}: not listed in manifest.json")
            elif expected and expected != actual:
                problems.append(f"{relpath}: SHA-256 differs from manifest.json")
        if not stored:
            problems.append(f"{relpath}: no hash recorded at ingest")
        elif stored != actual:
            problems.append(f"{relpath}: SHA-256 differs from the hash recorded at ingest")
    return IntegrityReport(not problems, problems, checked)


def _digest(store: BlobStore, folder: str, name: str, chunk_size: int, cached: bool = False) -> str | None:
    try:
        key = join(folder, name)
    except BadKey:
        return None
    if cached:
        return cached_blob_sha256(store, key, chunk_size)
    if isinstance(store, LocalStore):  # a regular, unlinked file in the data folder, read whole
        return sha256_file(store.path(key), chunk_size) if store.info(key) is not None else None
    return sha256(store, key, chunk_size)


def check_published(case: Case, where: BlobStore | Path, chunk_size: int = 1024 * 1024) -> IntegrityReport:
    if not case.published_dir or not case.published_hashes:
        return IntegrityReport(False, ["no published media"])
    store = as_store(where)
    problems = []
    for name, stored in sorted(case.published_hashes.items()):
        actual = _digest(store, case.published_dir, name, chunk_size)
        if actual is None:
            problems.append(f"published/{name}: file missing")
        elif actual != stored:
            problems.append(f"published/{name}: SHA-256 differs from the hash recorded at approval")
    return IntegrityReport(not problems, problems, len(case.published_hashes))
