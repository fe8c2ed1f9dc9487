"""The case record: one entry of a run's ``cases.json`` (and, without ``sha256.case``, a case
folder's ``case.json``), as a typed model.

Why a model: the record is read far from where it is written. The review service stores it whole
(``Case.data``) and its API hands parts of it to the review page (the key frame, the offender's
boxes, where the clock came from, who flew the drone); publication and the flight report read it
too. With the shape written down once, the writer checks every record against it before the case
folder is settled (:func:`check_record`), and the service's response models
(``service.api.case_schema``) use the same parts, so the OpenAPI document describes exactly what
the pipeline writes.

Readers are tolerant (``extra="allow"``): a record written by an older release may carry a field
since dropped, and an API answer passes it on rather than failing. The writer is strict: a field
the model does not name is an error, so nobody adds one without saying what it is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RecordPart(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Clock(RecordPart):
    """Where the case's wall-clock times come from; ``source`` None: no wall clock is known (the
    times are seconds into the video) and ``warning`` says so."""

    source: Literal["scene", "upload", "container"] | str | None = Field(
        description="scene: the scene file's start_time; upload: the recording start the operator gave; "
        "container: the video file's creation_time; null: unknown"
    )
    video_start: str | None = Field(
        default=None,
        description="the wall-clock time of the video's first frame (ISO 8601)",
    )
    from_: str | None = Field(
        default=None, alias="from", description="the source in English words"
    )
    from_zh: str | None = Field(default=None, description="the source in Chinese")
    warning: str | None = None
    warning_zh: str | None = None


class Flight(RecordPart):
    """Who flew the footage, as the operator gave it with the upload. Evidence only, never published."""

    drone_id: str | None = None
    pilot: str | None = None


class Registration(RecordPart):
    """A drone case's frames were registered to the place's reference image (``details.registration``):
    to which reference, over how many analysis frames of the case, and how well (share of feature
    matches agreeing with each frame's fit, mean and lowest)."""

    registered: bool
    reference: Literal["scene", "first frame"] | str
    frames: int
    mean_quality: float | None = None
    min_quality: float | None = None


class Location(RecordPart):
    """A position the video file records (the raw tag always, the numbers when readable)."""

    raw: str
    tag: str
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None


class SourceMetadata(RecordPart):
    """What the source video file says of itself. Evidence only, never published."""

    creation_time: str | None = None
    creation_time_raw: str | None = None
    location: Location | None = None
    make: str | None = None
    model: str | None = None
    serial: str | None = None


class PlateRead(RecordPart):
    """The OCR's best plate read over the offender's largest views."""

    text: str
    confidence: float
    format_ok: bool
    kind: str = Field(description="blue, yellow, white, new-energy or unknown")
    frames_read: int = 1
    t: float | None = Field(
        default=None, description="video time (s) of the frame it was read from"
    )


class KeyFrame(RecordPart):
    """The frame the snapshot and crop were taken from."""

    t: float = Field(description="video time (s)")
    time: str | None = Field(
        description="wall-clock time (ISO 8601), null when unknown"
    )
    clip_index: int = Field(description="the frame's index in clip.mp4")
    clip_t: float = Field(description="its time (s) in clip.mp4")


class TrackPoint(RecordPart):
    """The offender's box at one analysed frame (scene pixels)."""

    t: float
    track_id: int
    box: list[float] = Field(min_length=4, max_length=4, description="x1, y1, x2, y2")


class Original(RecordPart):
    """How clip.mp4 was made from the source."""

    method: Literal["stream_copy", "transcode"]
    reason: str | None = Field(default=None, description="why not stream_copy")
    source_sha256: str
    source_codec: str | None = None
    packets: dict[str, Any] | None = Field(
        default=None, description="the copied packet range (stream_copy)"
    )


Box = list[float]
# (t, x, y): the offender's reference point over time, scene pixels
PathPoint = tuple[float, float, float]


class CaseRecord(RecordPart):
    """One case as the pipeline writes it."""

    id: str
    rule: str
    camera: str
    place: str | None
    zone: str | None
    start_s: float
    end_s: float
    decided_s: float | None = Field(
        default=None,
        description="when the offence became certain (video s); a segment of a split analysis owns its "
        "cases by this moment. Absent in records written before split analyses",
    )
    start_time: str | None
    end_time: str | None
    timezone: str | None
    clock: Clock
    flight: Flight | None
    source_metadata: SourceMetadata | None
    object_class: str | None
    track_ids: list[int]
    confidence: float
    plate: PlateRead | None
    signal: str | None
    explanation: str
    explanation_zh: str | None
    details: dict[str, Any]
    key_frame: KeyFrame
    key_box: Box | None
    crop_box_video_px: list[int] | None
    sheet: dict[str, Any] | None = Field(
        description="sheet.jpg's layout (pictures, captions, the offender in each)"
    )
    path: list[PathPoint]
    offender_track: list[TrackPoint]
    frame_size: list[int] = Field(min_length=2, max_length=2)
    video_size: list[int] = Field(min_length=2, max_length=2)
    source: str
    clip_start_s: float
    clip_end_s: float
    clip_offset_s: float
    clip_frames: int | None
    fps: float
    original: Original
    evidence: dict[str, str] = Field(
        description="evidence kind -> path relative to the run folder"
    )
    sha256: dict[str, str] = Field(
        description="evidence kind -> SHA-256 of the file as written"
    )


def check_record(record: dict[str, Any]) -> CaseRecord:
    """Validate a record the writer is about to write: every field named by the model, of its
    type. Raises pydantic's ``ValidationError`` (a bug in the writer, not in the footage)."""
    return CaseRecord.model_validate(record, extra="forbid")
