"""Case and detector quality on the labelled development set (benchmarks/dev-set).

    .venv/bin/python benchmarks/quality.py [--note "what changed"] [--write] [--only CLIP ...]
        [--model M] [--regions zones|off] [--no-stabilise] [--code DIR]

For every ``*.labels.json`` in the dev set: analyse its video with its scene (evidence files off:
only what was found is scored), score the cases with ``detector.evaluation.cases`` (the same code
as ``civicwatch eval cases``), and add them up per rule. Then score the detector on the labelled
video frames (``dev-set/frames``) and the VisDrone images. ``--write`` puts the tables into
benchmarks/README.md between the quality markers and appends one line to the history there.

``--code DIR`` analyses with another checkout of CivicWatch (e.g. ``git worktree add /tmp/base
<commit>``) through its own ``civicwatch analyze`` CLI, to measure a baseline with today's labels
and scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detector.evaluation.cases import RuleScore, evaluate_cases, fmt_ratio, load_run_cases  # noqa: E402
from detector.evaluation.labels import load_labels, resolve  # noqa: E402

DEV_SET = REPO / "benchmarks" / "dev-set"
README = REPO / "benchmarks" / "README.md"
START, END = "<!-- quality:start -->", "<!-- quality:end -->"
HISTORY_START, HISTORY_END = "<!-- quality-history:start -->", "<!-- quality-history:end -->"


def analyse(label_path: Path, out: Path, args: argparse.Namespace) -> tuple[list[dict], float, dict]:
    labels, base = load_labels(label_path)
    video, scene = resolve(base, labels.video), resolve(base, labels.scene)
    started = time.perf_counter()
    if args.code:
        cmd = [sys.executable, "-m", "civicwatch.cli", "analyze", str(video), "--scene", str(scene),
               "--out", str(out), "--pre", "0", "--post", "0", "--quiet"]
        if args.model:
            cmd += ["--model", args.model]
        env = {**os.environ, "PYTHONPATH": str(Path(args.code).resolve()),
               "CIVICWATCH_MODELS_DIR": os.environ.get("CIVICWATCH_MODELS_DIR", str(REPO / "models"))}
        subprocess.run(cmd, check=True, env=env, cwd=args.code, stdout=subprocess.DEVNULL)
        info = json.loads((out / "analysis.json").read_text())
    else:
        from detector.pipeline import AnalyzeOptions, analyze

        options = AnalyzeOptions(model=args.model, pre=0.0, post=0.0, evidence=False, regions=args.regions,
                                 stabilise=not args.no_stabilise, full_every=args.full_every,
                                 focus_windows=args.focus,
                                 **({"conf": args.conf} if args.conf is not None else {}),
                                 **({"track_birth": args.track_birth} if args.track_birth is not None else {}),
                                 **({"person_conf": args.person_conf} if args.person_conf is not None else {}),
                                 **({"track_confirm": args.track_confirm} if args.track_confirm is not None else {}),
                                 **({"analysis_fps": args.analysis_fps} if args.analysis_fps is not None else {}),
                                 lowlight=args.lowlight, motion_gate=not args.no_motion_gate)
        analyze(video, scene, out, options)
        info = json.loads((out / "analysis.json").read_text())
    return load_run_cases(out), time.perf_counter() - started, info


def run_cases(args: argparse.Namespace) -> tuple[list[dict], dict[str, RuleScore]]:
    rows, totals = [], {}
    paths = sorted(DEV_SET.glob("*.labels.json"))
    if args.only:
        paths = [p for p in paths if p.name.removesuffix(".labels.json") in args.only]
    with tempfile.TemporaryDirectory(prefix="civicwatch-quality-") as tmp:
        for path in paths:
            clip = path.name.removesuffix(".labels.json")
            labels, _ = load_labels(path)
            cases, seconds, info = analyse(path, Path(tmp) / clip, args)
            result = evaluate_cases(labels, cases)
            for rule, score in result.per_rule.items():
                totals.setdefault(rule, RuleScore(rule)).add(score)
            total = result.total
            rows.append({"clip": clip, "events": total.events, "cases": total.cases, "matched": total.matched,
                         "precision": total.precision, "recall": total.recall, "seconds": seconds,
                         "misses": result.misses, "false_cases": result.false_cases,
                         "negative": not any(not e.optional for e in labels.events),
                         "rules": sorted({e.rule for e in labels.events} | {c["rule"] for c in cases}),
                         "warnings": info.get("warnings", []), "motion_gate": info.get("motion_gate")})
            gate = info.get("motion_gate") or {}
            skipped = f", detection skipped on {gate['skipped']}/{gate['frames']} frames" if gate.get("frames") else ""
            print(f"{clip:28} events {total.events:3d} cases {total.cases:3d} matched {total.matched:3d} "
                  f"P {fmt_ratio(total.precision)} R {fmt_ratio(total.recall)} ({seconds:.1f} s{skipped})", flush=True)
            for m in result.misses:
                print(f"    miss  {m['rule']} {m['zone']} {m['t0']:.1f}-{m['t1']:.1f} {m.get('note', '')}")
            for c in result.false_cases:
                print(f"    false {c['rule']} {c['zone']} {c['start_s']:.1f}-{c['end_s']:.1f}")
    return rows, totals


def run_detections(args: argparse.Namespace) -> list[dict]:
    from detector.detect import load_analysis_detector
    from detector.evaluation.detections import ClassMap, evaluate_detections, images_from_dirs, images_from_frames
    from detector.regions import detector_for_settings

    detector = load_analysis_detector(args.model, conf=0.05)
    sets = []
    frames = DEV_SET / "frames" / "frames.json"
    if frames.is_file():
        images, _ = images_from_frames(frames)
        sets.append(("dev-set video frames", images))
    visdrone = REPO.parent / "shared" / "footage" / "visdrone"
    if visdrone.is_dir():
        cmap = ClassMap.load(DEV_SET / "visdrone-classes.yaml")
        sets.append(("VisDrone (drone, 3 images)", images_from_dirs(visdrone / "images", visdrone / "labels", "yolo", cmap)))
    rows = []
    for name, images in sets:
        for tiles in ("none", "2x2"):
            ev = evaluate_detections(images, detector_for_settings(detector, tiles), conf=0.3)
            person = ev.per_target.get("person")
            labels = ev.per_label
            rows.append({
                "set": name, "tiles": tiles, "model": detector.name, "images": ev.images,
                "ms_per_image": ev.seconds_per_image * 1000, "mAP50": ev.mean_ap50,
                "person_recall": person.recall if person else None,
                "person_small_recall": person.by_size["small"].recall if person else None,
                "per_label": {k: (v["all"].found, v["all"].truths, v["small"].found, v["small"].truths)
                              for k, v in labels.items()},
            })
            print(f"{name} tiles {tiles}: mAP50 {fmt_ratio(ev.mean_ap50)}, person recall "
                  f"{fmt_ratio(rows[-1]['person_recall'])} (small {fmt_ratio(rows[-1]['person_small_recall'])}), "
                  f"{rows[-1]['ms_per_image']:.0f} ms/image", flush=True)
    return rows


def tables(rows: list[dict], totals: dict[str, RuleScore], det_rows: list[dict], args: argparse.Namespace) -> str:
    cmd = "python benchmarks/quality.py" + (f" --model {args.model}" if args.model else "") + \
        (" --regions off" if args.regions == "off" else "") + (" --no-stabilise" if args.no_stabilise else "") + \
        (" --lowlight off" if args.lowlight == "off" else "") + \
        (f" --full-every {args.full_every}" if args.full_every != 1 else "") + \
        (f" --focus {args.focus}" if args.focus else "") + \
        (f" --conf {args.conf}" if args.conf is not None else "") + \
        (f" --track-birth {args.track_birth}" if args.track_birth is not None else "") + \
        (f" --person-conf {args.person_conf}" if args.person_conf is not None else "") + \
        (f" --track-confirm {args.track_confirm}" if args.track_confirm is not None else "") + \
        (f" --analysis-fps {args.analysis_fps:g}" if args.analysis_fps is not None else "") + \
        (" --no-motion-gate" if args.no_motion_gate else "")
    out = [f"Made by `{cmd} --write` on {date.today().isoformat()}" + (f" ({args.note})" if args.note else "") + ".", ""]
    out += ["| rule | events | cases | matched | precision | recall |", "|---|---|---|---|---|---|"]
    for r in sorted(totals.values(), key=lambda s: s.rule):
        out.append(f"| {r.rule} | {r.events} | {r.cases} | {r.matched} | {fmt_ratio(r.precision)} | {fmt_ratio(r.recall)} |")
    all_ = RuleScore("all")
    for r in totals.values():
        all_.add(r)
    out.append(f"| **all** | {all_.events} | {all_.cases} | {all_.matched} | {fmt_ratio(all_.precision)} | {fmt_ratio(all_.recall)} |")
    out += ["", "| clip | rules | events | cases | matched | precision | recall | negative clip clean | seconds |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        clean = ("yes" if r["cases"] == 0 else f"**no ({r['cases']})**") if r["negative"] else ""
        out.append(f"| {r['clip']} | {', '.join(r['rules'])} | {r['events']} | {r['cases']} | {r['matched']} | "
                   f"{fmt_ratio(r['precision'])} | {fmt_ratio(r['recall'])} | {clean} | {r['seconds']:.1f} |")
    if det_rows:
        out += ["", "Detector on labelled images (IoU 0.5, score >= 0.3; small < 32 px):", "",
                "| images | model | tiles | ms/image | mAP50 | person recall | person recall, small | recall per labelled class (all / small) |",
                "|---|---|---|---|---|---|---|---|"]
        for d in det_rows:
            per = "; ".join(f"{k} {a}/{n} ({s}/{sn})" for k, (a, n, s, sn) in sorted(d["per_label"].items()))
            out.append(f"| {d['set']} | {d['model']} | {d['tiles']} | {d['ms_per_image']:.0f} | {fmt_ratio(d['mAP50'])} | "
                       f"{fmt_ratio(d['person_recall'])} | {fmt_ratio(d['person_small_recall'])} | {per} |")
    return "\n".join(out)


def history_line(totals: dict[str, RuleScore], args: argparse.Namespace) -> str:
    parts = [f"{r.rule} P {fmt_ratio(r.precision)} R {fmt_ratio(r.recall)}" for r in sorted(totals.values(), key=lambda s: s.rule)]
    return f"- {date.today().isoformat()} {args.note or ''}: " + "; ".join(parts)


def write_readme(text: str, line: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if START not in readme:
        readme += f"\n## Quality on the development set\n\n{START}\n{END}\n\n### History\n\n{HISTORY_START}\n{HISTORY_END}\n"
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    readme = f"{head}{START}\n{text}\n{END}{tail}"
    head, rest = readme.split(HISTORY_START, 1)
    old, tail = rest.split(HISTORY_END, 1)
    readme = f"{head}{HISTORY_START}{old.rstrip()}\n{line}\n{HISTORY_END}{tail}"
    README.write_text(readme, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="clip ids to run (default: all)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--regions", choices=["zones", "off"], default="zones")
    parser.add_argument("--full-every", type=int, default=1)
    parser.add_argument("--focus", type=int, default=0,
                        help="windows a frame for the closer look where small people were found (default 0: off)")
    parser.add_argument("--conf", type=float, default=None, help="detector confidence threshold (default: the pipeline's)")
    parser.add_argument("--track-birth", type=float, default=None,
                        help="score an unclaimed detection needs to start a track (default: the pipeline's)")
    parser.add_argument("--person-conf", type=float, default=None,
                        help="people's own detection threshold (default: the pipeline's)")
    parser.add_argument("--track-confirm", type=int, default=None,
                        help="consecutive analysis frames that confirm a new track (default: the pipeline's)")
    parser.add_argument("--analysis-fps", type=float, default=None,
                        help="frames per second sent to the detector (default: the pipeline's)")
    parser.add_argument("--no-stabilise", action="store_true")
    parser.add_argument("--lowlight", choices=["auto", "off"], default="auto")
    parser.add_argument("--no-motion-gate", action="store_true", help="detect on every analysis frame")
    parser.add_argument("--code", default=None, help="analyse with the CivicWatch checkout in DIR (baseline)")
    parser.add_argument("--no-detections", action="store_true", help="skip the detector tables")
    parser.add_argument("--note", default="", help="what this run measures (goes into the history)")
    parser.add_argument("--write", action="store_true", help="write the tables into benchmarks/README.md")
    parser.add_argument("--json", default=None, help="also write the raw results to this file")
    args = parser.parse_args()
    rows, totals = run_cases(args)
    det_rows = [] if args.no_detections or args.code else run_detections(args)
    text = tables(rows, totals, det_rows, args)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"clips": rows, "detections": det_rows}, indent=2, default=str))
    if args.write:
        write_readme(text, history_line(totals, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
