"""Label files written for earlier versions, or by hand with fewer fields, keep scoring as they did;
a key that is no field of the format still loads (labels made elsewhere keep working) but is named
on stderr, so a typo (``optinal``, ``tolerence_s``) does not silently score with the default."""

from __future__ import annotations

import json

import pytest

from civicwatch.cli import main
from detector.evaluation.labels import LabelError, load_labels

EV = {"rule": "wrong_way", "zone": "lane", "t0": 2.5, "t1": 3.5}
# Every field the format has, as the dev set's label files (benchmarks/dev-set/*.labels.json) give them.
FULL = {"video": "v.mp4", "scene": "s.scene.yaml", "tolerance_s": 1.5, "how": "by eye",
        "events": [{**EV, "optional": False, "at": [3.0, 412, 260], "note": "scooter"}], "not_violations": "none"}


def _run(tmp_path, cases):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "cases.json").write_text(json.dumps(cases))
    return run


def _case(start):
    return {"id": f"c{start}", "rule": "wrong_way", "zone": "lane", "start_s": start, "end_s": start + 1,
            "offender_track": [{"t": 3.0, "box": [400, 180, 424, 260]}], "key_frame": {"t": 3.0},
            "key_box": [400, 180, 424, 260]}


def test_a_minimal_label_file_takes_the_documented_defaults(tmp_path, capsys):
    lab = tmp_path / "old.labels.json"
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": [EV]}))  # no tolerance_s, how, at, ...
    labels, _ = load_labels(lab)
    assert (labels.tolerance_s, labels.how, labels.not_violations, labels.ignored) == (1.5, "", "", ())
    assert (labels.events[0].optional, labels.events[0].at, labels.events[0].note) == (False, None, "")
    assert main(["eval", "cases", str(_run(tmp_path, [_case(4.9)])), str(lab), "--json"]) == 0  # 3.5 + 1.5
    out = capsys.readouterr()
    assert json.loads(out.out)["total"]["matched"] == 1 and out.err == ""


def test_a_complete_label_file_loads_without_a_warning(tmp_path, capsys):
    lab = tmp_path / "full.labels.json"
    lab.write_text(json.dumps(FULL))
    assert load_labels(lab)[0].ignored == ()
    assert main(["eval", "cases", str(_run(tmp_path, [_case(3.0)])), str(lab)]) == 0
    assert capsys.readouterr().err == ""


def test_unknown_keys_still_load_but_are_named_with_the_field_meant(tmp_path, capsys):
    lab = tmp_path / "typo.labels.json"
    lab.write_text(json.dumps({**FULL, "tolerence_s": 5, "labeller": "wang",
                               "events": [{**EV, "optinal": True, "frame": 75}, {**EV, "t0": 9, "t1": 9, "frame": 270}]}))
    labels, _ = load_labels(lab)
    assert labels.tolerance_s == 1.5 and not labels.events[0].optional  # ignored, as before
    assert labels.ignored == ("tolerence_s (did you mean tolerance_s?)", "labeller",
                              "events[0].optinal (did you mean optional?)", "events[].frame (2 events)")
    assert main(["eval", "cases", str(_run(tmp_path, [_case(3.0)])), str(lab)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "typo.labels.json: unknown field(s) ignored: tolerence_s (did you mean " \
                                    "tolerance_s?), labeller, events[0].optinal (did you mean optional?)" in err


SCENE = """\
camera: cam
frame_size: [960, 540]
zones:
  - {name: near-lanes, kind: lane, polygon: [[150, 300], [560, 300], [560, 540], [150, 540]], direction: [[350, 520], [350, 320]]}
  - {name: junction-box, kind: no_parking, polygon: [[420, 180], [900, 180], [900, 360], [420, 360]]}
"""


def test_events_no_case_of_the_labels_scene_can_match_are_named(tmp_path, capsys):
    # A zone renamed in the scene after the labels were made (or a typo in either) made every such
    # event a miss with nothing said; a rule the zone's kind is not judged by, likewise.
    (tmp_path / "s.scene.yaml").write_text(SCENE)
    lab = tmp_path / "s.labels.json"
    events = [{**EV, "zone": "near-lanes"}, {**EV, "zone": "junction_box", "rule": "illegal_parking"},
              {**EV, "zone": "junction_box", "rule": "illegal_parking", "t0": 9, "t1": 9},
              {**EV, "zone": "junction-box"}]
    lab.write_text(json.dumps({**FULL, "scene": "s.scene.yaml", "events": events}))
    run = _run(tmp_path, [])
    assert main(["eval", "cases", str(run), str(lab)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s.labels.json against its scene s.scene.yaml: " in err
    assert "events[1, 2].zone: 'junction_box' is no zone of the scene (did you mean 'junction-box'?)" in err
    assert "events[3].rule: wrong_way is not judged in no_parking zone 'junction-box' (its rule is illegal_parking)" in err
    assert "events[0]" not in err
    lab.write_text(json.dumps({**FULL, "scene": "s.scene.yaml", "events": events[:1]}))
    assert main(["eval", "cases", str(run), str(lab)]) == 0
    assert capsys.readouterr().err == ""
    (tmp_path / "s.scene.yaml").write_text(SCENE.replace("direction", "directon"))
    assert main(["eval", "cases", str(run), str(lab)]) == 0  # scoring does not need the scene
    assert "zones not checked: s.scene.yaml: zones[0].direction: Field required" in capsys.readouterr().err


def test_null_for_an_optional_field_is_its_default_and_for_a_required_one_is_named(tmp_path):
    # JSON written from a missing value ("note": null) was refused ("Input should be a valid string").
    lab = tmp_path / "nulls.labels.json"
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "tolerance_s": None, "how": None,
                               "not_violations": None, "events": [{**EV, "optional": None, "at": None, "note": None}]}))
    labels, _ = load_labels(lab)
    assert (labels.tolerance_s, labels.how, labels.not_violations) == (1.5, "", "")
    assert (labels.events[0].optional, labels.events[0].at, labels.events[0].note) == (False, None, "")
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": None}))
    assert load_labels(lab)[0].events == []
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": [{**EV, "zone": None}]}))
    with pytest.raises(LabelError, match=r"nulls\.labels\.json: events\.0\.zone: Input should be a valid string"):
        load_labels(lab)


def test_a_label_file_saved_with_a_byte_order_mark_loads(tmp_path, capsys):
    # Windows Notepad and PowerShell 5's "Out-File -Encoding utf8" start UTF-8 files with a BOM;
    # it was refused ("not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)").
    lab = tmp_path / "bom.labels.json"
    lab.write_bytes(b"\xef\xbb\xbf" + json.dumps(FULL).encode("utf-8"))
    assert load_labels(lab)[0].events[0].note == "scooter"
    assert main(["eval", "cases", str(_run(tmp_path, [_case(3.0)])), str(lab), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["matched"] == 1
