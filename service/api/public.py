"""The public feed for exposure screens: published cases only, redacted media only.

Approval says an offence happened; publication puts it in front of the street. Screens see a case
only once a reviewer has published it, and only while its media still match the hashes recorded
when they were made (checked on every poll and every serve, cheaply: ``service.hash_cache``). A
display token bound to a screen always gets that screen's feed, whether or not it names the
screen, and a case published to some screens only is not shown on others.

What a screen receives is what the public sees: a readable case number, the offence, the place
and the time, and the media; never the internal case id, zone keys, track numbers or the
pipeline's explanation (which names them). Reviewers fetch the same record for a case they are
about to publish (``/preview``), so the preview is the public text, not a look-alike.

Screens pair once (``POST /api/public/pair`` with the token) and then carry an HttpOnly,
SameSite=Strict cookie: the token never travels in a URL, so it is in no access log, no link and
no script-readable storage.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from itertools import chain

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from pydantic import Field
from sqlalchemy import Row, Select, or_, select
from sqlalchemy.orm import Session, object_session

from service.api.common import ApiModel, iso, parse_when
from service.api.schemas import binary
from service.case_number import recorded_zone
from service.display_names import judged_documents, place_names, zone_names
from service.errors import ApiError, responses
from service.blobstore import BadKey, evidence_store, join
from service.hash_cache import blob_matches
from service.models import ApiToken, Camera, Case, Job, Upload, utcnow
from service.publication import PUBLISHED_SHEET, made_from_current, media_prefix, queue_missing, replace_stale
from service.web.build import PAGE_BUILD_HEADER, page_build
from service.scenes import timezone_of
from service.security import DISPLAY_COOKIE, Principal, get_db, require_roles, token_hash
from service.verified_serve import VerifiedBlobResponse

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/public", tags=["public"])
screens = require_roles("display", "reviewer", "admin")
reviewers = require_roles("reviewer", "admin")
PUBLIC_STATES = ("published",)
PREVIEW_STATES = ("approved", "published")  # what a reviewer may preview
MEDIA_SUFFIX = {"video": (".mp4", ".webm"), "image": (".jpg", ".jpeg", ".png"), "sheet": (".jpg",)}
SHEET_NAME = PUBLISHED_SHEET  # the redacted evidence sheet; cases published before sheets have none
NUMBER_RE = re.compile(r"^\d{8}-\d{4,}$")
# Who gets the redacted evidence sheet. Its redaction blurs bystanders in the pictures but leaves
# the title and caption bands as the evidence writer drew them: the pipeline's case id (camera,
# rule, track number), "Subject: person #9", the camera id, the signal's name and the pipeline's
# explanation, and on the stills the zone's tag (its key where the scene gives no label). That is
# what screens must never get, so display tokens get no sheet (the screen shows none anyway).
SHEET_ROLES = ("reviewer", "admin")
# A poll with ``since`` looks this much further back. A publication or withdrawal is stamped
# (``decided_at``) just before it commits (``service.api.cases._finish``), but a poll can still run
# between stamp and commit (the commit's own time; another app server's clock a little behind):
# with ``since`` taken at face value, a case stamped before a poll's ``server_time`` and committed
# after that poll was never sent to a screen polling with ``since``. Within the overlap a case may
# be sent twice; items and withdrawals are keyed by public number, so a repeat changes nothing.
SINCE_OVERLAP_S = 120
EARLIEST_SINCE = datetime.min.replace(tzinfo=timezone.utc) + timedelta(seconds=SINCE_OVERLAP_S)
PAIR_MAX_AGE_S = 400 * 24 * 3600  # browsers cap cookies at 400 days; re-pair after that


def media_name(hashes: dict[str, str], kind: str) -> str | None:
    """The published file of ``kind``: the sheet by its name, else the first file with the
    kind's suffix that is not the sheet (the still is ``published.jpg``)."""
    if kind == "sheet":
        return SHEET_NAME if SHEET_NAME in hashes else None
    return next((n for n in sorted(hashes) if n != SHEET_NAME and n.lower().endswith(MEDIA_SUFFIX[kind])), None)


def intact(case: Case, settings) -> list[str]:  # noqa: ANN001
    """What fails integrity among the case's published media and original evidence (empty: intact).
    Hashes are cached by size and mtime, so this costs a few stat calls per case per poll."""
    problems = []
    if not case.published_dir or not case.published_hashes:
        return ["no published media"]
    store = evidence_store(settings)  # the data folder or the bucket (service.blobstore)

    def ok(folder: str, name: str, sha: str) -> bool:
        try:
            return blob_matches(store, join(folder, name), sha, settings.chunk_size)
        except BadKey:
            return False

    for name, sha in sorted(case.published_hashes.items()):
        if not ok(case.published_dir, name, sha):
            problems.append(f"published/{name}")
    for rel, sha in sorted((case.evidence_hashes or {}).items()):
        if not ok(case.out_dir, rel, sha):
            problems.append(rel)
    if problems:
        log.warning("case %s kept off the screens: integrity fails for %s", case.id, ", ".join(problems))
    return problems


class PublicMedia(ApiModel):
    """URLs of the redacted media; ``?v=`` names the files' version, and changes when they are made again."""

    video: str | None = None
    image: str
    sheet: str | None = Field(None, description="the redacted evidence sheet, for reviewers and admins only: its "
                                                "captions carry internal ids, so screens never get it")


class PublicCase(ApiModel):
    """One case as the public sees it."""

    number: str | None = Field(description="the public case number, YYYYMMDD-NNNN; null in the preview of a "
                                           "case not yet published (it is given on publishing)")
    rule: str = Field(description="the offence (the page names it in the reader's language)")
    object_class: str | None
    place: str | None
    place_names: dict[str, str] | None = Field(
        None, description="the place per page language (zh-CN, en) when the scene names it so; else show place")
    zone_names: dict[str, str] | None = Field(
        None, description="the zone's display name per page language; None when the scene labels it not "
                          "(the zone's key is internal and never given)")
    start_time: str | None
    start_time_local: str | None
    timezone: str | None
    published_at: str | None
    offender_marked: bool = Field(description="the media outline the offender")
    media: PublicMedia


class Feed(ApiModel):
    items: list[PublicCase]
    withdrawn: list[str] = Field(default_factory=list, description=(
        "with ``since``: the public numbers of cases withdrawn after it that this caller may have been "
        "shown, and of published cases off the screens now (media of another redaction policy, or "
        "evidence that fails its integrity check); a screen that polls with ``since`` takes them off "
        "(without ``since``: empty, the items are the whole feed)"))
    screen: str | None
    server_time: str
    truncated: bool = Field(False, description=(
        "true when there were more cases than ``limit`` to send: ``items`` are the newest ``limit`` of them. "
        "A screen polling with ``since`` has then missed the older ones and should poll once without "
        "``since`` (the whole feed) to start again"))


def public_record(case: Case, cam: Camera | None, up: Upload | None, media_base: str,
                  sheet: bool = True) -> PublicCase:
    """``sheet``: offer the redacted evidence sheet (reviewers and admins; never a screen, see
    ``SHEET_ROLES``)."""
    hashes = case.published_hashes or {}
    place = (up.place if up and up.place else None) or (cam.place if cam else None)
    db = object_session(case)
    scene = judged_documents(db, [case]).get(case.id) if db is not None else (cam.scene_yaml if cam else None)
    return PublicCase(
        number=case.public_number, rule=case.rule, object_class=case.object_class,
        place=place, place_names=place_names(scene, place), zone_names=zone_names(scene, case.zone),
        start_time=iso(case.start_time), start_time_local=case.data.get("start_time"),
        # the zone the case was judged in: the one the case records, else its judged scene's (a camera
        # edited since changes it not); the camera's current zone only for a case that says neither
        timezone=recorded_zone(case) or timezone_of(scene, case.camera_id) or (cam.timezone if cam else None),
        published_at=iso(case.decided_at),
        offender_marked=bool(case.data.get("offender_track") or case.data.get("key_box")),
        media=PublicMedia(video=media_url(hashes, media_base, "video"), image=media_url(hashes, media_base, "image"),
                          sheet=media_url(hashes, media_base, "sheet") if sheet else None))


def media_url(hashes: dict[str, str], media_base: str, kind: str) -> str | None:
    """The URL of the case's published file of ``kind`` (None where it has none; the still's URL is
    always given), with the file's version in it: ``?v=`` and the start of its hash (not read by the
    server). A screen keeps the media it fetched for as long as the case stays in the feed. When the
    media behind a public number are made again (a changed ``redaction_policy``), the feed names them
    by a new URL and a screen fetches them anew; before, the URL stayed the same, and a screen that
    had not polled while the case was off (its network lost for a minute, say) kept showing the old,
    perhaps unblurred, media."""
    name = media_name(hashes, kind)
    if name is None and kind != "image":
        return None
    return f"{media_base}/{kind}" + (f"?v={hashes[name][:16]}" if name else "")


def shown_on(case: Case, screen: str | None) -> bool:
    """A case published to every screen (``public_screens`` None) or to this one."""
    if case.public_screens is None:
        return True
    return screen is not None and screen in case.public_screens


def in_feed_of(who: Principal, screen: str | None, case: Case) -> bool:
    """Whether ``case`` is in this caller's feed: a reviewer or admin without a screen sees
    everything published, a screen (or a display token) its own share."""
    return not (who.role == "display" or screen is not None) or shown_on(case, screen)


def screen_for(who: Principal, screen: str | None) -> str | None:
    """The screen whose feed this caller gets: a bound token's own, always (another → 403)."""
    if who.kind == "token" and who.screen:
        if screen and screen != who.screen:
            raise ApiError(403, "this token belongs to another screen", code="forbidden")
        return who.screen
    return screen


@router.get("/cases", response_model=Feed, responses=responses(401, 403))
def feed(request: Request, response: Response, db: Session = Depends(get_db), who: Principal = Depends(screens),
         screen: str | None = None, since: str | None = None, limit: int = 50) -> Feed:
    screen = screen_for(who, screen)
    # the build of the pages served now: a screen whose page is of another build reloads it
    response.headers[PAGE_BUILD_HEADER] = page_build()
    settings = request.app.state.settings
    now = utcnow()
    q = (select(Case, Camera, Upload).join(Camera, Case.camera_id == Camera.id).join(Job, Case.job_id == Job.id)
         .join(Upload, Job.upload_id == Upload.id)
         .where(Case.state.in_(PUBLIC_STATES), Case.published_hashes.is_not(None), Case.decided_at <= now))
    after = parse_when(since, "since")
    rows = db.execute(q.order_by(Case.decided_at.desc(), Case.id))
    if after is not None:
        # a case committed after the last poll: see above. A ``since`` later than this server's
        # clock means the clock was set back after it gave that ``server_time`` (or another app
        # server's runs ahead): a withdrawal stamped since then by the clock as it is now would be
        # older than ``since`` and never reach the screen, which would keep the withdrawn case, a
        # citizen's face, on the street. So the answer looks back from the earlier of the two.
        # (Never before the first representable time: 0001-01-01T00:01Z less the overlap overflowed.)
        after = max(min(after, now), EARLIEST_SINCE) - timedelta(seconds=SINCE_OVERLAP_S)
        # published meanwhile, or back on the screens with media made again (a screen polling with
        # ``since`` was told to take the case off while its media were of an old policy) ...
        recent = q.where(or_(Case.decided_at > after, Case.media_at > after))
        # ... and, of any age, the cases whose media are of another policy or of earlier redaction
        # rules (the folder's name says it: ``media_prefix``, ``made_from_current``): before, those decided before ``since`` were never found
        # stale, so a screen polling with ``since`` kept their old, unblurred media for good
        other_policy = q.where(~Case.published_dir.contains(f"/{media_prefix(settings.redaction_policy)}-",
                                                            autoescape=True))
        rows = _unique_cases(chain(db.execute(recent.order_by(Case.decided_at.desc(), Case.id)),
                                   db.execute(other_policy.order_by(Case.id))))
    limit = max(1, min(limit, 200))
    items, stale, truncated = [], [], False
    for case, cam, up in rows:
        # a reviewer or admin without a screen sees everything published; a screen its own share
        if not in_feed_of(who, screen, case):
            continue
        if not made_from_current(case, settings.redaction_policy):
            stale.append(case)  # made under another redaction policy: off the screens until made again
            continue
        if after is not None and not (case.decided_at > after or (case.media_at or case.decided_at) > after):
            continue  # found as a candidate of another policy, but of this one after all: nothing new
        if len(items) >= limit and after is not None:
            # with ``since``: full, but a case of another policy further on is still named, and the
            # client is told it missed cases (before, the older new ones were skipped in silence:
            # its next ``since`` was past them, so a screen polling with ``since`` never got them)
            truncated = truncated or not intact(case, settings)
            continue
        if intact(case, settings):
            continue
        if len(items) >= limit:  # without ``since``: the page is full and there is another case
            truncated = True
            break
        items.append(public_record(case, cam, up, f"/api/public/cases/{case.public_number}/media",
                                   sheet=who.role in SHEET_ROLES))
    # A client polling with ``since`` is sent new cases only, so it learns of a withdrawal only by
    # being told: without this it kept a withdrawn case, a citizen's face, on its screen for good.
    withdrawn = []
    if after is not None:
        # No upper bound: a withdrawal stamped by an app server whose clock runs ahead of this
        # one's lay after ``now``, and was named only once this clock caught up, while a screen
        # polling with ``since`` kept the case on the street. Named early, it is named again in the
        # next polls (by number: harmless), never too late.
        gone = select(Case).where(Case.state == "withdrawn", Case.public_number.is_not(None),
                                  Case.decided_at > after).order_by(Case.decided_at)
        withdrawn = [c.public_number for c in db.scalars(gone)
                     if in_feed_of(who, screen, c)]
        withdrawn += [c.public_number for c in stale]  # a screen polling with since takes them off too
        withdrawn += _failing_integrity(db, q, who, screen, settings, limit)
        # ... and, of any age, the published cases whose media were cleared to be made again
        # (``replace_stale`` where a queue runs): no query above finds them, so a screen that had not
        # polled since their policy changed was never told and kept the old media until new ones came
        unmade = select(Case).where(Case.state.in_(PUBLIC_STATES), Case.public_number.is_not(None),
                                    Case.published_hashes.is_(None)).order_by(Case.id)
        withdrawn += [c.public_number for c in db.scalars(unmade)
                      if in_feed_of(who, screen, c)]
    remake_stale(request, [c.id for c in stale])
    # server_time: pass it back as ``since`` next time and no case decided meanwhile is missed (the
    # overlap above covers one committed after this answer with a stamp before ``now``)
    return Feed(items=items, withdrawn=withdrawn, screen=screen, server_time=iso(now), truncated=truncated)


def _failing_integrity(db: Session, public: Select, who: Principal, screen: str | None, settings,  # noqa: ANN001
                       limit: int) -> list[str]:
    """Public numbers of the cases a full poll would now show this caller but for their integrity.

    A full poll leaves such a case out (a file of its evidence or media changed on disk); a client
    polling with ``since`` is sent new cases only, so before this it was never told and kept the
    case, whose media may no longer be what was approved, on its screen. Checked as a full poll
    checks (cached hashes: a few stat calls per case), over the cases a full poll would reach.
    """
    failing, shown = [], 0
    for case, _cam, _up in db.execute(public.order_by(Case.decided_at.desc(), Case.id)):
        if not in_feed_of(who, screen, case):
            continue
        if not made_from_current(case, settings.redaction_policy):
            continue  # named as stale already
        if intact(case, settings):
            failing.append(case.public_number)
            continue
        shown += 1
        if shown >= limit:
            break
    return failing


def _unique_cases(rows: Iterable[Row]) -> Iterator[Row]:
    """The rows of each case once (a recent case of another policy is found by both queries)."""
    seen: set[str] = set()
    for row in rows:
        if row[0].id not in seen:
            seen.add(row[0].id)
            yield row


def remake_stale(request: Request, case_ids: list[str]) -> None:
    """Published cases whose media were made under another redaction policy (the installation
    changed ``redaction_policy`` since) stay off the screens until they are made again: on the
    publication queue where one runs (a no-op for a case made meanwhile), else when a reviewer
    previews the case (``replace_stale``). Before, only new publications got media made under the
    new policy; the cases already on the screens kept the old blur, or none."""
    publisher = getattr(request.app.state.runner, "publisher", None)
    if case_ids and publisher is not None:
        log.info("published cases %s: media made under another redaction policy, off the screens until made "
                 "again", ", ".join(case_ids))
        publisher.enqueue(case_ids, urgent=True)


def _public_case(db: Session, ref: str, who: Principal) -> Case:
    """A published case by its public number; reviewers may also name an approved case by id
    (the preview before publishing)."""
    case = db.scalar(select(Case).where(Case.public_number == ref)) if NUMBER_RE.match(ref) else None
    if who.role == "display":
        if case is None or case.state not in PUBLIC_STATES or (who.screen and not shown_on(case, who.screen)):
            raise ApiError(404, "no such public case")
        return case
    if case is None:
        case = db.get(Case, ref)
    if case is None or case.state not in PREVIEW_STATES:
        raise ApiError(404, "no such public case")
    return case


@router.get("/cases/{ref}/media/{kind}", response_class=FileResponse, responses={
    **binary("the redacted media, sent only as the bytes their recorded hash vouches for",
             "video/mp4", "video/webm", "image/jpeg", "image/png"),
    **responses(401, 403, 404, 409, 416)})
def media(ref: str, kind: str, request: Request, db: Session = Depends(get_db), who: Principal = Depends(screens)):
    if kind not in MEDIA_SUFFIX:
        raise ApiError(404, "media kind must be video, image or sheet")
    if kind == "sheet" and who.role not in SHEET_ROLES:
        raise ApiError(404, "the evidence sheet is not shown on screens: its captions carry internal ids")
    case = _public_case(db, ref, who)
    if not case.published_hashes or not case.published_dir:
        raise ApiError(404, "no such public case")
    settings = request.app.state.settings
    if case.state in PUBLIC_STATES and not made_from_current(case, settings.redaction_policy):
        raise ApiError(404, "this case's media are being made again under the current redaction policy")
    name = media_name(case.published_hashes, kind)
    store = evidence_store(settings)
    try:
        key = join(case.published_dir, name) if name else None
    except BadKey:
        key = None
    if key is None or store.info(key) is None:
        raise ApiError(404, f"this case has no published {kind}")
    problems = intact(case, settings)  # the whole case, from the size/mtime (ETag) cache
    if problems:
        # which files fail is for reviewers: their paths name the pipeline case and its track
        raise ApiError(409, "this case's media fail their integrity check and are not shown",
                       code="integrity_failed", **({} if who.role == "display" else {"problems": problems}))
    # and the file itself over the very bytes sent: one replaced since the check above is not served
    return VerifiedBlobResponse(store, key, case.published_hashes[name],
                                mimetypes.guess_type(name)[0] or "application/octet-stream",
                                headers={"Cache-Control": "private, no-cache"}, chunk_size=settings.chunk_size,
                                problem_detail="this case's media fail their integrity check and are not shown")


class Preview(ApiModel):
    """What publishing a case would show, and where."""

    case_id: str
    state: str
    record: PublicCase
    media_sha256: dict[str, str]
    integrity_problems: list[str]
    screens: list[str] = Field(description="the screens display tokens are bound to (publish may pick some)")
    public_screens: list[str] | None


@router.get("/preview/{case_id}", response_model=Preview, responses=responses(401, 403, 404, 409))
def preview(case_id: str, request: Request, db: Session = Depends(get_db), _: Principal = Depends(reviewers)) -> Preview:
    """The public record of an approved (or published) case. A GET changes nothing: an approved
    case has no public number yet (``number`` null; the page shows a placeholder), as numbers are
    given only when a case is published, so previews never used up a day's numbers or numbered a
    case that was then withdrawn before it was ever shown."""
    case = db.get(Case, case_id)
    if case is None or case.state not in PREVIEW_STATES:
        raise ApiError(404, f"no approved or published case {case_id!r}")
    settings = request.app.state.settings
    # media made under another redaction policy or from replaced evidence are made again, never shown
    # (a published case's too: it is off the screens until they are made again, see ``remake_stale``)
    # none made yet (queued again: a failed redaction, or a queue lost with a restart, is not left
    # "not ready" for good), or made under another redaction policy or from replaced evidence
    publisher = getattr(request.app.state.runner, "publisher", None)
    if queue_missing(db, case, settings, publisher) or replace_stale(db, case, settings, publisher):
        raise ApiError(409, "this case's published media are still being made; try again shortly", code="not_ready")
    cam = db.get(Camera, case.camera_id)
    job = db.get(Job, case.job_id)
    up = db.get(Upload, job.upload_id) if job else None
    bound = sorted(set(db.scalars(select(ApiToken.screen).where(ApiToken.role == "display", ApiToken.revoked_at.is_(None),
                                                               ApiToken.screen.is_not(None)))))
    return Preview(case_id=case.id, state=case.state,
                   record=public_record(case, cam, up, f"/api/public/cases/{case.id}/media"),
                   media_sha256=dict(case.published_hashes), integrity_problems=intact(case, settings),
                   screens=bound, public_screens=case.public_screens)


class PairIn(ApiModel):
    token: str = Field(min_length=8, max_length=200)
    screen: str | None = Field(default=None, max_length=128)


class PairOut(ApiModel):
    screen: str | None
    name: str


@router.post("/pair", response_model=PairOut, responses=responses(401, 403))
def pair(body: PairIn, request: Request, response: Response, db: Session = Depends(get_db)) -> PairOut:
    """Pair this browser as a screen: check the display token once, then keep it in an HttpOnly,
    SameSite=Strict cookie that the page's scripts cannot read and no URL carries."""
    tok = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(body.token.strip())))
    if tok is None or tok.revoked_at is not None or tok.role != "display":
        raise ApiError(401, "not a valid display token", code="bad_credentials")
    if tok.screen and body.screen and body.screen != tok.screen:
        raise ApiError(403, "this token belongs to another screen", code="forbidden")
    response.set_cookie(DISPLAY_COOKIE, body.token.strip(), max_age=PAIR_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=bool(request.app.state.settings.session_cookie_secure), path="/")
    return PairOut(screen=tok.screen, name=tok.name)


@router.post("/unpair", status_code=204, response_class=Response, responses=responses(403))
def unpair(request: Request) -> Response:
    """Forget this browser's pairing. Only a pairing the request came with is deleted: the cookie
    is SameSite=Strict, so a page of another site opened in the kiosk's browser, posting here, sends
    none, and used to be answered with the Set-Cookie that left the screen on its pairing form."""
    response = Response(status_code=204)
    if DISPLAY_COOKIE in request.cookies:
        response.delete_cookie(DISPLAY_COOKIE, path="/", httponly=True, samesite="strict")
    return response
