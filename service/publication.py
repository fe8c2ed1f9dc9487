"""Making the redacted media that exposure screens show, ahead of the reviewer's decision.

Redaction decodes, detects and re-encodes the whole clip: 10-20 s of two cores per case. Done
inside the approve request, it made the reviewer wait after every "A". So the worker prepares
the published media for every new case right after the job is done, and approval only checks
their hashes; a case whose media are not ready yet (or failed their check) gets them made on
demand, as before.

Every preparation writes into a fresh folder (``published/<case>/<policy>-<source>-<tag>/``), so a
worker and an approve request racing on one case never write the same file; the database row keeps
whichever was recorded first. The folder's name says what the media were made from (the redaction
policy, and a digest of the case's evidence hashes): media prepared days before the approval are
reused only while both are still what they were. Otherwise an installation that changed its
``redaction_policy`` (``none`` to ``bystanders``, say) published the old, unblurred media of every
case prepared before the change, and a job's rerun that replaced a pending case's evidence (another
offender, another clip) left it with media redacted around the old one. The media are written in
the data folder and then handed to the evidence store (``service.blobstore``): with a bucket they
are uploaded there and the local copy removed, and the case's evidence is read from a temporary
download.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import uuid
from pathlib import Path, PurePosixPath

from sqlalchemy import null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.blobstore import evidence_store
from service.config import Settings
from service.db import session_scope
from service.errors import ApiError, RedactionStopped
from service.integrity import check_published
from service.models import Case, utcnow

log = logging.getLogger(__name__)

# The redacted evidence sheet among the published files (written by ``service.sheet_redaction``;
# named here, where the API can import it without loading the redaction code).
PUBLISHED_SHEET = "published_sheet.jpg"


# The evidence the redaction reads (the clip, the still without one, the sheet) and the track
# file its offender's boxes come from; not the annotated clip, whose hash joins the case's when a
# reviewer has it rendered (that changes nothing the public media are made of).
SOURCE_KINDS = ("clip", "snapshot", "sheet", "tracks")


# The version of what the redaction code blurs under a policy. Raise it whenever a change makes
# it blur more (or otherwise differently): published media made by the earlier rules are then no
# longer "made from current", so they leave the screens and are made again, as after a policy
# change. Without it, media made before a fix (2: no person inside an offending car's, bus's or
# truck's box, and no other vehicle's plate beside a walker, is taken for the offender; 3: of the
# faces in a walker's head area only his own is kept, a neighbour's beside it is blurred; 4: a face
# in the head area of another person found beside him is that person's, and the evidence sheet
# judges faces as the clip does; a two-wheeler's rider is the offender, and his box is held
# only one track step past his track's ends) stayed on the street screens with the faces the fix blurs.
REDACTION_RULES = 4


def media_prefix(policy: str) -> str:
    """How the folder of media made now under ``policy`` starts: the policy and the rules'
    version (none for the first rules, whose folders were named before the version was). The feed
    finds stale media of any age by it in SQL (``service.api.public.feed``)."""
    return policy if REDACTION_RULES == 1 else f"{policy}-r{REDACTION_RULES}"


def media_source(case: Case, policy: str) -> str:
    """What a case's published media are made from, as their folder's name starts: the policy
    and redaction rules they were made under (``media_prefix``) and a digest of the evidence they
    were made of."""
    evidence, hashes = case.evidence or {}, case.evidence_hashes or {}
    sources = sorted((str(evidence[k]), hashes.get(str(evidence[k]))) for k in SOURCE_KINDS if evidence.get(k))
    return f"{media_prefix(policy)}-{hashlib.sha256(json.dumps(sources).encode()).hexdigest()[:16]}"


def made_from_current(case: Case, policy: str) -> bool:
    """Whether the case's published media were made under ``policy`` from its evidence as it is
    now (media from before this naming, in a folder that says neither, are not: made again)."""
    if not case.published_dir:
        return False
    return PurePosixPath(case.published_dir).name.startswith(media_source(case, policy) + "-")


def make_published(case: Case, settings: Settings, stopping=None) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    """Write the redacted clip and still for ``case``; return (folder relative to data_dir, hashes).

    ``stopping`` (the publication queue's stop flag) gives the redaction up part-way
    (``RedactionStopped``), and the half-made folder is removed."""
    try:
        from service.redaction import make_published_media
    except ImportError as err:
        raise ApiError(503, f"published media cannot be made: redaction module unavailable ({err})") from None
    out_rel = Path("published") / case.id / f"{media_source(case, settings.redaction_policy)}-{uuid.uuid4().hex[:12]}"
    out_dir = settings.data_dir / out_rel
    out_dir.mkdir(parents=True, exist_ok=True)
    store = evidence_store(settings)
    evidence = case.evidence or {}
    names = sorted({Path(str(evidence[k])).name for k in ("clip", "snapshot", "sheet") if evidence.get(k)})
    try:
        with store.local_tree(case.evidence_dir, names) as case_dir:  # the folder itself, or a download
            hashes = make_published_media(case_dir, out_dir, dict(case.data), settings.redaction_policy,
                                          stopping=stopping)
        store.commit_tree(out_rel.as_posix(), out_dir)  # nothing to do locally; uploaded to a bucket
    except BaseException as err:
        if store.kind != "local" or isinstance(err, RedactionStopped):
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return out_rel.as_posix(), dict(hashes)


def approval_media(case: Case, settings: Settings, queue) -> tuple[str | None, dict[str, str] | None]:  # noqa: ANN001
    """What approval records: the prepared media when intact and made under the policy now in
    force from the evidence the case has now (``made_from_current``); else, where a publication queue
    runs, nothing yet (the caller queues the case, and the publish preview waits for the media:
    per-frame redaction takes about a minute per case, too long for a reviewer's "A"); without a
    queue (``runner: none``), media made now."""
    if (case.published_hashes and made_from_current(case, settings.redaction_policy)
            and check_published(case, evidence_store(settings), settings.chunk_size).ok):
        return case.published_dir, dict(case.published_hashes)
    if queue is not None:
        return None, None
    return make_published(case, settings)


def prepare_published(factory: sessionmaker[Session], settings: Settings, case_ids: list[str],
                      stopping=lambda: False) -> int:  # noqa: ANN001
    """Prepare media for the pending, approved or published cases among ``case_ids`` that have none, or only
    media made under another policy or from evidence since replaced; returns how many were made.

    Failures are logged, not raised: approval makes the media on demand if this did not.
    """
    made = 0
    for case_id in case_ids:
        if stopping():
            break
        with factory() as db:
            case = db.get(Case, case_id)
            # published: on the screens with media made under a policy since changed (remade, see
            # service.api.public.remake_stale)
            if case is None or case.state not in ("pending", "approved", "published"):
                continue
            stale = case.published_dir
            if case.published_hashes and made_from_current(case, settings.redaction_policy):
                continue
            try:
                folder, hashes = make_published(case, settings, stopping)
            except RedactionStopped:
                log.info("publication media for case %s given up part-way (the service is stopping, "
                         "or the case was rejected)", case_id)
                break
            except Exception:  # noqa: BLE001 - a bad clip must not stop the other cases
                log.exception("could not prepare published media for case %s", case_id)
                continue
        with session_scope(factory) as db:
            # none recorded meanwhile, or still the stale ones seen above
            free = Case.published_hashes.is_(None)
            if stale:
                free = or_(free, Case.published_dir == stale)
            res = db.execute(update(Case).where(Case.id == case_id, free)
                             .values(published_dir=folder, published_hashes=hashes, media_at=utcnow()))
            made += res.rowcount
    return made


def pending_case_ids(db: Session, job_id: int) -> list[str]:
    return list(db.scalars(select(Case.id).where(Case.job_id == job_id, Case.state == "pending").order_by(Case.id)))


def awaiting_media(factory: sessionmaker[Session]) -> list[str]:
    """Approved and published cases without media, longest waiting first: approval queued each
    once, a policy change cleared a published case's to be made again, and the queue that held
    them lives in memory (a restart loses it)."""
    with factory() as db:
        return list(db.scalars(select(Case.id).where(Case.state.in_(("approved", "published")),
                                                     Case.published_hashes.is_(None))
                               .order_by(Case.decided_at, Case.id)))


def queue_missing(db: Session, case: Case, settings: Settings, queue) -> bool:  # noqa: ANN001
    """Make the media of an approved (or published) case that has none: on the publication queue
    where one runs (a case queued already keeps its place), else now. Returns whether they were
    missing, so the caller answers 409 ``not_ready`` as it did; the reviewer previews the media once
    made. Before, approval queued the case once: a redaction that failed, or a queue lost with a
    restart, left it "not ready" for good, as nothing queued it again."""
    if case.published_hashes:
        return False
    if queue is not None:
        queue.enqueue([case.id], urgent=True)
        return True
    log.info("case %s has no public media; made now", case.id)
    folder, hashes = make_published(case, settings)
    db.execute(update(Case).where(Case.id == case.id, Case.published_hashes.is_(None))
               .values(published_dir=folder, published_hashes=hashes, media_at=utcnow()))
    db.commit()
    db.refresh(case)
    return True


def replace_stale(db: Session, case: Case, settings: Settings, queue) -> bool:  # noqa: ANN001
    """Make an approved (or published) case's media again when they were made under another redaction policy or
    from evidence since replaced (``made_from_current``): now, or on the publication queue where one
    runs. Returns whether they were stale, so the caller answers 409 ``not_ready`` and the reviewer
    previews the new media before publishing; the stale ones are never put on a screen."""
    if not case.published_hashes or made_from_current(case, settings.redaction_policy):
        return False
    log.info("case %s: public media made under another policy or from replaced evidence; made again", case.id)
    folder, hashes = (None, None) if queue is not None else make_published(case, settings)
    db.execute(update(Case).where(Case.id == case.id, Case.published_dir == case.published_dir)
               .values(published_dir=folder, published_hashes=hashes if hashes is not None else null(),
                       media_at=utcnow() if hashes is not None else case.media_at))
    db.commit()
    db.refresh(case)
    if queue is not None:
        queue.enqueue([case.id], urgent=True)
    return True
