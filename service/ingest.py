"""Turn a finished pipeline run folder (``cases.json`` + ``manifest.json``) into Case rows.

Case rows are upserted by id, where the id is the pipeline's case id prefixed with the job id:
pipeline ids are only promised unique within one run, while a job re-run (after a crash or a
retry) must land on the same rows instead of adding duplicates. A case someone has already
decided on keeps its evidence and state; only pending cases follow the newest run.

Given the run's ``RunKey`` (source hash, segment span, model, scene version), each case also gets
a ``dedup_key`` from that and the case's own identity (rule, zone, decision time, tracks), under a
unique index: a segment retried by another worker of the pool lands on the rows of the first
try even if the pipeline named its cases differently, and two writers racing can never both
insert (the database refuses the second).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import lock_row
from service.models import Case, Job, utcnow
from service.plate_search import key_in_force
from service.plates import machine_plate

# "annotated" is in the case folders of analyses made before track files; newer cases get it on
# demand (service.annotation) and draw their overlay in the browser from "tracks". "sheet" (the
# evidence sheet) is in case folders written since sheets exist; older cases simply lack it.
EVIDENCE_KINDS = ("clip", "tracks", "annotated", "snapshot", "crop", "sheet", "case")


class IngestError(ValueError):
    """The run folder does not hold what the pipeline promises."""


def case_key(job_id: int, pipeline_id: str) -> str:
    return f"J{job_id}-{pipeline_id}"


@dataclass(frozen=True)
class RunKey:
    """What a run analysed: the same source, span, model and scene version give the same cases."""

    source_sha256: str
    span: tuple[float, float] | None
    model: str
    scene_version_id: int | None


def dedup_key(run: RunKey, case: dict[str, Any], *extra: str) -> str:
    """sha256 of the run and the case's own identity. The decision time (``decided_s``, else the
    start) is rounded to 10 ms: the same frames decide the same moment on every worker. ``extra``
    parts tell apart two cases of one run that agree on all of that."""
    decided = case.get("decided_s")
    decided = case.get("start_s", 0.0) if decided is None else decided
    identity = [run.source_sha256, [round(float(v), 3) for v in run.span] if run.span else None, run.model,
                run.scene_version_id, str(case.get("rule")), case.get("zone"), round(float(decided or 0.0), 2),
                sorted(str(t) for t in case.get("track_ids") or []), *extra]
    return hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode("utf-8")).hexdigest()


def manifest_files(manifest: Any) -> dict[str, dict[str, Any]]:
    """``files`` of a manifest as {relpath: {sha256, size}}; accepts the pipeline's list form
    (``[{path, sha256, size}]``) and a mapping form."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(files, list):
        return {str(f["path"]): {k: v for k, v in f.items() if k != "path"}
                for f in files if isinstance(f, dict) and "path" in f}
    if isinstance(files, dict):
        return {str(k): (v if isinstance(v, dict) else {"sha256": v}) for k, v in files.items()}
    return {}


def read_run(out_dir: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    try:
        raw_cases = json.loads((out_dir / "cases.json").read_text(encoding="utf-8"))
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise IngestError(f"cannot read the run's cases.json/manifest.json: {err}") from None
    cases = raw_cases.get("cases", []) if isinstance(raw_cases, dict) else raw_cases
    files = manifest_files(manifest)
    if not isinstance(cases, list) or not isinstance(manifest, dict) or "files" not in manifest:
        raise IngestError("cases.json must hold a list of cases and manifest.json a 'files' mapping")
    return cases, files


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def case_files(case: dict[str, Any], files: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Manifest hashes of the case's evidence: every manifest entry in the case folder plus the
    named evidence files (path relative to the run folder -> sha256)."""
    evidence = case.get("evidence") or {}
    paths = {str(p) for p in evidence.values() if p}
    folders = {str(Path(p).parent) for p in paths}
    out: dict[str, str] = {}
    for relpath, entry in files.items():
        if relpath in paths or str(Path(relpath).parent) in folders:
            out[relpath] = entry.get("sha256", "") if isinstance(entry, dict) else str(entry)
    for p in paths:
        out.setdefault(p, "")  # evidence the manifest forgot: integrity check reports it
    return out


def ingest_run(db: Session, job: Job, out_dir: Path, data_dir: Path, run_key: RunKey | None = None,
               id_prefix: str = "") -> list[Case]:
    """``id_prefix`` tells the cases of one segment of a split job from another's (``s3-``)."""
    cases, files = read_run(out_dir)
    run_rel = str(out_dir.relative_to(data_dir))
    rows: list[Case] = []
    seen: set[str] = set()
    for c in cases:
        if not isinstance(c, dict) or "id" not in c:
            raise IngestError("a case in cases.json has no id")
        evidence = {k: v for k, v in (c.get("evidence") or {}).items() if v}
        case_dir = Path(evidence.get("case") or evidence.get("clip") or f"cases/{c['id']}").parent
        values = dict(
            pipeline_id=str(c["id"]), job_id=job.id, camera_id=job.upload.camera_id,
            rule=str(c.get("rule", "unknown")), zone=c.get("zone"),
            start_s=float(c.get("start_s", 0.0)), end_s=float(c.get("end_s", 0.0)),
            start_time=_parse_time(c.get("start_time")), object_class=c.get("object_class"),
            track_ids=list(c.get("track_ids") or []), confidence=float(c.get("confidence") or 0.0),
            explanation=str(c.get("explanation") or ""), out_dir=run_rel,
            evidence_dir=str(Path(run_rel) / case_dir), evidence=evidence,
            evidence_hashes=case_files(c, files), data=c, plate=machine_plate(c.get("plate")),
            scene_version_id=job.scene_version_id,
            updated_at=utcnow(),
        )
        key = case_key(job.id, f"{id_prefix}{c['id']}")
        dedup = dedup_key(run_key, c) if run_key is not None else None
        if dedup is not None and dedup in seen:  # twins within one run: the pipeline's id parts them
            dedup = dedup_key(run_key, c, str(c["id"]))
        if dedup is not None:
            seen.add(dedup)
        row = db.get(Case, key)
        if row is None and dedup is not None:
            row = db.scalar(select(Case).where(Case.dedup_key == dedup))
        if row is None:
            row = Case(id=key, state="pending", dedup_key=dedup, **values)
            row.plate_key = key_in_force(row)  # the plate search's key (service.plate_search)
            db.add(row)
            if dedup is not None:
                db.flush()  # the unique index speaks now, not at commit
            rows.append(row)
            continue
        # A reviewer may decide this case between the read above and this write: the decision is
        # a conditional UPDATE (``WHERE state = 'pending'``), ours would be by id alone and would
        # repoint an approved case's evidence to this run's. Hold the row (a decision now waits
        # for this ingest) and read its state again as committed.
        lock_row(db, Case, row.id)
        db.refresh(row)
        if row.state == "pending":
            for name, value in values.items():
                setattr(row, name, value)
            row.plate_key = key_in_force(row)  # a new read; a reviewer's correction stays in force
            if row.dedup_key is None:
                row.dedup_key = dedup
        rows.append(row)
    return rows


def store_run(store, run_rel: str, out_dir: Path) -> int:  # noqa: ANN001
    """Hand a finished run folder to the evidence store (``service.blobstore``) before its cases
    are ingested, so no case row ever points at evidence the store lacks. The local folder stays
    until the job's outcome is written (ingest reads ``cases.json`` from it); ``discard_local_run``
    then removes it where the store is not the data folder itself. The scene copy beside the run
    (``run-N.scene.yaml``) is the worker's input, not evidence, and stays local."""
    return store.commit_tree(run_rel, out_dir, keep_local=True)


def discard_local_run(store, out_dir: Path) -> None:  # noqa: ANN001
    """Remove the local copy of a run that lives in a bucket (a worker keeps no evidence on disk)."""
    if store.kind != "local":
        import shutil

        shutil.rmtree(out_dir, ignore_errors=True)
