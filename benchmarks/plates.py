"""Plate reading on the real CCPD photos in ../shared/footage-more/plates-ccpd (labels.csv).

    .venv/bin/python benchmarks/plates.py [--json] [--repeat N]

Three inputs per photo, because the pipeline hands ``read_plate`` a vehicle box, not a photo:
- ``photo``: the whole 720x1160 photo (no box);
- ``vehicle``: a car-sized region around the labelled plate (3 plate widths wide, from 4 plate
  heights above to 2 below, clipped to the photo), passed as ``box`` like the pipeline's vehicle box;
- ``plate``: the labelled plate box enlarged by half its size on each side.
Reported per input: exact reads (whole plate string), character accuracy (position by position
over the labelled length; a read of the wrong length scores its matching positions only), how many
reads pass the format check, and seconds per image (median, model already loaded).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detector.evidence.plates import read_plate  # noqa: E402

CCPD = REPO.parent / "shared" / "footage-more" / "plates-ccpd"


def load_labels(folder: Path = CCPD) -> list[dict]:
    with open(folder / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["bbox"] = tuple(int(r[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
    return rows


def regions(bbox: tuple[int, int, int, int], width: int, height: int) -> dict[str, tuple | None]:
    x1, y1, x2, y2 = bbox
    w, h = x2 - x1, y2 - y1
    clip = lambda a, b, c, d: (max(0, a), max(0, b), min(width, c), min(height, d))  # noqa: E731
    return {"photo": None, "vehicle": clip(x1 - w, y1 - 4 * h, x2 + w, y2 + 2 * h),
            "plate": clip(x1 - w // 2, y1 - h // 2, x2 + w // 2, y2 + h // 2)}


def char_hits(read: str, truth: str) -> int:
    return sum(1 for a, b in zip(read, truth) if a == b)


def run(repeat: int = 1) -> dict:
    rows = load_labels()
    images = {r["file"]: cv2.imread(str(CCPD / r["file"])) for r in rows}
    read_plate(images[rows[0]["file"]])  # load the models outside the timing
    out: dict = {}
    for mode in ("photo", "vehicle", "plate"):
        exact = chars = total_chars = fmt = 0
        times, reads = [], []
        for r in rows:
            img = images[r["file"]]
            box = regions(r["bbox"], img.shape[1], img.shape[0])[mode]
            for _ in range(repeat):
                t0 = time.perf_counter()
                read = read_plate(img, box)
                times.append(time.perf_counter() - t0)
            text = read.text if read else ""
            exact += text == r["plate"]
            chars += char_hits(text, r["plate"])
            total_chars += len(r["plate"])
            fmt += bool(read and read.format_ok)
            reads.append({"truth": r["plate"], "read": text, "confidence": read.confidence if read else None,
                          "kind": read.kind if read else None})
        out[mode] = {"images": len(rows), "exact": exact, "char_accuracy": round(chars / total_chars, 4),
                     "format_ok": fmt, "s_per_image": round(statistics.median(times), 3), "reads": reads}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="time each image this many times")
    args = ap.parse_args()
    res = run(args.repeat)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2))
        return
    print(f"plates on {CCPD.name} ({date.today().isoformat()})")
    print("| input | exact reads | character accuracy | format check passed | s / image |")
    print("|---|---|---|---|---|")
    for mode, m in res.items():
        print(f"| {mode} | {m['exact']}/{m['images']} | {m['char_accuracy']:.1%} | {m['format_ok']}/{m['images']} "
              f"| {m['s_per_image']:.2f} |")
    for mode, m in res.items():
        misses = [f"{x['truth']}->{x['read'] or '(none)'}" for x in m["reads"] if x["read"] != x["truth"]]
        print(f"{mode} misses: {', '.join(misses) or 'none'}")


if __name__ == "__main__":
    main()
