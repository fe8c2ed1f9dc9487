"""Sliced inference on drone images: ours against the whole frame and against supervision's slicer.

    .venv/bin/python benchmarks/slicing.py [--tiles 320 512] [--overlap 0.2] [--model M] [--threads 2]
        [--no-supervision]

Scores, on the VisDrone images (``../shared/footage/visdrone``, 340 boxes) and on the labelled
drone still (``../shared/footage-more/drone-stills``, labels in ``benchmarks/dev-set/drone-stills``):

- the whole frame alone (what a drone analysis did before slicing);
- ``detector.slicing`` (what ``civicwatch eval detections --slice-tile T`` and the pipeline run):
  the frame pass plus the slice grid, boxes cut by a tile's inner edge dropped or joined;
- supervision's ``InferenceSlicer`` on the same grid, plus the same frame pass, with each of its
  merges: NMS (IoU 0.5), non-max merge on IoU and on IoS (the latter is SAHI's default merge,
  greedy NMM on IoS 0.5). This is the comparison behind not using it (benchmarks/README.md).

Prints one Markdown table per data set: ms per image (detection only), mAP50, recall of every
labelled box and of the small ones (< 32 px), and recall per detector class.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detector.detect import load_analysis_detector
from detector.evaluation.detections import (
    ClassMap,
    evaluate_detections,
    format_comparison,
    images_from_dirs,
)
from detector.regions import detect_tiles
from detector.slicing import SliceSettings, frame_tiles, sliced_detect
from detector.types import Detections

SHARED = REPO.parent / "shared"
DATA = {
    "VisDrone (3 images, 340 boxes)": (
        SHARED / "footage" / "visdrone" / "images",
        SHARED / "footage" / "visdrone" / "labels",
        REPO / "benchmarks" / "dev-set" / "visdrone-classes.yaml",
    ),
    "drone still (1 image, 62 boxes)": (
        SHARED / "footage-more" / "drone-stills",
        REPO / "benchmarks" / "dev-set" / "drone-stills" / "labels",
        REPO / "benchmarks" / "dev-set" / "drone-stills" / "classes.yaml",
    ),
}


def supervision_slicer(detector, settings: SliceSettings, merge: str, metric: str):
    """supervision's InferenceSlicer on our grid's tile size and overlap, plus the frame pass,
    merged by the slicer's own filter (applied again over the frame pass's boxes)."""
    import supervision as sv

    def to_sv(d: Detections) -> sv.Detections:
        return sv.Detections(
            xyxy=d.xyxy.astype(np.float32), confidence=d.confidence, class_id=d.class_id
        )

    slicer = sv.InferenceSlicer(
        lambda tile: to_sv(detector.detect(np.ascontiguousarray(tile))),
        slice_wh=settings.tile,
        overlap_wh=settings.overlap_px,
        overlap_filter=merge,
        overlap_metric=metric,
        iou_threshold=0.5,
    )

    def detect(frame: np.ndarray) -> Detections:
        both = sv.Detections.merge([slicer(frame), to_sv(detector.detect(frame))])
        both = (
            both.with_nmm(0.5, overlap_metric=metric)
            if merge == "non_max_merge"
            else both.with_nms(0.5, overlap_metric=metric)
        )
        return Detections(
            both.xyxy.astype(np.float32),
            both.confidence.astype(np.float32),
            both.class_id.astype(np.int64),
            detector.class_names,
        )

    return detect


def dropping_cut(detector, settings: SliceSettings):
    """Our slicing without joining cut pieces (the zone tiles' rule: cut boxes dropped)."""

    def detect(frame: np.ndarray) -> Detections:
        h, w = frame.shape[:2]
        return detect_tiles(
            detector, frame, frame_tiles((w, h), settings), detector.detect(frame)
        )

    return detect


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiles",
        type=int,
        nargs="+",
        default=[320, 512],
        help="tile sizes in image px",
    )
    parser.add_argument("--overlap", type=float, default=0.2)
    parser.add_argument("--model", default=None, help="default: the analysis model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--conf", type=float, default=0.3)
    parser.add_argument(
        "--no-supervision", action="store_true", help="skip supervision's slicer"
    )
    args = parser.parse_args()

    detector = load_analysis_detector(
        args.model, conf=min(args.conf, 0.05), threads=args.threads
    )
    for title, (images, labels, class_map) in DATA.items():
        data = images_from_dirs(images, labels, "yolo", ClassMap.load(class_map))
        runs = [("whole frame", detector.detect)]
        for tile in args.tiles:
            s = SliceSettings(tile, args.overlap)
            runs.append(
                (
                    f"**sliced {tile} px, overlap {args.overlap}** (ours, cut pieces joined)",
                    sliced_detect(detector, s),
                )
            )
            runs.append(
                (f"sliced {tile} px, cut pieces dropped", dropping_cut(detector, s))
            )
            if not args.no_supervision:
                for merge, metric, name in (
                    ("non_max_suppression", "iou", "NMS IoU"),
                    ("non_max_merge", "iou", "NMM IoU"),
                    ("non_max_merge", "ios", "NMM IoS (SAHI's default)"),
                ):
                    runs.append(
                        (
                            f"supervision InferenceSlicer {tile} px, {name}",
                            supervision_slicer(detector, s, merge, metric),
                        )
                    )
        results = []
        for name, detect in runs:
            results.append((name, evaluate_detections(data, detect, args.conf)))
            print(f"  done: {name}", file=sys.stderr, flush=True)
        print(
            f"\n{title}, model {detector.name}, {args.threads} threads, score >= {args.conf}, IoU 0.5\n"
        )
        print(format_comparison(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
