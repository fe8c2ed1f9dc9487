"""The annotated clip of a case, rendered when someone needs it and recorded like other evidence.

The analysis no longer burns the overlay into a second video: the review page draws it over the
original clip from the case's ``tracks.json``. A burnt-in ``annotated.mp4`` is still wanted for a
reviewer who asks for one and for an export; it is made here by the detector's own renderer
(the service keeps no video code), from the case's clip and track file, once per case.

What vouches for the rendered file: the run's manifest cannot list it (it was written after the
analysis), so its SHA-256 goes into the case row's ``evidence_hashes`` when it is made, and the
inputs it is drawn from are checked against their recorded hashes first, so a tampered clip is
never laundered into a freshly hashed annotated copy.

With a bucket as the evidence store (``service.blobstore``) the clip and track file (and an
annotated clip made earlier) are downloaded into a temporary run folder, drawn there exactly as
in the data folder, and a new annotated clip is uploaded beside the clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from detector.hashing import sha256_file
from service.blobstore import evidence_store, join
from service.config import Settings
from service.models import Case

ANNOTATED_KIND = "annotated"
ANNOTATED_FILE = "annotated.mp4"  # the name detector.evidence.render writes
# Evidence made after the analysis: recorded in the database, never in the run's manifest.
ON_DEMAND_KINDS: tuple[str, ...] = (ANNOTATED_KIND,)
SOURCE_KINDS: tuple[str, ...] = ("clip", "tracks")


class AnnotationError(Exception):
    """The annotated clip cannot be had for this case; ``code`` says why, for API clients."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AnnotatedClip:
    relpath: str  # relative to the run folder, as in ``Case.evidence``
    sha256: str
    frames: int  # frames rendered by this call (0 when the file was already there)
    rendered: bool  # True when this call wrote the file
    recorded: bool  # True when this call added it to the case row
    sources: dict[str, str]  # kind -> SHA-256 of the inputs it was drawn from (empty for old cases)


def on_demand_paths(case: Case) -> set[str]:
    """Run-relative paths of the case's evidence that was made after the analysis.

    Only cases with a track file render on demand; an older case's annotated clip was written by
    the analysis and its manifest must still list it.
    """
    if not can_render(case):
        return set()
    return {str(case.evidence[k]) for k in ON_DEMAND_KINDS if case.evidence.get(k)}


def can_render(case: Case) -> bool:
    """True when the case carries what drawing needs (cases analysed before track files had none)."""
    return all(case.evidence.get(k) for k in SOURCE_KINDS)


def _annotated_relpath(case: Case) -> str:
    if case.evidence.get(ANNOTATED_KIND):
        return str(case.evidence[ANNOTATED_KIND])
    return str(PurePosixPath(str(case.evidence["clip"])).parent / ANNOTATED_FILE)


def _checked_sources(case: Case, run_dir: Path, chunk_size: int) -> dict[str, str]:
    """SHA-256 of the clip and track file, refused when either differs from the recorded hash."""
    hashes: dict[str, str] = {}
    for kind in SOURCE_KINDS:
        rel = str(case.evidence[kind])
        path = run_dir / rel
        if not path.is_file():
            raise AnnotationError(f"{rel}: file missing; the annotated clip cannot be drawn", "integrity_failed")
        actual = sha256_file(path, chunk_size)
        if case.evidence_hashes.get(rel) != actual:
            raise AnnotationError(f"{rel}: SHA-256 differs from the hash recorded at ingest; the annotated clip "
                                  "is not drawn from changed evidence", "integrity_failed")
        hashes[kind] = actual
    return hashes


def ensure_annotated(case: Case, settings: Settings) -> AnnotatedClip:
    """Render ``annotated.mp4`` for ``case`` if it is not there yet and record it on the row.

    The caller commits. Idempotent: a second call finds the file and the record and changes
    nothing. A file already recorded (an old case's analysis-time clip, or an earlier render)
    must still match its recorded hash.
    """
    store = evidence_store(settings)
    if store.kind == "local":
        return _ensure_in(case, settings, settings.data_dir / case.out_dir, None)
    wanted = [str(case.evidence[k]) for k in SOURCE_KINDS if case.evidence.get(k)] + [_annotated_relpath(case)]
    with store.local_tree(case.out_dir, wanted) as run_dir:  # a temporary copy of what drawing needs
        return _ensure_in(case, settings, run_dir, store)


def _ensure_in(case: Case, settings: Settings, run_dir: Path, store) -> AnnotatedClip:  # noqa: ANN001
    """``ensure_annotated`` in a run folder on this machine; a new file goes to ``store`` when given."""
    relpath = _annotated_relpath(case)
    target = run_dir / relpath
    recorded_hash = case.evidence_hashes.get(relpath)
    if not can_render(case):
        if not case.evidence.get(ANNOTATED_KIND) or not target.is_file():
            raise AnnotationError(f"case {case.id!r} has no track file to draw an annotated clip from",
                                  "annotation_unavailable")
        sha = sha256_file(target, settings.chunk_size)
        if recorded_hash != sha:
            raise AnnotationError(f"{relpath}: SHA-256 differs from the recorded hash", "integrity_failed")
        return AnnotatedClip(relpath, sha, 0, False, False, {})

    sources = _checked_sources(case, run_dir, settings.chunk_size)
    from detector.evidence.render import render_annotated  # decoding/encoding stack: only when drawing

    from av.error import FFmpegError

    try:
        made = render_annotated(target.parent, clip_path=run_dir / str(case.evidence["clip"]),
                                tracks_path=run_dir / str(case.evidence["tracks"]))
    except (OSError, ValueError, RuntimeError, FFmpegError) as err:  # ClipError, CaseTrackError, codec errors
        raise AnnotationError(f"the annotated clip could not be rendered: {err}", "render_failed") from None
    if made.path.resolve() != target.resolve():
        raise AnnotationError(f"the renderer wrote {made.path.name}, not {ANNOTATED_FILE}", "render_failed")
    if recorded_hash and recorded_hash != made.sha256:
        raise AnnotationError(f"{relpath}: SHA-256 differs from the hash recorded when it was made",
                              "integrity_failed")
    if store is not None and not made.reused:
        store.put_file(join(case.out_dir, relpath), target)
    recorded = not recorded_hash or not case.evidence.get(ANNOTATED_KIND)
    if recorded:
        # New dicts: the JSON columns are not mutation-tracked.
        case.evidence = {**case.evidence, ANNOTATED_KIND: relpath}
        case.evidence_hashes = {**case.evidence_hashes, relpath: made.sha256}
    return AnnotatedClip(relpath, made.sha256, made.frames, not made.reused, recorded, sources)
