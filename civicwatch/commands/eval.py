"""``civicwatch eval``: score an analysis against case labels, or a detector against box labels.

``eval cases RUN_DIR LABELS.json`` prints precision and recall per rule, every missed event and
every false case with its times. ``eval detections`` runs a detector on labelled images (a folder
of images with YOLO / VOC labels, or video frames listed in a ``frames.json``) and prints recall,
precision and AP50 per class, split by box size; ``--slice-tile PX`` scores the sliced inference the
pipeline uses for drone scenes, ``--focus N`` a closer look where the first pass found small people,
and ``--compare`` puts them beside the whole frame alone (and the tiles without the closer look),
with the milliseconds per image. Exit code 2 for unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from civicwatch.commands import finite_float, score

if TYPE_CHECKING:
    from detector.detect import ObjectDetector
    from detector.evaluation.detections import Detect
    from detector.regions import FocusSettings
    from detector.slicing import SliceSettings


def run_cases(args: argparse.Namespace) -> int:
    from detector.evaluation.cases import evaluate_cases, format_report, load_run_cases
    from detector.evaluation.labels import LabelError, load_labels, resolve, scene_mismatches, source_mismatch
    from detector.scene import SceneError, load_scene

    try:
        labels, base = load_labels(args.labels)
        cases = load_run_cases(args.run_dir)
    except (LabelError, ValueError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    if labels.ignored:
        print(f"warning: {args.labels}: unknown field(s) ignored: {', '.join(labels.ignored)}", file=sys.stderr)
    if (mismatch := source_mismatch(labels, base, Path(args.run_dir))) is not None:
        print(f"warning: {args.labels}: {mismatch}", file=sys.stderr)
    if not labels.events_given:
        print(f"warning: {args.labels}: no events field: scored as a clip with no violation in it "
              '(write "events": [] to say so)', file=sys.stderr)
    scene_path = resolve(base, labels.scene)
    if scene_path.is_file():  # labels moved away from their scene are scored without this check
        try:
            problems = scene_mismatches(labels, load_scene(scene_path))
        except SceneError as err:
            problems = [f"zones not checked: {err}"]
        if problems:
            print(f"warning: {args.labels} against its scene {labels.scene}: {'; '.join(problems)}", file=sys.stderr)
    result = evaluate_cases(labels, cases)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_report(result, f"{args.run_dir} against {args.labels}"))
    return 0


def run_detections(args: argparse.Namespace) -> int:
    from detector.detect import DetectorError, load_analysis_detector
    from detector.evaluation.detections import (
        ClassMap,
        DetectionLabelError,
        evaluate_detections,
        format_comparison,
        format_detection_report,
        images_from_dirs,
        images_from_frames,
    )
    from detector.models.fetch import ModelFetchError
    from detector.regions import FocusSettings, parse_tiles
    from detector.slicing import DEFAULT_OVERLAP, SliceSettings, SlicingError

    slicing = None
    if args.frames and (args.images or args.labels or args.format):
        # a frames.json names its own frames and labels: the folder options would be dropped unread
        given = [f"--{k}" for k in ("images", "labels", "format") if getattr(args, k)]
        print(f"ERROR: give --images DIR and --labels DIR, or --frames FRAMES.json, not both ({', '.join(given)} "
              "with --frames)", file=sys.stderr)
        return 2
    try:
        parse_tiles(args.tiles)  # before the model is loaded and the images read
    except ValueError as err:
        print(f"ERROR: --tiles: {err}", file=sys.stderr)
        return 2
    if args.focus < 0:
        print("ERROR: --focus: the number of windows must be 0 (off) or more", file=sys.stderr)
        return 2
    focus = FocusSettings(max_windows=args.focus) if args.focus else None
    try:
        if args.slice_tile:
            if args.tiles != "none":
                print("ERROR: give --tiles or --slice-tile, not both", file=sys.stderr)
                return 2
            slicing = SliceSettings(args.slice_tile, DEFAULT_OVERLAP if args.slice_overlap is None else args.slice_overlap)
        elif args.slice_overlap is not None:
            print("ERROR: --slice-overlap needs --slice-tile", file=sys.stderr)
            return 2
        if args.compare and not (slicing or args.tiles != "none" or focus):
            print("ERROR: --compare needs --slice-tile, --tiles or --focus (it compares them with the whole frame)",
                  file=sys.stderr)
            return 2
    except SlicingError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    try:
        cmap = ClassMap.load(args.class_map) if args.class_map else None
        if args.frames:
            images, cmap = images_from_frames(args.frames, cmap)
        else:
            if not (args.images and args.labels):
                print("ERROR: give --images DIR and --labels DIR, or --frames FRAMES.json", file=sys.stderr)
                return 2
            if cmap is None:
                from detector.models.metadata import COCO_NAMES

                cmap = ClassMap.identity(COCO_NAMES)
            images = images_from_dirs(Path(args.images), Path(args.labels), args.format or "yolo", cmap)
        # Keep low scores for AP; recall and precision are counted at --conf.
        detector = load_analysis_detector(args.model, conf=min(args.conf, 0.05), threads=args.threads)
    except (DetectionLabelError, DetectorError, ModelFetchError, KeyError) as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2

    plain = f"sliced, {slicing.tile} px tiles, overlap {slicing.overlap}" if slicing else f"tiles {args.tiles}"
    name = plain + (f", focus {focus.max_windows}" if focus else "")
    runs = [(name, _detect_fn(detector, args.tiles, slicing, args.lowlight, focus))]
    if args.compare:
        if focus and (slicing or args.tiles != "none"):  # the same first pass without the closer look
            runs.insert(0, (plain, _detect_fn(detector, args.tiles, slicing, args.lowlight)))
        runs.insert(0, ("whole frame", _detect_fn(detector, "none", None, args.lowlight)))
    results = [(name, evaluate_detections(images, detect, args.conf, args.iou)) for name, detect in runs]
    setting = {"model": detector.name, "conf": args.conf, "iou": args.iou, "tiles": args.tiles,
               "slicing": {"tile": slicing.tile, "overlap": slicing.overlap} if slicing else None,
               "focus": focus.to_dict() if focus else None}
    if args.json:
        body = ({"runs": [{"setting": name, **r.to_dict()} for name, r in results]} if args.compare
                else results[0][1].to_dict())
        print(json.dumps({**setting, **body}, indent=2, ensure_ascii=False))
    elif args.compare:
        print(f"model {detector.name}, conf {args.conf}, IoU {args.iou:g}, {results[0][1].images} images")
        print(format_comparison(results))
    else:
        print(format_detection_report(results[0][1], f"model {detector.name}, conf {args.conf}, {name}"))
    return 0


def _detect_fn(detector: ObjectDetector, tiles: str, slicing: SliceSettings | None, lowlight: str,
               focus: FocusSettings | None = None) -> Detect:
    """The frame -> detections callable one setting is scored with."""
    from detector.regions import detect_focus, detector_for_settings
    from detector.slicing import sliced_detect

    if slicing is not None:
        detect = sliced_detect(detector, slicing)
        if focus is not None:
            from detector.slicing import frame_tiles

            first = detect
            detect = lambda image: detect_focus(detector, image, first(image), focus,
                                                frame_tiles((image.shape[1], image.shape[0]), slicing))
    else:
        detect = detector_for_settings(detector, tiles=tiles, focus=focus)
    if lowlight == "auto":
        from detector.lowlight import LowLight

        enhance, plain = LowLight(), detect
        detect = lambda image: plain(enhance(image))
    return detect


def overlap(text: str) -> float:
    """An argparse ``type``: an IoU, above 0 and at most 1."""
    value = finite_float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} is not an IoU: box overlaps are above 0 and at most 1")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("eval", help="measure cases or detections against labels",
                                   description="Measure an analysis or a detector against labels made by people.")
    sub = parser.add_subparsers(dest="what", required=True)
    cases = sub.add_parser("cases", help="case precision and recall per rule of one analysis output",
                           description="Case-level precision and recall per rule of one analysis output folder.")
    cases.add_argument("run_dir", metavar="RUN_DIR", help="output folder of `civicwatch analyze` (holds cases.json)")
    cases.add_argument("labels", metavar="LABELS.json", help="label file of the same clip")
    cases.add_argument("--json", action="store_true", help="print the full result as JSON")
    cases.set_defaults(func=run_cases)

    det = sub.add_parser("detections", help="detector recall, precision and AP50 on labelled images",
                         description="Per class recall, precision and AP50 (IoU 0.5), split by box size "
                                     "(small < 32 px, medium, large >= 96 px by the square root of the area), on --images DIR "
                                     "with --labels DIR, or on the video frames of --frames FRAMES.json.")
    det.add_argument("--images", metavar="DIR", help="folder of images")
    det.add_argument("--labels", metavar="DIR", help="folder of label files named like the images")
    det.add_argument("--format", choices=["yolo", "voc"], default=None, help="label format (default yolo)")
    det.add_argument("--class-map", metavar="F", help="YAML: names (YOLO ids) and map: label class -> detector class")
    det.add_argument("--frames", metavar="FRAMES.json", help="video frames with YOLO labels (benchmarks/dev-set/frames)")
    det.add_argument("--model", default=None, help="model name or .onnx path (default: the analysis model, as `analyze` uses)")
    det.add_argument("--conf", type=score, default=0.3, help="score threshold for recall and precision (default 0.3)")
    det.add_argument("--iou", type=overlap, default=0.5,
                     help="box overlap (IoU) a detection needs to count as finding a labelled box, for recall and "
                          "precision (default 0.5; AP is always at 0.5): lower values tell a box found in the wrong "
                          "place from one not found")
    det.add_argument("--tiles", default="none",
                     help="'none', or COLSxROWS (e.g. 2x2): also detect on overlapping tiles at model resolution")
    det.add_argument("--slice-tile", type=int, default=None, metavar="PX",
                     help="sliced inference as the pipeline does for drone scenes: the whole frame plus overlapping "
                          "tiles of PX image pixels over all of it, cut objects joined (e.g. 320)")
    det.add_argument("--slice-overlap", type=finite_float, default=None, metavar="F",
                     help="with --slice-tile: share of a tile its neighbour covers again (default 0.2)")
    det.add_argument("--focus", type=int, default=0, metavar="N",
                     help="a closer look: up to N windows, at twice the frame's size, where the frame pass (and "
                          "the tiles) found people under 40 px tall; their small people are judged there "
                          "(default 0: off; see benchmarks/README.md)")
    det.add_argument("--compare", action="store_true",
                     help="also score the whole frame alone (and, with --focus, the same setting without it) and "
                          "print one table row per setting (ms/image, mAP50, recall per class and for small boxes)")
    det.add_argument("--lowlight", choices=["auto", "off"], default="off",
                     help="'auto': contrast-lift dark images first, as the pipeline does (default off here)")
    det.add_argument("--threads", type=int, default=None, help="onnxruntime threads (default: all cores)")
    det.add_argument("--json", action="store_true", help="print the result as JSON")
    det.set_defaults(func=run_detections)
    return parser
