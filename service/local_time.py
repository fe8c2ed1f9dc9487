"""The installation's local time (the ``timezone`` setting) for things that belong to no camera.

The database keeps UTC. People think in local days: "what happened on 1 May" means midnight to
midnight where the office is, not in UTC (in Beijing that would start at 08:00). So a plain date in
a filter is a whole local day, and times shown or exported carry the local offset, which keeps
them unambiguous for anyone who reads them elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.api.common import parse_when
from service.errors import ApiError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")


def zone(name: str) -> ZoneInfo:
    """The zone of the ``timezone`` setting (validated when the settings were read)."""
    return ZoneInfo(name)


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the local zone with its offset, e.g. ``2024-05-01T08:00:12+08:00``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).isoformat()


def _day_start(day: date, tz: ZoneInfo, field: str, value: str) -> datetime:
    start = datetime.combine(day, time(0), tzinfo=tz)
    try:
        start.astimezone(UTC)  # the first and last days of the calendar may have no UTC
    except OverflowError:
        raise ApiError(
            422, f"{field}: out of range once converted to UTC: {value!r}"
        ) from None
    return start


def _bound(
    value: str | None, field: str, tz: ZoneInfo, end: bool
) -> tuple[datetime | None, bool]:
    """One bound and whether it came from a plain date."""
    if value is None or value.strip() == "":
        return None, False
    text = value.strip()
    if not _DATE.match(text):
        if not _TIME.match(text):
            raise ApiError(
                422,
                f"{field}: give a date (YYYY-MM-DD, a whole day in {tz.key}) or an ISO 8601 "
                f"time with an offset (2024-05-01T08:00:00+08:00), not {value!r}",
            )
        return parse_when(text, field), False
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, f"{field}: no such date: {value!r}") from None
    if end:
        if day == date.max:
            raise ApiError(
                422, f"{field}: out of range once converted to UTC: {value!r}"
            )
        day += timedelta(days=1)
    return _day_start(day, tz, field, value), True


@dataclass(frozen=True)
class Span:
    """A time filter in UTC terms: ``start <= t`` and ``t < end`` (``end_inclusive``: ``t <= end``)."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool


def span(date_from: str | None, date_to: str | None, tz: ZoneInfo) -> Span:
    """``date_from`` / ``date_to`` as dates (whole local days, both included) or ISO times with an
    offset (``date_to`` included). A span that ends before it starts is refused, not silently empty."""
    start, _ = _bound(date_from, "date_from", tz, end=False)
    end, from_date = _bound(date_to, "date_to", tz, end=True)
    if (
        start is not None
        and end is not None
        and (end < start if not from_date else end <= start)
    ):
        raise ApiError(422, f"date_to ({date_to}) is before date_from ({date_from})")
    return Span(start, end, end_inclusive=not from_date)
