"""The flight report's times: a case's wall clock across a DST change, and one time format for the
header's range, its "made" line and the case lines (detector.reports)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from detector.reports.cases import report_case
from detector.reports.summary import ReportInfo, Summary

ROME = "Europe/Rome"


def _case(start_time: str, key_t: float, number: int = 1, start_s: float = 0.0) -> object:
    record = {
        "id": f"c{number}", "rule": "wrong_way", "object_class": "car", "place": "via Roma",
        "start_time": start_time, "timezone": ROME, "start_s": start_s, "end_s": key_t + 1.0,
        "clip_start_s": 0.0, "clip_end_s": key_t + 5.0, "key_frame": {"t": key_t},
    }
    return report_case(record, number=number, clip=Path("clip.mp4"), still=Path("still.jpg"))


def test_a_time_in_the_repeated_hour_keeps_its_offset() -> None:
    # 27 Oct 2024, Rome: 03:00 CEST goes back to 02:00 CET; 02:30+01:00 is the second 02:30
    case = _case("2024-10-27T02:30:00+01:00", key_t=5.0)
    assert case.time_text(5.0) == ("2024-10-27 02:30:05 (UTC+01:00)",) * 2
    assert case.wall_clock(5.0).timestamp() == datetime.fromisoformat("2024-10-27T01:30:05+00:00").timestamp()


def test_a_time_past_the_spring_gap_is_a_time_that_exists() -> None:
    # 31 Mar 2024, Rome: 02:00 CET jumps to 03:00 CEST; 01:59:50 + 20 s is 03:00:10 CEST
    case = _case("2024-03-31T01:59:50+01:00", key_t=20.0)
    assert case.time_text(20.0) == ("2024-03-31 03:00:10 (UTC+02:00)",) * 2


def test_the_header_range_and_made_line_read_like_the_case_lines() -> None:
    first = _case("2024-10-27T02:50:00+02:00", key_t=1.0, number=1)
    last = _case("2024-10-27T02:10:00+01:00", key_t=1.0, number=2)
    made = datetime(2024, 10, 27, 9, 0, tzinfo=ZoneInfo(ROME))
    summary = Summary(ReportInfo(camera="cam", made_at=made), [first, last], {}, {}, "v.mp4", "r.pdf")
    zh, en = summary.time_range()
    assert zh == en == "2024-10-27 02:50:00 (UTC+02:00) – 2024-10-27 02:10:01 (UTC+01:00)"  # to the last line's time
    same = Summary(ReportInfo(), [first, _case("2024-10-27T02:55:00+02:00", key_t=1.0, number=2)], {}, {},
                   "v.mp4", "r.pdf")
    assert same.time_range()[1] == "2024-10-27 02:50:00 – 02:55:01 (UTC+02:00)"
    rows = {label_en: value_en for _, label_en, _, value_en in summary.header()}
    assert rows["Made"] == "2024-10-27 09:00:00 (UTC+01:00)"


def test_the_header_range_holds_every_time_a_case_line_gives() -> None:
    """A parked car's line gives the moment its limit was reached (the key frame), seconds after
    the stop began; the header's "offences between" ran from the first case's start to the last
    case's start, so a flight's report read "08:00:12 – 08:00:23" above a case at 08:00:24 (the
    demo flight: parking 12.8 s / key 22 s, red light 18.4 / 19, wrong way 23.6 / 24.4)."""
    cases = [_case("2024-05-01T08:00:12.800+02:00", key_t=22.0, number=1, start_s=12.8),
             _case("2024-05-01T08:00:18.400+02:00", key_t=19.0, number=2, start_s=18.4),
             _case("2024-05-01T08:00:23.600+02:00", key_t=24.4, number=3, start_s=23.6)]
    summary = Summary(ReportInfo(camera="cam"), cases, {}, {}, "v.mp4", "r.pdf")
    assert [c.time_text(c.key_t)[1] for c in cases] == [
        "2024-05-01 08:00:22 (UTC+02:00)", "2024-05-01 08:00:19 (UTC+02:00)", "2024-05-01 08:00:24 (UTC+02:00)"]
    assert summary.time_range() == ("2024-05-01 08:00:12 – 08:00:24 (UTC+02:00)",) * 2
