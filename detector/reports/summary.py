"""What the flight report's summary says, shared by its HTML and PDF pages: who it is for, where
and when the flight was, which variant it is, the counts by offence and one line per case."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from detector.evidence.offences import Offence
from detector.reports.cases import ReportCase
from detector.reports.video import VideoSegment

TITLE = ("无人机巡查违法行为报告", "Flight report: offences seen from the drone")
PUBLICATION_NOTE = (
    "公开版：旁人的面部和车牌已打码，仅使用打码后的画面",
    "For publication: made from the redacted media only (bystanders' faces and plates blurred)",
)
INTERNAL_NOTE = (
    "内部版：含原始取证画面，仅供责任单位处理，不得公开",
    "Internal: original evidence pictures, for the responsible unit only; not for publication",
)
DRAFT_NOTE = (
    "草稿：包含本次飞行发现的全部案件，尚未经人工审核",
    "DRAFT: every case the analysis found, none of them reviewed yet",
)


@dataclass(frozen=True)
class ReportInfo:
    """The report's header facts that no case record holds."""

    unit: str = ""  # the unit responsible for the place: the report's addressee
    camera: str = ""  # camera / scene id of the flight
    drone_id: str = ""
    pilot: str = ""
    source: str = ""  # the flight's video file name
    publication: bool = False  # made from redacted media only, for the public
    reviewed: bool = True  # False: every case found, none reviewed (a draft)
    made_at: datetime | None = None
    made_by: str = ""


def offence_counts(cases: list[ReportCase]) -> list[tuple[Offence, int]]:
    """Cases per offence, most first (then by name), each offence once."""
    counts = Counter(c.offence for c in cases)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].name_en))


def _offset(when: datetime) -> str:
    """``UTC+08:00``, as the case lines write a time's offset."""
    off = when.strftime("%z")
    return f"UTC{off[:3]}:{off[3:]}" if len(off) == 5 else "UTC"


def clock(seconds: float) -> str:
    """``m:ss.s`` of the report video."""
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


@dataclass
class Summary:
    info: ReportInfo
    cases: list[ReportCase]
    segments: dict[int, VideoSegment]  # by case number
    stills: dict[int, str]  # case number -> still's path relative to the report folder
    video_name: str
    pdf_name: str
    counts: list[tuple[Offence, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.counts = offence_counts(self.cases)

    @property
    def notes(self) -> list[tuple[str, str]]:
        notes = [PUBLICATION_NOTE if self.info.publication else INTERNAL_NOTE]
        if not self.info.reviewed:
            notes.append(DRAFT_NOTE)
        return notes

    def places(self) -> tuple[str, str]:
        zh = list(dict.fromkeys(c.place_zh for c in self.cases if c.place_zh))
        en = list(dict.fromkeys(c.place_en for c in self.cases if c.place_en))
        return "；".join(zh), "; ".join(en)

    def time_range(self) -> tuple[str, str]:
        # Every time the report shows: each case's start and the moment its line and caption give
        # (the key frame; for a parked car the limit reached, seconds after the stop began). From
        # the first and last cases' starts alone, a case line could read later than the range.
        times = [c.wall_clock(t) for c in self.cases for t in (c.start_s, c.key_t)]
        if not times or any(t is None for t in times):
            return (
                "未知（视频无实际时间）",
                "unknown (the video carries no wall-clock time)",
            )
        # by the instant: datetimes sharing one zone compare by wall clock, and the repeated hour of a DST change would swap them
        a, b = min(times, key=lambda t: t.timestamp()), max(times, key=lambda t: t.timestamp())
        if a.utcoffset() != b.utcoffset():  # a DST change between them: each with its own offset
            text = f"{a:%Y-%m-%d %H:%M:%S} ({_offset(a)}) – {b:%Y-%m-%d %H:%M:%S} ({_offset(b)})"
            return text, text
        end = f"{b:%H:%M:%S}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M:%S}"
        text = f"{a:%Y-%m-%d %H:%M:%S} – {end} ({_offset(a)})"
        return text, text

    def header(self) -> list[tuple[str, str, str, str]]:
        """``(label zh, label en, value zh, value en)`` rows; rows without a value are left out."""
        i = self.info
        place_zh, place_en = self.places()
        time_zh, time_en = self.time_range()
        device = " · ".join(
            v for v in (i.camera, i.drone_id and f"drone {i.drone_id}") if v
        )
        rows = [
            ("致", "To", i.unit, i.unit),
            ("地点", "Place", place_zh, place_en),
            ("违法时间", "Offences between", time_zh, time_en),
            ("设备", "Camera / drone", device, device),
            ("飞手", "Pilot", i.pilot, i.pilot),
            ("视频文件", "Video file", i.source, i.source),
            ("案件数", "Cases", str(len(self.cases)), str(len(self.cases))),
            ("制作", "Made", self._made(), self._made()),
        ]
        return [r for r in rows if r[2] or r[3]]

    def _made(self) -> str:
        i = self.info
        when = (
            f"{i.made_at:%Y-%m-%d %H:%M:%S} ({_offset(i.made_at)})" if i.made_at is not None else ""
        )
        return " · ".join(v for v in (when, i.made_by) if v)

    def case_lines(self, case: ReportCase) -> dict[str, str]:
        """The facts of one case as the list and the PDF print them."""
        zh, en = case.time_text(case.key_t)
        seg = self.segments.get(case.number)
        return {
            "time_zh": zh,
            "time_en": en,
            "offence_zh": case.offence.name_zh,
            "offence_en": case.offence.name_en,
            "code": case.offence.code,
            "place_zh": case.place_zh,
            "place_en": case.place_en,
            "video": f"{clock(seg.start_s)}–{clock(seg.end_s)}" if seg else "",
        }
