"""The case as the API answers it: the review queue's rows, the case page's detail, a decision's
result. One schema for every route that returns a case, built on the pipeline's own record
(``detector.evidence.case_record``): the key frame, the offender's track, the clock, the flight
and the plate read are the record's parts, not look-alikes.

The routes declare these as ``response_model``: FastAPI checks each answer against them and the
OpenAPI document is generated from them, so the document cannot drift from what is sent. They
forbid fields they do not name (``extra="forbid"``): a key added to ``case_summary`` without a
field here fails every test that reads a case, rather than reaching clients undocumented.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from detector.evidence.case_record import (
    Box,
    Clock,
    Flight,
    Registration,
    KeyFrame,
    PathPoint,
    PlateRead,
    SourceMetadata,
    TrackPoint,
)
from service.api.schemas import Names, SceneVersionOut, Shape
from service.reject_reasons import RejectReason

CaseState = Literal[
    "pending", "approved", "rejected", "published", "withdrawn"
]  # service.models.CASE_STATES


class PlateCorrectionOut(Shape):
    text: str
    format_ok: bool
    reason: str
    reviewer: str
    at: str
    corrections: int = Field(description="how many corrections the case has had")


class PlateView(Shape):
    """The machine read, the reviewer's correction in force, and the text that counts."""

    read: PlateRead | None
    correction: PlateCorrectionOut | None
    text: str | None = Field(
        description="the correction when there is one, else the machine read"
    )
    format_ok: bool


class OffenceOut(Shape):
    """The offence in words and its code, as the evidence sheet prints them (detector.evidence.offences)."""

    names: Names = Field(description="page language (zh-CN, en) -> the offence's legal wording")
    code: str | None = Field(description="the traffic violation code; null where none is configured")


class CaseSummary(Shape):
    """A case as every list and decision shows it (``service.api.common.case_summary``)."""

    id: str = Field(description="the case id: J<job>-<pipeline id>")
    pipeline_id: str
    job_id: int
    camera_id: str
    rule: str = Field(description="the offence's code, e.g. red_light_pedestrian")
    offence: OffenceOut = Field(description="the offence as the evidence sheet names it, by the offender's class")
    zone: str | None = Field(description="the zone's key in the scene (internal)")
    start_s: float = Field(description="seconds into the video")
    end_s: float
    start_time: str | None = Field(
        description="UTC (ISO 8601); null when no wall clock is known"
    )
    start_time_local: str | None = Field(
        description="the same moment in the scene's local time"
    )
    object_class: str | None
    track_ids: list[int]
    confidence: float
    explanation: str
    explanation_zh: str | None
    state: CaseState
    reason: str | None = Field(
        description="the reviewer's words: a rejection's note (its reason is ``reason_code``), a withdrawal's "
        "reason, an approval's optional note"
    )
    reason_code: RejectReason | None = Field(
        description="a rejected case's reason (the pages show its label in their language, then ``reason``); "
        "null in every other state"
    )
    reviewer: str | None
    decided_at: str | None
    created_at: str | None
    snapshot_url: str | None
    plate: PlateView | None
    version: str = Field(
        description="the case as this answer shows it (opaque; changes with every decision, undo, reopening, "
        "plate correction and evidence rerun): send it back as ``version`` with a decision, which is then "
        "refused with 409 ``case_changed`` if the case changed meanwhile"
    )


class CaseListItem(CaseSummary):
    zone_names: Names | None = Field(
        description="the zone's name per page language from the scene it was judged by"
    )
    timezone: str | None = Field(
        default=None, description="the time zone of the scene it was judged by (pages show its times in it)"
    )


class CasePage(Shape):
    items: list[CaseListItem]
    total: int = Field(description="cases matching the filters, on all pages")
    limit: int
    offset: int


class PublishedUrls(Shape):
    """Where screens fetch the case's redacted media."""

    video: str
    image: str
    sheet: str | None = None


class DecidedCase(CaseSummary):
    """A case after approve, reject, publish or withdraw."""

    published: PublishedUrls | None


class IntegrityItem(Shape):
    file: str
    code: str
    text: str


class Integrity(Shape):
    ok: bool
    problems: list[str] = Field(
        description="English sentences, one per file that fails"
    )
    items: list[IntegrityItem] = Field(
        description="the same with a code each, for pages to translate"
    )
    checked: int = Field(description="files checked")


class HistoryEntry(Shape):
    at: str | None
    actor: str
    action: str
    details: dict[str, Any] | None


class CaseScene(SceneVersionOut):
    """The scene a case was judged by, whatever the camera holds today."""

    current_version: int | None = Field(description="the camera's version now")


class CaseDetail(CaseSummary):
    """Everything the case page shows."""

    timezone: str | None
    scene: CaseScene | None
    scene_version: int | None
    place: str | None
    zone_names: Names | None
    place_names: Names | None
    zone_labels: dict[str, Names] = Field(
        description="every labelled zone of the scene: key -> names"
    )
    upload_id: int | None
    evidence: dict[str, str] = Field(description="evidence kind -> URL")
    evidence_hashes: dict[str, str]
    integrity: Integrity
    published: PublishedUrls | None
    published_hashes: dict[str, str] | None
    public_number: str | None
    public_screens: list[str] | None
    key_frame: KeyFrame | None
    frame_size: list[int] | None
    key_box: Box | None
    path: list[PathPoint] | None
    offender_track: list[TrackPoint] | None
    fps: float | None
    clock: Clock | None
    flight: Flight | None = Field(description="evidence for reviewers; never published")
    source_metadata: SourceMetadata | None = Field(
        description="evidence for reviewers; never published"
    )
    registration: Registration | None = Field(
        default=None, description="drone footage: registered to the place's reference, and how well"
    )
    undo_until: str | None = Field(
        description="until when the decision's reviewer may undo it"
    )
    clip_start_s: float | None
    clip_offset_s: float | None
    annotated_render: str | None = Field(
        description="POST here to render the annotated clip"
    )
    plate_correctable: bool
    history: list[HistoryEntry]


class AnnotatedClipOut(Shape):
    url: str
    sha256: str
    rendered: bool = Field(
        description="whether this call rendered it (false: it was there)"
    )
    frames: int
