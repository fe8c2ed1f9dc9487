"""One case as a report shows it: the caption's facts, the few seconds to show, the media to read.

Built from the case record the analysis wrote (``cases.json`` / ``case.json``) and the media the
caller chose: the evidence clip and snapshot for the unit, the redacted clip and still for
publication. Times come from the record (the offence's wall-clock start plus video seconds), the
place and offence names from the scene and the offence table the evidence sheet uses, so a report
says what the evidence says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detector.evidence.offences import Offence, offence_for
from detector.scene import Scene

Box = tuple[float, float, float, float]
DEFAULT_SECONDS = 6.0  # how much of each case the report video shows
OFFENDER_REACH_S = 0.5  # an offender box this far from a frame's time still marks it


class CaseRecordError(ValueError):
    """A case record lacks what a report needs (its clip's place in the video, its times)."""


@dataclass(frozen=True)
class ReportCase:
    """What the report video, the summary and its list need of one case."""

    number: int  # 1, 2, ... in the report's order (time)
    case_id: str
    rule: str
    object_class: str
    offence: Offence
    place_zh: str
    place_en: str
    clip: Path  # the clip to show: the evidence clip.mp4 or the redacted published.mp4
    still: (
        Path  # the picture in the summary: snapshot.jpg or the redacted published.jpg
    )
    clip_start_s: float  # the clip's first frame, in seconds of the source video
    span: tuple[float, float]  # the seconds of the source video the report shows
    key_t: float  # the offence's moment (source video seconds)
    start_s: float  # the offence's start (source video seconds)
    start_time: (
        datetime | None
    )  # its wall-clock time, in the camera's zone (None: unknown)
    # The offender's box over time (source seconds, box in video pixels) to outline in the video;
    # empty when the media already show it (the redacted clip outlines the offender itself).
    offender: tuple[tuple[float, Box], ...] = field(default=(), repr=False)

    def wall_clock(self, t: float) -> datetime | None:
        """Wall-clock time at ``t`` seconds of the source video, or None when it is unknown.

        Added in UTC, then shown in the case's zone: Python adds to a zoned time on the wall
        clock, which around a DST change gives a time that does not exist or an hour off."""
        if self.start_time is None:
            return None
        return (
            self.start_time.astimezone(UTC) + timedelta(seconds=t - self.start_s)
        ).astimezone(self.start_time.tzinfo)

    def time_text(self, t: float) -> tuple[str, str]:
        """``(zh, en)`` time of ``t`` to the second with its UTC offset, or the video second."""
        wc = self.wall_clock(t)
        if wc is None:
            return (
                f"视频第 {t:.1f} 秒（未知实际时间）",
                f"video {t:.1f} s (wall clock unknown)",
            )
        off = wc.strftime("%z")
        off = f"UTC{off[:3]}:{off[3:]}" if len(off) == 5 else "UTC"
        text = f"{wc:%Y-%m-%d %H:%M:%S} ({off})"
        return text, text

    def offender_at(self, t: float) -> Box | None:
        """The offender's box nearest ``t`` within ``OFFENDER_REACH_S``, or None."""
        if not self.offender:
            return None
        when, box = min(self.offender, key=lambda o: abs(o[0] - t))
        return box if abs(when - t) <= OFFENDER_REACH_S else None


def zone_named(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when there is none or it is unknown here (the time is then
    shown with its own offset rather than refused: a report must not fail over a zone name)."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _start_time(case: Mapping) -> datetime | None:
    value = case.get("start_time")
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise CaseRecordError(
            f"case {case.get('id')}: start_time is not an ISO time: {value!r}"
        ) from None
    if parsed.tzinfo is None:
        return None
    tz = zone_named(case.get("timezone"))
    return parsed.astimezone(tz) if tz is not None else parsed


def _number(case: Mapping, key: str) -> float:
    value = case.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CaseRecordError(
            f"case {case.get('id')}: {key} missing from the case record"
        )
    return float(value)


def show_span(
    clip_start: float, clip_end: float, key_t: float, seconds: float
) -> tuple[float, float]:
    """``seconds`` of the clip centred on the offence's moment, moved (not cut) to stay inside
    the clip; the whole clip when it is shorter."""
    if clip_end < clip_start:
        raise CaseRecordError(
            f"clip ends ({clip_end:.3f} s) before it starts ({clip_start:.3f} s)"
        )
    want = min(max(seconds, 0.5), clip_end - clip_start)
    start = min(max(key_t - want / 2, clip_start), clip_end - want)
    return round(start, 3), round(start + want, 3)


def _offender_track(case: Mapping) -> tuple[tuple[float, Box], ...]:
    """The offender's boxes in video pixels (the record keeps them in scene pixels)."""
    frame, video = case.get("frame_size"), case.get("video_size")
    if not (
        isinstance(frame, list)
        and isinstance(video, list)
        and len(frame) == 2
        and len(video) == 2
        and all(isinstance(v, (int, float)) and v > 0 for v in (*frame, *video))
    ):
        return ()
    sx, sy = video[0] / frame[0], video[1] / frame[1]
    out = []
    for obs in case.get("offender_track") or []:
        box = obs.get("box") if isinstance(obs, dict) else None
        if (
            isinstance(box, list)
            and len(box) == 4
            and isinstance(obs.get("t"), (int, float))
        ):
            out.append(
                (float(obs["t"]), (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy))
            )
    return tuple(sorted(out))


def report_case(
    case: Mapping,
    *,
    number: int,
    clip: Path,
    still: Path,
    scene: Scene | None = None,
    seconds: float = DEFAULT_SECONDS,
    mark_offender: bool = True,
    codes: Mapping[str, str] | None = None,
) -> ReportCase:
    """The report's view of one case record.

    ``scene`` (the one the case was judged by) names the place in both languages; without it the
    record's ``place`` stands for both. ``mark_offender``: outline the offender in the video from
    the record's track (off for the redacted clip, which outlines the offender already).
    """
    clip_start, clip_end = _number(case, "clip_start_s"), _number(case, "clip_end_s")
    key = case.get("key_frame") or {}
    key_t = (
        float(key["t"])
        if isinstance(key.get("t"), (int, float))
        else _number(case, "start_s")
    )
    place = str(case.get("place") or "")
    place_zh = (scene.place_in("zh-CN") if scene is not None else None) or place
    place_en = (scene.place_in("en") if scene is not None else None) or place
    return ReportCase(
        number=number,
        case_id=str(case.get("id") or f"case-{number}"),
        rule=str(case.get("rule") or "unknown"),
        object_class=str(case.get("object_class") or ""),
        offence=offence_for(
            str(case.get("rule") or "unknown"),
            str(case.get("object_class") or ""),
            codes,
        ),
        place_zh=place_zh,
        place_en=place_en,
        clip=Path(clip),
        still=Path(still),
        clip_start_s=clip_start,
        span=show_span(clip_start, clip_end, key_t, seconds),
        key_t=key_t,
        start_s=_number(case, "start_s"),
        start_time=_start_time(case),
        offender=_offender_track(case) if mark_offender else (),
    )
