"""Flight metadata: what a recording says of itself (when, where, with what), the start time it
gives drone cases, and its place in the evidence record.

The tagged file is real footage (the Beijing overpass clip) remuxed at test time with the tags a
drone writes (``tagged_flight``); the phone clip from Hanoi carries its own GPS location.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detector.decode import probe
from detector.evidence.manifest import write_manifest
from detector.evidence.writer import flight_record, write_cases
from detector.media.metadata import (
    from_tags,
    identifying_tags,
    location_tags,
    parse_creation_time,
    parse_iso6709,
    parse_location,
    read_metadata,
)
from detector.pipeline import AnalyzeOptions, wall_clock_start

from .helpers import make_event, make_logs, make_scene

FLIGHT_START = datetime(2024, 5, 1, 1, 30, tzinfo=UTC)  # FLIGHT_TAGS' creation_time
PHONE_CLIP = Path(__file__).resolve().parents[2].parent / "shared" / "footage-more" / "litter" / "di_bo_17.mp4"
SHORT_CLIP = "beijing-intersection/uadetrac_overpass_short.mp4"


def test_a_tagged_real_file_says_when_where_and_with_what(tagged_flight):
    meta = read_metadata(tagged_flight)
    assert meta.creation_time == FLIGHT_START
    assert meta.creation_time_raw == "2024-05-01T01:30:00.000000Z"
    loc = meta.location
    assert (loc.tag, loc.lat, loc.lon, loc.alt_m) == ("location", 22.5431, 114.0579, 85.0)
    assert loc.raw.startswith("+22.5431+114.0579+85") and loc.raw.endswith("/")  # FFmpeg rewrites the altitude
    assert (meta.make, meta.model, meta.serial) == ("DJI", "Mavic 3", None)
    record = meta.as_record()
    assert json.loads(json.dumps(record)) == record  # plain JSON for case.json and the manifest
    assert record["creation_time"] == "2024-05-01T01:30:00+00:00"
    assert location_tags(tagged_flight) == ["com.apple.quicktime.location.iso6709", "location", "location-eng"]
    assert {"creation_time", "make", "model"} <= set(identifying_tags(tagged_flight))


def test_a_phone_clip_with_its_own_gps_is_read():
    if not PHONE_CLIP.is_file():
        pytest.skip(f"{PHONE_CLIP} is not beside the checkout")
    meta = read_metadata(PHONE_CLIP)
    assert (meta.location.lat, meta.location.lon, meta.location.alt_m) == (21.0033, 105.8433, None)
    assert meta.creation_time == datetime(2026, 4, 23, 5, 9, 45, tzinfo=UTC)
    assert (meta.make, meta.model) == ("Xiaomi", "24117RN76O")


def test_a_file_that_says_nothing_reads_empty(footage_dir, tmp_path):
    empty = {"creation_time": None, "creation_time_raw": None, "location": None, "make": None, "model": None,
             "serial": None}
    assert read_metadata(footage_dir / SHORT_CLIP).as_record() == empty
    assert identifying_tags(footage_dir / SHORT_CLIP) == []
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    assert read_metadata(not_video).as_record() == empty  # the decoder reports that; this never raises
    assert read_metadata(tmp_path / "missing.mp4").as_record() == empty


@pytest.mark.parametrize("raw, want", [
    ("+22.5431+114.0579+085.000/", (22.5431, 114.0579, 85.0)),
    ("+21.0033+105.8433/", (21.0033, 105.8433, None)),
    ("+40.6894-074.0447+010.000CRSWGS_84/", (40.6894, -74.0447, 10.0)),
    ("-33.8568+151.2153", (-33.8568, 151.2153, None)),  # no closing solidus
    ("+4.5-74.1/", (4.5, -74.1, None)),  # zero padding dropped
    ("+4042-07400/", (40.7, -74.0, None)),  # degrees and minutes
    ("+404230-0740012.5/", (40 + 42 / 60 + 30 / 3600, -(74 + 0 / 60 + 12.5 / 3600), None)),  # and seconds
])
def test_iso6709_points(raw, want):
    got = parse_iso6709(raw)
    assert got is not None and got[2] == want[2]
    assert got[0] == pytest.approx(want[0], abs=1e-9) and got[1] == pytest.approx(want[1], abs=1e-9)


@pytest.mark.parametrize("raw", ["+95.0+10.0/", "+10.0+190.0/", "22.5, 114.0", "+22.5/", "+1234567+10/", "", "  "])
def test_what_is_not_a_point_on_the_globe_gives_none(raw):
    assert parse_iso6709(raw) is None


def test_bad_values_give_none_and_keep_the_raw_text():
    for value in ("1904-01-01T00:00:00.000000Z", "1970-01-01T00:00:00Z", "2024-05-01 01:30:00", "yesterday", "",
                  None, 42):
        assert parse_creation_time(value) is None, value
    assert parse_creation_time("2024-05-01T09:30:00+08:00") == FLIGHT_START
    unreadable = parse_location("somewhere over the rainbow", "location")
    assert (unreadable.raw, unreadable.lat, unreadable.lon, unreadable.alt_m) == ("somewhere over the rainbow",
                                                                                  None, None, None)
    assert parse_location("", "location") is None and parse_location(None, "location") is None
    meta = from_tags({"creation_time": "0000-00-00", "location": "+999+999/", "make": "x\x00y", "model": " "})
    assert meta.creation_time is None and meta.creation_time_raw == "0000-00-00"
    assert meta.location.raw == "+999+999/" and meta.location.lat is None
    assert meta.make is None and meta.model is None
    assert from_tags({"com.apple.quicktime.location.iso6709": "+1+2/"}).location.tag == \
        "com.apple.quicktime.location.iso6709"


def test_drone_flights_take_their_start_from_the_upload_then_the_file_then_the_scene(tagged_flight):
    info = probe(tagged_flight)
    assert info.creation_time == "2024-05-01T01:30:00.000000Z"
    given = datetime(2024, 6, 2, 7, 30, tzinfo=UTC)
    drone = make_scene(kind="drone")  # start_time 2024-05-01T08:00+08:00: the place's, not this flight's
    assert wall_clock_start(drone, info, AnalyzeOptions(start_time=given, start_time_overrides_scene=True)) == \
        (given, "upload")
    assert wall_clock_start(drone, info, AnalyzeOptions(start_time=given)) == (given, "upload")
    assert wall_clock_start(drone, info, AnalyzeOptions()) == (FLIGHT_START, "container")
    never_set = replace(info, creation_time="1904-01-01T00:00:00.000000Z")
    assert wall_clock_start(drone, never_set, AnalyzeOptions()) == (drone.start_time, "scene")
    assert wall_clock_start(make_scene(kind="drone", start_time=None), replace(info, creation_time=None),
                            AnalyzeOptions()) == (None, None)
    # Fixed cameras as before: the scene's start_time beats the file's, the file fills in without one.
    fixed = make_scene()
    assert wall_clock_start(fixed, info, AnalyzeOptions()) == (fixed.start_time, "scene")
    assert wall_clock_start(fixed, info, AnalyzeOptions(start_time=given)) == (fixed.start_time, "scene")
    assert wall_clock_start(fixed, info, AnalyzeOptions(start_time=given, start_time_overrides_scene=True)) == \
        (given, "upload")
    assert wall_clock_start(make_scene(start_time=None), info, AnalyzeOptions()) == (FLIGHT_START, "container")


def test_the_evidence_record_keeps_who_flew_it_and_where(tagged_flight, tmp_path):
    """case.json, cases.json and the manifest (which the signature covers) hold the drone id, the
    pilot and the file's GPS location; the case times count from the file's creation_time."""
    scene = make_scene(kind="drone", start_time=FLIGHT_START)  # as the pipeline hands it on
    tracks, signals = make_logs()
    out = tmp_path / "run"
    [case] = write_cases(source=tagged_flight, scene=scene, events=[make_event()], track_log=tracks,
                         signal_log=signals, out_dir=out, pre=0.3, post=0.3, clock_source="container",
                         flight=flight_record("DJI-M30-07", "王伟"))
    assert case["flight"] == {"drone_id": "DJI-M30-07", "pilot": "王伟"}
    assert case["clock"]["source"] == "container"
    assert datetime.fromisoformat(case["start_time"]) == FLIGHT_START + timedelta(seconds=1.2)
    on_disk = json.loads((out / case["evidence"]["case"]).read_text(encoding="utf-8"))
    assert on_disk["flight"] == case["flight"]
    assert on_disk["source_metadata"]["location"] == {"raw": case["source_metadata"]["location"]["raw"],
                                                      "tag": "location", "lat": 22.5431, "lon": 114.0579,
                                                      "alt_m": 85.0}
    assert on_disk["source_metadata"]["make"] == "DJI"
    assert json.loads((out / "cases.json").read_text(encoding="utf-8"))[0]["source_metadata"]["location"]["lat"] == \
        22.5431
    write_manifest(out, source=tagged_flight, scene_path=tagged_flight, model_path=None, software_version="test")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["source"]["metadata"]["location"]["lon"] == 114.0579
    assert manifest["inputs"]["source"]["metadata"]["creation_time"] == "2024-05-01T01:30:00+00:00"


def test_no_flight_record_without_a_drone_id_or_pilot():
    assert flight_record(None, None) is None and flight_record("", "") is None
    assert flight_record(None, "李娜") == {"drone_id": None, "pilot": "李娜"}
