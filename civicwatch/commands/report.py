"""``civicwatch report flight RUN_DIR``: the flight report of an analysis run, without a server.

The report (``detector.reports``) is one short H.264 video of the flight's approved cases, each
captioned with its time, place and offence, and a one-page summary (HTML and PDF) for the unit
responsible for the place. Approval lives in the review service, so the command is told which
cases are approved: ``--decisions FILE`` (the service's case list saved as JSON), ``--case ID``
(repeatable), or ``--all`` (every case found, marked as a draft nobody reviewed); see
``detector.reports.selection``.

``--publication`` makes the report for the public from redacted media only: each case's clip and
key frame are redacted first with the service's redaction (``service.redaction``, policy
``--redaction-policy``), and only those copies are read. Without it the report shows the original
evidence and says it is for the responsible unit only.

The report goes to a new folder (default ``RUN_DIR-flight-report``, ``...-public`` for
publication), never into the run folder, whose signed manifest lists what the analysis wrote.
Exit codes: 0 made, 1 the media of a case could not be read or redacted, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from civicwatch.commands import finite_float, refuse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="reports made from reviewed cases (flight report)"
    )
    kinds = p.add_subparsers(dest="report", required=True)
    f = kinds.add_parser(
        "flight",
        help="one short video of a flight's approved cases and a one-page summary (HTML, PDF)",
        description="Build the flight report of an analysis run: a captioned H.264 video of the approved cases "
        "and a one-page summary with counts by offence and a still per case.",
    )
    f.add_argument(
        "run_dir",
        type=Path,
        metavar="RUN_DIR",
        help="an analysis output folder (civicwatch analyze)",
    )
    which = f.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--decisions",
        type=Path,
        metavar="FILE",
        help="the review service's decisions as JSON, e.g. GET /api/cases?state=approved,published "
        "saved to a file; cases approved or published there are reported",
    )
    which.add_argument(
        "--case",
        action="append",
        metavar="ID",
        help="report this case as approved (repeatable)",
    )
    which.add_argument(
        "--all",
        action="store_true",
        help="report every case found: a draft marked as not reviewed",
    )
    f.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the new report folder (default: RUN_DIR-flight-report, or RUN_DIR-flight-report-public "
        "with --publication)",
    )
    f.add_argument(
        "--force", action="store_true",
        help="replace an earlier report in --out (a folder holding report.json; kept if the new report fails)"
    )
    f.add_argument(
        "--publication",
        action="store_true",
        help="for the public: made from redacted clips and stills only",
    )
    f.add_argument(
        "--redaction-policy",
        choices=("bystanders", "all"),
        default=None,
        help="with --publication only: blur everyone but the offender (bystanders, the default) "
        "or the offender too (all)",
    )
    f.add_argument(
        "--scene",
        type=Path,
        default=None,
        help="the scene file the run was analysed with: names the place in Chinese and English",
    )
    f.add_argument(
        "--unit",
        default="",
        help="the unit responsible for the place (the report's addressee)",
    )
    f.add_argument(
        "--drone-id",
        default="",
        help="the drone's id (default: the cases' flight record)",
    )
    f.add_argument(
        "--pilot",
        default="",
        help="the pilot, on the internal report (default: the cases' flight record)",
    )
    f.add_argument(
        "--seconds",
        type=finite_float,
        default=6.0,
        help="seconds of video per case (default 6)",
    )
    f.add_argument(
        "--json", action="store_true", help="print report.json's summary as JSON"
    )
    f.set_defaults(func=run_flight)


def _fail(message: str, code: int = 2) -> int:
    """Refused as every command refuses: ``civicwatch report flight: ...`` on stderr."""
    return refuse("report flight", message, code)


def _analysis(run_dir: Path) -> dict:
    try:
        data = json.loads((run_dir / "analysis.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _redacted(case: dict, run_dir: Path, work: Path, policy: str) -> tuple[Path, Path]:
    """The case's redacted clip and still, made into ``work`` by the service's redaction."""
    from service.redaction import IMAGE_NAME, VIDEO_NAME, make_published_media

    case_dir = run_dir / Path(case["evidence"]["clip"]).parent
    out = work / case["id"]
    made = make_published_media(case_dir, out, case, policy)
    if VIDEO_NAME not in made:
        raise RuntimeError(
            f"case {case['id']}: no redacted clip could be made (the clip is missing)"
        )
    return out / VIDEO_NAME, out / IMAGE_NAME


def _report_zone(scene, cases: list[dict]):  # noqa: ANN001 - a Scene or None
    """The camera's zone, in which the report gives the offences' times, for its "made" time too:
    the scene's when given, else the one the case records name; None (this machine's) if neither."""
    from detector.reports.cases import zone_named

    return zone_named(scene.timezone if scene is not None else next(
        (c["timezone"] for c in cases if isinstance(c.get("timezone"), str) and c["timezone"]), None
    ))


def run_flight(args: argparse.Namespace) -> int:
    from detector.reports.selection import (
        SelectionError,
        load_run_cases,
        read_decisions,
        select_cases,
    )
    from detector.scene import SceneError, load_scene

    run_dir: Path = args.run_dir
    if not run_dir.is_dir():
        return _fail(f"{run_dir} is not a folder")
    if args.seconds <= 0:
        return _fail("--seconds must be more than 0")
    if args.redaction_policy is not None and not args.publication:
        # the internal report is made from the original media: a policy would be dropped silently
        return _fail("--redaction-policy applies with --publication only (the internal report is not redacted)")
    try:
        cases = load_run_cases(run_dir)
        decisions = read_decisions(args.decisions) if args.decisions else None
        chosen = select_cases(
            cases, decisions=decisions, ids=args.case, everything=args.all
        )
    except SelectionError as err:
        return _fail(str(err))
    try:
        scene = load_scene(args.scene) if args.scene else None
    except (SceneError, OSError) as err:
        return _fail(f"--scene: {err}")
    # another camera's scene put its place and time zone on this flight's report without a word
    run_camera = str(_analysis(run_dir).get("camera") or chosen[0].get("camera") or "")
    if scene is not None and run_camera and scene.camera != run_camera:
        return _fail(f"--scene: {args.scene.name} is the scene of camera {scene.camera!r}, but this run's cases are "
                     f"of camera {run_camera!r}; give the scene the run was analysed with")
    out = args.out or run_dir.with_name(
        run_dir.name
        + ("-flight-report-public" if args.publication else "-flight-report")
    )
    if out.resolve() == run_dir.resolve() or out.resolve().is_relative_to(
        run_dir.resolve()
    ):
        return _fail(
            f"--out {out} lies inside the run folder; its signed manifest lists only what the analysis wrote"
        )
    if run_dir.resolve().is_relative_to(out.resolve()):
        return _fail(f"--out {out} holds the run folder {run_dir}; give the report a folder of its own")
    if (problem := _out_problem(out, args.force)) is not None:
        return _fail(problem)
    # --force: the earlier report is set aside, not deleted, until the new one is made
    aside = _set_aside(out) if out.exists() else None
    code = 1
    try:
        code = _make(args, run_dir, out, chosen, scene)
    finally:
        if aside is not None:
            if code == 0:
                shutil.rmtree(aside, ignore_errors=True)
            elif not out.exists():
                aside.rename(out)
    return code


def _out_problem(out: Path, force: bool) -> str | None:
    """Why the report cannot go to ``out``; None when it can.

    ``--force`` replaces an earlier flight report (a folder holding its ``report.json``) and
    nothing else: it deleted whatever ``--out`` named, a folder of other runs given by mistake
    included, before the new report was even begun."""
    from detector.pipeline import OutputFolderError, check_writable_folder
    from detector.reports.flight import RECORD_NAME

    if out.exists() and not out.is_dir():
        return f"{out} is a file, not a report folder; choose another --out"
    if out.exists() and not (out / RECORD_NAME).is_file():
        return (f"{out} is not a flight report (no {RECORD_NAME} in it): --force replaces only an earlier "
                "report; choose another --out")
    if out.exists() and not force:
        return f"{out} exists; choose another --out or pass --force to replace it"
    try:
        check_writable_folder(out)  # a file where a folder above it should be: named, not a traceback
    except OutputFolderError as err:
        return f"--out {err}"
    return None


def _set_aside(out: Path) -> Path:
    """Move the earlier report ``out`` to a hidden sibling; put back if the new one fails."""
    aside = out.with_name(f".{out.name}.replaced-{uuid.uuid4().hex[:8]}")
    out.rename(aside)
    return aside


def _make(args: argparse.Namespace, run_dir: Path, out: Path, chosen: list[dict], scene) -> int:  # noqa: ANN001
    """Build the report of ``chosen`` into the new folder ``out`` and print what was made."""
    from detector.reports import ReportError, ReportInfo, build_flight_report, report_case
    from detector.reports.cases import CaseRecordError

    analysis = _analysis(run_dir)
    # who flew it: as given, else the flight record the analysis kept with the cases
    flight = next(
        (c["flight"] for c in chosen if isinstance(c.get("flight"), dict)), {}
    )
    info = ReportInfo(
        unit=args.unit.strip(),
        camera=str(analysis.get("camera") or chosen[0].get("camera") or ""),
        drone_id=args.drone_id.strip() or str(flight.get("drone_id") or ""),
        pilot=""
        if args.publication
        else args.pilot.strip() or str(flight.get("pilot") or ""),
        source="" if args.publication else str(analysis.get("source") or ""),
        publication=args.publication,
        reviewed=not args.all,
        made_at=datetime.now(UTC).astimezone(_report_zone(scene, chosen)),
    )
    with tempfile.TemporaryDirectory(
        prefix=".redacted-", dir=out.parent if out.parent.is_dir() else None
    ) as tmp:
        report_cases = []
        for number, case in enumerate(chosen, 1):
            if args.publication:
                try:
                    clip, still = _redacted(
                        case, run_dir, Path(tmp), args.redaction_policy or "bystanders"
                    )
                except Exception as err:  # noqa: BLE001 - any failure to redact stops a public report
                    return _fail(
                        f"case {case['id']}: cannot make its redacted media: {err}", 1
                    )
            else:
                evidence = case["evidence"]
                if not evidence.get("snapshot"):
                    return _fail(f"case {case['id']} has no snapshot in the run")
                clip, still = run_dir / evidence["clip"], run_dir / evidence["snapshot"]
            try:
                report_cases.append(
                    report_case(
                        case,
                        number=number,
                        clip=clip,
                        still=still,
                        scene=scene,
                        seconds=args.seconds,
                        mark_offender=not args.publication,
                    )
                )
            except CaseRecordError as err:
                return _fail(str(err))
        try:
            made = build_flight_report(report_cases, out, info)
        except ReportError as err:
            return _fail(str(err), 1)
    rec = made.record
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(made.folder),
                    "video": rec["video"],
                    "counts": rec["counts"],
                    "cases": [c["id"] for c in rec["cases"]],
                    "files": rec["files"],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        kind = (
            "for publication (redacted media)"
            if args.publication
            else "internal (original evidence)"
        )
        print(
            f"flight report, {kind}: {len(made.cases)} case(s), video {made.video.duration_s:.1f} s"
        )
        for name in ("report.html", "report.pdf", "flight.mp4"):
            print(f"  {made.folder / name}  sha256 {made.files[name]}")
    return 0
