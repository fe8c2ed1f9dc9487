"""A source analysed in segments gives exactly the cases of analysing it whole (real model).

The worker pool splits long uploads and live cameras arrive in segments; each segment reads a
pre-roll and keeps the cases decided in its own span (detector.segments). Two clips whose cases sit
on the boundaries, both read at 5 analysis frames a second: the Beijing wrong-way drill looped
twice (12 cases in three 5 s segments, one decided on the 10 s boundary and one 0.2 s before the
5 s one; the last segment's 8 s pre-roll starts 2 s into the source, so the camera's small sway
must be measured against the same picture by every segment, or decisions move by a sample or two)
and the Beijing stopped vehicles (parking decided 0.2 s after the 4 s boundary, from a stop that
began before it).

The drill is judged on the whole frame only (``regions="off"``): the zone tiles are a per-frame
detection detail with no state across frames, so they change nothing a segment boundary can break,
and the near lanes' vehicles are large enough for the whole-frame pass. The stopped vehicles keep
the tiles: the far queue's bus and car are 20-40 px long, and without the tiles too few are found.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from detector.decode import probe
from detector.detect import load_analysis_detector
from detector.evaluation.labels import load_labels, resolve
from detector.media.concat import Part, concat_remux
from detector.pipeline import AnalyzeOptions, analyze
from detector.scene import load_scene
from detector.segments import plan_segments, required_preroll

pytestmark = pytest.mark.integration

DEV_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "dev-set"


def _key(case: dict) -> tuple:
    return case["rule"], case["zone"], case["decided_s"], case["object_class"]


def _looped(video: Path, scene: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The clip twice over by stream copy, judged with 1 s wrong-way windows (pre-roll 8 s, so the
    last segment really starts reading part-way through)."""
    looped = tmp_path / "looped.mp4"
    concat_remux([Part(video, probe(video).duration_s)] * 2, looped)
    doc = yaml.safe_load(scene.read_text(encoding="utf-8"))
    for zone in doc["zones"]:
        zone["window_s"] = 1.0
    short = tmp_path / "short-windows.scene.yaml"
    short.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return looped, short


@pytest.mark.parametrize("clip, segment_s, fps, regions",
                         [("beijing-overpass-drill", 5.0, 5.0, "off"), ("beijing-stopped", 4.0, 5.0, "zones")])
def test_segments_give_the_cases_of_the_whole_source_once(clip, segment_s, fps, regions, tmp_path):
    labels, base = load_labels(DEV_SET / f"{clip}.labels.json")
    video, scene = resolve(base, labels.video), resolve(base, labels.scene)
    if not video.is_file():
        pytest.fail(f"footage missing: {video} (../shared must sit beside the checkout)")
    if clip == "beijing-overpass-drill":
        video, scene = _looped(video, scene, tmp_path)
    detector = load_analysis_detector(None, conf=AnalyzeOptions.conf)
    whole = analyze(video, scene, tmp_path / "whole", AnalyzeOptions(evidence=False, analysis_fps=fps, regions=regions),
                    detector=detector)
    spans = plan_segments(probe(video).duration_s, segment_s)
    assert len(spans) >= 2
    if clip == "beijing-overpass-drill":  # a segment that starts reading part-way: its sway anchor is not its first frame
        assert spans[-1].start > required_preroll(load_scene(scene))
    parts = []
    for i, span in enumerate(spans):
        out = tmp_path / f"segment-{i}"
        result = analyze(video, scene, out, AnalyzeOptions(evidence=False, analysis_fps=fps, regions=regions,
                                                       span=(span.start, span.end)),
                         detector=detector)
        assert all(span.owns(c["decided_s"], last=i == len(spans) - 1) for c in result.cases)
        assert json.loads((out / "analysis.json").read_text())["span"] == span.as_list()
        parts += result.cases
    assert len(whole.cases) >= 4
    assert any(c["decided_s"] >= spans[1].start for c in whole.cases)  # a case after the first boundary
    assert sorted(map(_key, parts)) == sorted(map(_key, whole.cases))
