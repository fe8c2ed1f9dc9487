"""Evidence: clips cut from the original source, annotated copies, snapshots, crops, case files,
and a manifest of SHA-256 hashes that ``civicwatch verify`` re-checks.

The evidence writer never decides what is a violation: it gets ``ViolationEvent`` objects and the
logs of what the analysis saw (``TrackLog``, ``SignalLog``) and turns them into files.
"""

from detector.evidence.annotate import Annotator, format_timestamp, wall_clock
from detector.evidence.clips import ClipError, ClipResult, VideoInfo, cut_clip, probe
from detector.evidence.manifest import MANIFEST, VerifyResult, verify, verify_report, write_manifest
from detector.evidence.tracklog import SignalLog, TrackLog
from detector.evidence.writer import EvidenceConflictError, case_id, write_cases

__all__ = [
    "Annotator", "ClipError", "ClipResult", "EvidenceConflictError", "MANIFEST", "SignalLog", "TrackLog",
    "VerifyResult", "VideoInfo", "case_id", "cut_clip", "format_timestamp", "probe", "verify",
    "verify_report", "wall_clock", "write_cases", "write_manifest",
]
