"""Re-hash a case's evidence and compare with its manifest before anyone relies on it.

Two references are checked: the run's manifest.json on disk and the copy of its hashes taken
into the database at ingest. Editing a clip and the manifest together still shows up as a
difference from the database copy. Evidence made after the analysis (the annotated clip, rendered
on demand) cannot be in the run's manifest; the database copy, taken when it was made, vouches
for it alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from service.annotation import on_demand_paths
from service.ingest import manifest_files
from service.models import Case
from detector.hashing import sha256_file
from service.hash_cache import cached_sha256


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


def check_case(case: Case, data_dir: Path, chunk_size: int = 1024 * 1024, *, cached: bool = False) -> IntegrityReport:
    """Every evidence file of the case against the run's manifest and the hash taken at ingest.

    ``cached`` reuses a digest while the file's size, mtime and inode are unchanged
    (``service.hash_cache``): for showing the status on every case view. Decisions (approve,
    publish) pass ``cached=False`` and read every byte again.
    """
    run_dir = data_dir / case.out_dir
    problems: list[str] = []
    try:
        manifest = manifest_files(json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        manifest = None
        problems.append("manifest.json: missing or unreadable")
    checked = 0
    made_later = on_demand_paths(case)
    for relpath, stored in sorted(case.evidence_hashes.items()):
        path = run_dir / relpath
        if not path.is_file():
            problems.append(f"{relpath}: file missing")
            continue
        actual = (cached_sha256(path, chunk_size) if cached else None) or sha256_file(path, chunk_size)
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


def check_published(case: Case, data_dir: Path, chunk_size: int = 1024 * 1024) -> IntegrityReport:
    if not case.published_dir or not case.published_hashes:
        return IntegrityReport(False, ["no published media"])
    problems = []
    for name, stored in sorted(case.published_hashes.items()):
        path = data_dir / case.published_dir / name
        if not path.is_file():
            problems.append(f"published/{name}: file missing")
        elif sha256_file(path, chunk_size) != stored:
            problems.append(f"published/{name}: SHA-256 differs from the hash recorded at approval")
    return IntegrityReport(not problems, problems, len(case.published_hashes))
