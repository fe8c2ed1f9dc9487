"""Build a flight report folder from the cases a caller chose and the media it chose for them.

The folder holds ``flight.mp4`` (the captioned cases, H.264), ``report.html`` and ``report.pdf``
(the one-page summary), ``stills/NN.jpg`` (one picture per case) and ``report.json`` (what was
made from what, with the SHA-256 of every other file). It is written under a hidden staging name
and renamed into place when complete, so a reader never sees half a report, and an existing
report is never overwritten (``ReportExistsError``).

Every file is made anew: the stills are re-encoded and the video is a new encode, so nothing of
the source containers' metadata (a drone's GPS tags among them) travels into a report.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from detector.decode import VideoOpenError
from detector.hashing import sha256_file
from detector.media.frames import FrameReadError
from detector.reports.cases import ReportCase
from detector.reports.page_html import render_html
from detector.reports.page_pdf import write_pdf
from detector.reports.summary import TITLE, ReportInfo, Summary
from detector.reports.video import MAX_WIDTH, TITLE_S, FlightVideo, write_flight_video

__all__ = [
    "FlightReport",
    "ReportError",
    "ReportExistsError",
    "ReportInfo",
    "build_flight_report",
]

VIDEO_NAME = "flight.mp4"
HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
RECORD_NAME = "report.json"
STILLS_DIR = "stills"
STILL_WIDTH = 640
RECORD_KIND = "civicwatch.flight_report"


class ReportError(RuntimeError):
    """The report cannot be made (no case, or media that cannot be read); nothing is left behind."""


class ReportExistsError(ReportError):
    """The report folder exists already; reports are never overwritten."""


@dataclass
class FlightReport:
    folder: Path
    files: dict[
        str, str
    ]  # name relative to the folder -> SHA-256 (every file but report.json)
    video: FlightVideo
    cases: list[ReportCase]
    record: dict


def _write_still(source: Path, dest: Path) -> None:
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if image is None:
        raise ReportError(f"{source.name}: the still cannot be read")
    h, w = image.shape[:2]
    if w > STILL_WIDTH:
        image = cv2.resize(
            image,
            (STILL_WIDTH, max(1, round(h * STILL_WIDTH / w))),
            interpolation=cv2.INTER_AREA,
        )
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise ReportError(f"{source.name}: JPEG encoding failed")
    dest.write_bytes(buf.tobytes())


def _title_lines(summary: Summary) -> list[tuple[str, ...]]:
    """The video's opening card: the title, the header rows a viewer needs, the notes."""
    shown = {"To", "Place", "Offences between", "Camera / drone", "Cases"}
    return [
        TITLE,
        *(row for row in summary.header() if row[1] in shown),
        *summary.notes,
    ]


def _record(
    info: ReportInfo, summary: Summary, video: FlightVideo, files: dict[str, str]
) -> dict:
    cases = []
    for case in summary.cases:
        seg = summary.segments[case.number]
        cases.append(
            {
                "number": case.number,
                "id": case.case_id,
                "rule": case.rule,
                "object_class": case.object_class,
                "offence": {
                    "zh": case.offence.name_zh,
                    "en": case.offence.name_en,
                    "code": case.offence.code or None,
                },
                "place": {"zh": case.place_zh, "en": case.place_en},
                "time": case.time_text(case.key_t)[1],
                "start_time": case.start_time.isoformat()
                if case.start_time is not None
                else None,
                "source_span_s": list(case.span),
                "video_span_s": [seg.start_s, seg.end_s],
                "still": summary.stills[case.number],
                "media": {"clip": case.clip.name, "still": case.still.name},
            }
        )
    return {
        "kind": RECORD_KIND,
        "version": 1,
        "publication": info.publication,
        "reviewed": info.reviewed,
        "unit": info.unit or None,
        "camera": info.camera or None,
        "drone_id": info.drone_id or None,
        "pilot": info.pilot or None,
        "source": info.source or None,
        "made_at": info.made_at.isoformat() if info.made_at is not None else None,
        "made_by": info.made_by or None,
        "video": {
            "file": VIDEO_NAME,
            "codec": "h264",
            "width": video.width,
            "height": video.height,
            "fps": round(video.fps, 3),
            "frames": video.frames,
            "duration_s": round(video.duration_s, 3),
            "title_s": round(video.title_s, 3),
        },
        "counts": [
            {"zh": o.name_zh, "en": o.name_en, "code": o.code or None, "cases": n}
            for o, n in summary.counts
        ],
        "cases": cases,
        "files": files,
    }


def build_flight_report(
    cases: Sequence[ReportCase],
    out_dir: Path,
    info: ReportInfo,
    *,
    title_s: float = TITLE_S,
    max_width: int = MAX_WIDTH,
    fps: float | None = None,
) -> FlightReport:
    """Write the flight report of ``cases`` (shown in the order given, numbered by their
    ``number``) into the new folder ``out_dir``."""
    cases = list(cases)
    if not cases:
        raise ReportError("a flight report needs at least one case")
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise ReportExistsError(
            f"{out_dir} exists already; a report is never overwritten"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.staging-{uuid.uuid4().hex[:8]}"
    (staging / STILLS_DIR).mkdir(parents=True)
    try:
        stills = {}
        for case in cases:
            rel = f"{STILLS_DIR}/{case.number:02d}.jpg"
            _write_still(case.still, staging / rel)
            stills[case.number] = rel
        summary = Summary(info, cases, {}, stills, VIDEO_NAME, PDF_NAME)
        try:
            video = write_flight_video(
                cases,
                staging / VIDEO_NAME,
                _title_lines(summary),
                fps=fps,
                max_width=max_width,
                title_s=title_s,
            )
        except (FrameReadError, VideoOpenError) as err:
            raise ReportError(f"a case's clip cannot be read: {err}") from None
        summary.segments = {s.number: s for s in video.segments}
        (staging / HTML_NAME).write_text(render_html(summary), encoding="utf-8")
        write_pdf(summary, staging, staging / PDF_NAME)
        files = {
            p.relative_to(staging).as_posix(): sha256_file(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        record = _record(info, summary, video, files)
        (staging / RECORD_NAME).write_text(
            json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        try:
            staging.rename(out_dir)
        except OSError:
            if out_dir.exists():
                raise ReportExistsError(
                    f"{out_dir} was made meanwhile; a report is never overwritten"
                ) from None
            raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    video.path = out_dir / VIDEO_NAME
    return FlightReport(out_dir, files, video, cases, record)
