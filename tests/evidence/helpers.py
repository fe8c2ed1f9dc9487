"""Scripted scene, tracks and events for the evidence tests (the real detector is tested elsewhere)."""

from __future__ import annotations

import struct
from pathlib import Path

import av

from detector.evidence import SignalLog, TrackLog
from detector.scene import Scene, load_scene_text
from detector.types import SignalColor, TrackObservation, ViolationEvent

SCENE_YAML = """
camera: bj-overpass-01
place: Beijing overpass
start_time: 2024-05-01T08:00:00+08:00
timezone: Asia/Shanghai
frame_size: [1920, 1080]
zones:
  - {name: crosswalk-north, kind: crosswalk, signal: ped-n,
     polygon: [[100, 700], [1800, 700], [1800, 900], [100, 900]]}
  - {name: lane-1, kind: lane, direction: [[900, 1000], [1000, 500]],
     polygon: [[800, 400], [1200, 400], [1300, 1070], [700, 1070]]}
signals:
  - {name: ped-n, timeline: [[0, green], [1.0, red]]}
"""

ANALYSIS_STEP = 0.1


def make_scene(**overrides) -> Scene:
    scene = load_scene_text(SCENE_YAML)
    return scene.model_copy(update=overrides) if overrides else scene


def person_box(t: float) -> tuple[float, float, float, float]:
    x = 200 + t * 400
    return (x, 600.0, x + 60, 760.0)


def make_logs() -> tuple[TrackLog, SignalLog]:
    """A person (#7) walking right along the crossing and a car (#3) driving down, 10 fps, 0..2.2 s."""
    tracks, signals = TrackLog(), SignalLog()
    for i in range(23):
        t = round(i * ANALYSIS_STEP, 3)
        tracks.add(t, [
            TrackObservation(t, 7, "person", person_box(t), 0.8),
            TrackObservation(t, 3, "car", (1000, 300 + i * 5, 1300, 500 + i * 5), 0.9),
        ])
        signals.add(t, {"ped-n": SignalColor.GREEN if t < 1.0 else SignalColor.RED})
    return tracks, signals


def make_event(**overrides) -> ViolationEvent:
    fields = dict(
        rule="red_light_pedestrian", zone="crosswalk-north", start_s=1.2, end_s=1.6, key_t=1.2,
        object_class="person", track_ids=[7], confidence=0.8, explanation="entered the crossing on red",
        key_box=person_box(1.2), path=[(round(i * 0.1, 3), *_ground(i * 0.1)) for i in range(23)], signal="ped-n",
    )
    fields.update(overrides)
    return ViolationEvent(**fields)


def _ground(t: float) -> tuple[float, float]:
    x1, _, x2, y2 = person_box(t)
    return ((x1 + x2) / 2, y2)


def top_level_atoms(path: Path) -> list[str]:
    """MP4 top-level box types in file order (walks the size/type headers, no guessing)."""
    atoms = []
    with open(path, "rb") as fh:
        while header := fh.read(8):
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
                fh.seek(size - 16, 1)
            elif size == 0:
                atoms.append(kind.decode("latin-1"))
                break
            else:
                fh.seek(size - 8, 1)
            atoms.append(kind.decode("latin-1"))
    return atoms


def read_video(path: Path) -> dict:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(f.time, f.to_ndarray(format="bgr24")) for f in container.decode(stream)]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "width": stream.width,
            "height": stream.height,
            "times": [t for t, _ in frames],
            "images": [img for _, img in frames],
        }


def write_one_case(source: Path, out: Path, start_s: float, end_s: float, key_t: float, pre: float,
                   post: float) -> dict:
    """The evidence of one scripted case on ``source`` (scene sized to the video), its record."""
    from detector.decode import probe
    from detector.evidence import write_cases

    info = probe(source)
    tracks, signals = make_logs()
    (case,) = write_cases(
        source=source, scene=make_scene(frame_size=(info.width, info.height)),
        events=[make_event(start_s=start_s, end_s=end_s, key_t=key_t)], track_log=tracks, signal_log=signals,
        out_dir=out, pre=pre, post=post,
    )
    return case
