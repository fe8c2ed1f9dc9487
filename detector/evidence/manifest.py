"""The manifest: SHA-256 of every file an analysis wrote, and of what it was made from.

Anyone holding the output folder can re-check it later (``civicwatch verify DIR``): a changed byte
or a missing file is named. The manifest also pins the inputs (source video, scene file, model) by
hash, so a case can be traced to exactly the footage and configuration that produced it, and keeps
the source's own metadata (``detector.media.metadata``: creation time, location, device). Its
``created_utc`` is when the analysis ran, which is all the analysis machine's clock may say; event
times come from the video and the scene, never from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from detector.evidence.originals import verify_originals
from detector.evidence.writer import CASES_INDEX, EvidenceConflictError
from detector.hashing import sha256_file
from detector.media.metadata import read_metadata
from detector.signing import SIGNATURE

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def _input(path: Path | None) -> dict | None:
    if path is None:
        return None
    path = Path(path)
    return {"name": path.name, "sha256": sha256_file(path), "size": path.stat().st_size}


def _listed_files(out_dir: Path) -> list[Path]:
    """Regular files under ``out_dir`` but the manifest and its signature, ordered by their
    relative POSIX path."""
    found = [
        p for p in out_dir.rglob("*")
        if p.is_file() and not p.is_symlink() and p.relative_to(out_dir).as_posix() not in (MANIFEST, SIGNATURE)
    ]
    return sorted(found, key=lambda p: p.relative_to(out_dir).as_posix())


def write_manifest(
    out_dir: Path,
    *,
    source: Path,
    scene_path: Path,
    model_path: Path | None,
    software_version: str,
    extra: dict | None = None,
) -> Path:
    """Hash everything under ``out_dir`` (except the manifest) and the inputs; write manifest.json.

    An existing manifest is never rewritten: if it already lists exactly these files and inputs
    (a repeated run), it is kept; otherwise ``EvidenceConflictError``.
    """
    out_dir = Path(out_dir)
    files = [
        {"path": p.relative_to(out_dir).as_posix(), "sha256": sha256_file(p), "size": p.stat().st_size}
        for p in _listed_files(out_dir)
    ]
    inputs = {"source": _input(source), "scene": _input(scene_path), "model": _input(model_path)}
    if inputs["source"] is not None:
        # What the file says of itself (creation time, GPS location, device), signed with the rest:
        # evidence of where the footage was taken, which nothing published carries.
        inputs["source"]["metadata"] = read_metadata(source).as_record()
    target = out_dir / MANIFEST
    if target.exists():
        try:
            old = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if isinstance(old, dict) and old.get("files") == files and old.get("inputs") == inputs:
            return target
        raise EvidenceConflictError(f"{target} already exists and differs; evidence is never overwritten")
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "software_version": software_version,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hash": "sha256",
        "inputs": inputs,
        "files": files,
        "extra": extra or {},
    }
    with open(target, "x", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return target


@dataclass
class VerifyResult:
    manifest_error: str | None = None  # set when there is no readable manifest
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)
    # With a source: clips proven to hold its packets, and clips that were transcoded from it.
    originals_copied: int = 0
    originals_transcoded: int = 0
    # Files present that the manifest does not list (problems only with ``strict``): without
    # ``strict`` they are still named, so an "OK" is not read as vouching for them.
    unlisted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.manifest_error is None and not self.problems


def _safe_relative(rel: object) -> bool:
    if not isinstance(rel, str) or not rel:
        return False
    p = PurePosixPath(rel)
    return not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def verify_report(out_dir: Path, *, source: Path | None = None, strict: bool = False) -> VerifyResult:
    """Re-hash every file the manifest lists; with ``source``, check the source video too.

    ``strict`` also reports files present but not in the manifest (e.g. a later redacted copy
    someone put there). Hashes recorded per case in ``cases.json`` are cross-checked as well, so a
    manifest regenerated after tampering still does not hide a changed clip.
    """
    out_dir = Path(out_dir)
    result = VerifyResult()
    target = out_dir / MANIFEST
    try:
        manifest = json.loads(target.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
        entries = manifest.get("files")
        if not isinstance(entries, list):
            raise ValueError("no list of files" if entries is None else "'files' is not a list")
    except FileNotFoundError:
        result.manifest_error = f"missing: {MANIFEST}"
        return result
    except (OSError, ValueError, KeyError, TypeError) as err:
        result.manifest_error = f"unreadable: {MANIFEST} ({err})"
        return result

    hashes: dict[str, str] = {}
    for entry in entries:
        rel = entry.get("path") if isinstance(entry, dict) else None
        if not _safe_relative(rel):
            result.problems.append(f"invalid entry: {rel!r}")
            continue
        path = out_dir / rel
        if not path.is_file():
            result.problems.append(f"missing: {rel}")
            continue
        result.files_checked += 1
        digest = hashes[rel] = sha256_file(path)
        if digest != entry.get("sha256") or path.stat().st_size != entry.get("size"):
            result.problems.append(f"changed: {rel}")

    listed = {e.get("path") for e in entries if isinstance(e, dict)}
    result.unlisted = [rel for rel in (p.relative_to(out_dir).as_posix() for p in _listed_files(out_dir))
                       if rel not in listed]
    if strict:
        result.problems.extend(f"unlisted: {rel}" for rel in result.unlisted)

    if source is not None:
        inputs = manifest.get("inputs")
        want = inputs.get("source") if isinstance(inputs, dict) else None
        want = want if isinstance(want, dict) else {}
        if sha256_file(Path(source)) != want.get("sha256"):
            result.problems.append(f"source differs: {Path(source).name}")
        # Stream-copied clips: their packets must be that range of the source, NAL unit for NAL unit.
        originals = verify_originals(out_dir, Path(source))
        result.originals_copied, result.originals_transcoded = originals.copied, originals.transcoded
        result.problems.extend(originals.problems)

    flagged = {p.split(": ", 1)[1] for p in result.problems if p.startswith(("changed: ", "missing: "))}
    result.problems.extend(_check_case_hashes(out_dir, hashes, flagged))
    return result


def _check_case_hashes(out_dir: Path, hashes: dict[str, str], flagged: set[str]) -> list[str]:
    index = out_dir / CASES_INDEX
    if not index.is_file():
        return []
    try:
        cases = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # a changed cases.json is already reported against the manifest
    problems = []
    for case in cases if isinstance(cases, list) else []:
        evidence = case.get("evidence") or {} if isinstance(case, dict) else {}
        recorded = case.get("sha256") or {} if isinstance(case, dict) else {}
        for kind, rel in evidence.items():
            if kind not in recorded or rel in flagged or not _safe_relative(rel) or not (out_dir / rel).is_file():
                continue
            digest = hashes.get(rel) or sha256_file(out_dir / rel)
            if digest != recorded[kind]:
                problems.append(f"changed since written: {rel} (hash recorded in {CASES_INDEX} differs)")
    return problems


def verify(out_dir: Path, *, source: Path | None = None, strict: bool = False) -> list[str]:
    """Problems found, one line each (``changed: ...``, ``missing: ...``); empty when intact."""
    result = verify_report(out_dir, source=source, strict=strict)
    return ([result.manifest_error] if result.manifest_error else []) + result.problems
