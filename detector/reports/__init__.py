"""Reports made from reviewed cases, for the people who act on them.

``flight`` builds the flight report: one short H.264 video of a flight's approved cases, each
captioned with its time, place and offence, and a one-page summary (HTML and PDF) for the unit
responsible for that place. The modules read case records and media files; which cases count as
approved and which media may be shown (the evidence or its redacted copy) is the caller's
decision (``civicwatch report flight``, the review service's job page).
"""

from detector.reports.cases import ReportCase, report_case
from detector.reports.flight import (
    FlightReport,
    ReportError,
    ReportInfo,
    build_flight_report,
)

__all__ = [
    "FlightReport",
    "ReportCase",
    "ReportError",
    "ReportInfo",
    "build_flight_report",
    "report_case",
]
