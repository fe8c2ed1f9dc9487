"""``civicwatch analyze VIDEO --scene SCENE.yaml --out DIR``: the pipeline from a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from civicwatch.commands import analysis_fps_problem, finite_float, score


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="find violations in a video and write evidence cases")
    p.add_argument("video", type=Path, help="the video file to analyse")
    p.add_argument("--scene", type=Path, required=True, help="scene YAML (camera, zones, signals)")
    p.add_argument("--out", type=Path, required=True, help="output folder for cases and manifest (made if missing; one already holding an analysis is refused)")
    p.add_argument("--pre", type=finite_float, default=5.0, help="seconds of video kept before each case (default 5)")
    p.add_argument("--post", type=finite_float, default=5.0, help="seconds of video kept after each case (default 5)")
    p.add_argument("--model", default=None, help="ONNX (or .pt with the ultralytics extra) model, or a model name from `civicwatch models list`; default: the manifest's analysis model")
    p.add_argument("--analysis-fps", type=finite_float, default=10.0, help="frames per second sent to the detector (default 10)")
    p.add_argument("--conf", type=score, default=0.3, help="detector confidence threshold (default 0.3)")
    p.add_argument("--person-conf", type=score, default=None,
                   help="people's own detection threshold (default 0.2: the analysis model scores far walkers "
                        "0.2-0.3; give --conf's value for one threshold); see benchmarks/README.md")
    p.add_argument("--regions", choices=["zones", "off"], default="zones",
                   help="also detect on tiles around the zones at model resolution (default) or only on the whole frame")
    p.add_argument("--full-every", type=int, default=1,
                   help="with zone tiles, run the whole-frame pass on every N-th analysis frame (default 1)")
    p.add_argument("--focus", type=int, default=0, metavar="N",
                   help="a closer look: up to N windows a frame, at twice the frame's size, where the frame pass "
                        "and the tiles found people under 40 px tall (default 0: off; each window is one more "
                        "inference; see benchmarks/README.md)")
    p.add_argument("--slicing", choices=["auto", "on", "off"], default="auto",
                   help="detect on overlapping tiles over the whole frame, for small objects: auto = the scene "
                        "decides (its slicing field; without one, on for drone scenes, off for fixed cameras)")
    p.add_argument("--slice-tile", type=int, default=None, metavar="PX",
                   help="slice tile side in video pixels, when the analysis slices (default: the scene's, else 320)")
    p.add_argument("--slice-overlap", type=finite_float, default=None, metavar="F",
                   help="share of a tile its neighbour covers again, 0-0.75, when the analysis slices (default: the "
                        "scene's, else 0.2)")
    p.add_argument("--no-stabilise", action="store_true",
                   help="do not register frames to the first one (camera sway and drift compensation)")
    p.add_argument("--lowlight", choices=["auto", "off"], default="auto",
                   help="contrast-lift dark frames for the detector (default auto; evidence keeps the original)")
    p.add_argument("--no-motion-gate", action="store_true",
                   help="detect on every analysis frame (default: reuse the last detections while the picture is unchanged)")
    p.add_argument("--annotated-clips", action="store_true",
                   help="also render annotated.mp4 for every case now (default: on demand, see `civicwatch render`)")
    p.add_argument("--span", type=finite_float, nargs=2, default=None, metavar=("START", "END"),
                   help="analyse one segment: keep only the cases decided between START and END seconds of the "
                        "video, reading a pre-roll before it (a worker's share of a split job)")
    p.add_argument("--preroll", type=finite_float, default=None, metavar="S",
                   help="with --span: seconds read before START (default: the longest history the scene's rules need)")
    p.add_argument("--json", action="store_true", help="print the cases as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=run)


def _progress_bar(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None, (lambda p: None)
    from tqdm import tqdm

    bar = tqdm(total=100, file=sys.stderr, bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def update(p) -> None:
        elapsed = bar.format_dict.get("elapsed") or 0
        fps = p.frames / elapsed if elapsed else 0.0
        bar.set_description_str(f"{p.stage}: frame {p.frames}, {p.video_s:.1f} s of video, {fps:.0f} fps", refresh=False)
        bar.n = round(p.fraction * 100, 1)
        bar.refresh()

    return bar, update


def run(args: argparse.Namespace) -> int:
    # Heavy imports (onnxruntime, OpenCV, PyAV) only when analysing: ``civicwatch --help`` stays fast.
    from detector.decode import VideoOpenError, one_picture
    from detector.detect import DetectorError
    from detector.models.fetch import ModelFetchError
    from detector.pipeline import AnalyzeOptions, OutputFolderError, analyze
    from detector.scene import SceneError, load_scene
    from detector.segments import SpanError
    from detector.signing import SigningKeyError
    from detector.slicing import (
        DEFAULT_OVERLAP,
        DEFAULT_TILE,
        SliceSettings,
        SlicingError,
        resolve_slicing,
    )

    if (problem := analysis_fps_problem(args.analysis_fps)) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.pre < 0 or args.post < 0:
        print("error: --pre and --post must not be negative", file=sys.stderr)
        return 2
    if args.full_every < 1:
        print("error: --full-every must be at least 1", file=sys.stderr)
        return 2
    if args.focus < 0:
        print("error: --focus must be 0 (off) or a number of windows", file=sys.stderr)
        return 2
    # Options that only act together with another would otherwise be dropped without a word.
    if args.preroll is not None and args.span is None:
        print("error: --preroll only applies with --span (the pre-roll read before a segment)", file=sys.stderr)
        return 2
    if args.full_every != 1 and args.regions == "off":
        print("error: --full-every needs the zone tiles; with --regions off every analysis frame is detected whole",
              file=sys.stderr)
        return 2
    slice_flags = args.slice_tile is not None or args.slice_overlap is not None
    if slice_flags and args.slicing == "off":
        print("error: --slice-tile and --slice-overlap need slicing; not with --slicing off", file=sys.stderr)
        return 2
    try:  # the same checks the pipeline makes, before the model is loaded
        SliceSettings(DEFAULT_TILE if args.slice_tile is None else args.slice_tile,
                      DEFAULT_OVERLAP if args.slice_overlap is None else args.slice_overlap)
    except SlicingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    full_every = args.full_every != 1 and args.slicing != "off"
    if (slice_flags and args.slicing == "auto") or full_every:
        try:
            scene = load_scene(args.scene)
        except SceneError as err:
            print(f"error: scene file: {err}", file=sys.stderr)
            return 2
        slices = resolve_slicing(args.slicing, scene.kind, scene.slicing) is not None
        if slice_flags and not slices:
            print("error: --slice-tile and --slice-overlap: this scene does not slice (a fixed camera without a "
                  "slicing field, or slicing: {enabled: false}); add --slicing on", file=sys.stderr)
            return 2
        if full_every and slices:
            print("error: --full-every needs the zone tiles; this analysis slices the whole frame instead "
                  "(--slicing off to use zone tiles)", file=sys.stderr)
            return 2
    options = AnalyzeOptions(model=args.model, analysis_fps=args.analysis_fps, pre=args.pre, post=args.post,
                             conf=args.conf, regions=args.regions, full_every=args.full_every,
                             focus_windows=args.focus,
                             slicing=args.slicing, slice_tile=args.slice_tile, slice_overlap=args.slice_overlap,
                             stabilise=not args.no_stabilise, lowlight=args.lowlight,
                             annotated_clips=args.annotated_clips, motion_gate=not args.no_motion_gate,
                             span=tuple(args.span) if args.span else None, preroll_s=args.preroll,
                             **({"person_conf": args.person_conf} if args.person_conf is not None else {}))
    if one_picture(args.video):  # FFmpeg opens a photo as a one-frame video: "analysed", 0 cases, exit 0
        print(f"error: video: {args.video.name}: a single still picture, not a video; give footage "
              "(nothing moves in a photo, so no rule can judge it)", file=sys.stderr)
        return 2
    bar, update = _progress_bar(args.quiet)
    try:
        result = analyze(args.video, args.scene, args.out, options, progress=update)
    except SceneError as err:
        print(f"error: scene file: {err}", file=sys.stderr)
        return 2
    except VideoOpenError as err:
        print(f"error: video: {err}", file=sys.stderr)
        return 2
    except OutputFolderError as err:
        print(f"error: output: {err}", file=sys.stderr)
        return 2
    except SigningKeyError as err:
        print(f"error: signing key: {err}", file=sys.stderr)
        return 2
    except (DetectorError, ModelFetchError) as err:
        print(f"error: model: {err}", file=sys.stderr)
        return 2
    except (SpanError, SlicingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.cases, indent=2, ensure_ascii=False))
    elif not args.quiet:
        t = result.timings
        print(f"{len(result.cases)} case(s) in {args.out} — {t.video_s:.1f} s of video in {t.wall:.1f} s "
              f"({t.speed:.2f}x real time)")
        for case in result.cases:
            print(f"  {case['id']}: {case['explanation']}")
    return 0
