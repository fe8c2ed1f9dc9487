"""Case scoring: rule + zone + start window, the offender's place, one case per event, optional events."""

from __future__ import annotations

import json

import pytest

from civicwatch.cli import main
from detector.evaluation.cases import evaluate_cases
from detector.evaluation.labels import CaseLabels, LabelError, load_labels


def case(cid, rule="red_light_pedestrian", zone="cw", start=3.0, box=(400, 180, 424, 260), t=3.0):
    return {"id": cid, "rule": rule, "zone": zone, "start_s": start, "end_s": start + 2,
            "offender_track": [{"t": t, "track_id": 1, "box": list(box)}], "key_box": list(box),
            "key_frame": {"t": t}}


def labels(*events, tol=1.5):
    return CaseLabels.model_validate({"video": "v.mp4", "scene": "s.yaml", "tolerance_s": tol, "events": list(events)})


EV = {"rule": "red_light_pedestrian", "zone": "cw", "t0": 2.5, "t1": 3.5}


def test_a_case_starting_in_the_window_matches_and_scores_one():
    r = evaluate_cases(labels(EV), [case("a", start=4.9)])
    s = r.per_rule["red_light_pedestrian"]
    assert (s.events, s.cases, s.matched, s.precision, s.recall) == (1, 1, 1, 1.0, 1.0)


def test_start_outside_window_rule_or_zone_mismatch_is_a_miss_and_a_false_case():
    for c in (case("a", start=5.1), case("a", start=0.9), case("a", zone="other"), case("a", rule="wrong_way")):
        r = evaluate_cases(labels(EV), [c])
        assert r.total.matched == 0 and len(r.misses) == 1 and len(r.false_cases) == 1, c


def test_offender_must_be_near_the_labelled_ground_point():
    ev = {**EV, "at": [3.0, 412, 260]}
    near = case("a", box=(400, 180, 424, 260))  # ground point (412, 260): exact
    far = case("b", box=(600, 180, 624, 260))  # 188 px away, box 80 px tall: > 1.5 heights
    assert evaluate_cases(labels(ev), [near]).total.matched == 1
    r = evaluate_cases(labels(ev), [far])
    assert r.total.matched == 0 and r.false_cases[0]["id"] == "b"


def test_a_duplicate_case_counts_against_precision():
    r = evaluate_cases(labels(EV), [case("a"), case("b", start=3.2)])
    s = r.per_rule["red_light_pedestrian"]
    assert (s.cases, s.matched, s.precision, s.recall) == (2, 1, 0.5, 1.0)


def test_matching_is_maximal_not_greedy():
    # Case x fits both events, case y only the first: greedy (x to the first) would miss one.
    e1 = {**EV, "t0": 3.0, "t1": 3.0}  # window 2.0..4.0
    e2 = {**EV, "t0": 4.8, "t1": 4.8}  # window 3.8..5.8
    r = evaluate_cases(labels(e1, e2, tol=1.0), [case("x", start=3.9), case("y", start=2.0)])
    assert r.total.matched == 2 and not r.false_cases


def test_optional_events_neither_help_nor_hurt():
    opt = {**EV, "optional": True}
    r = evaluate_cases(labels(opt), [case("a")])
    s = r.per_rule["red_light_pedestrian"]
    assert (s.events, s.cases, s.matched) == (0, 0, 0) and not r.false_cases and len(r.optional_matched) == 1
    r = evaluate_cases(labels(opt), [])
    assert r.total.events == 0 and not r.misses


def test_clean_negative_with_a_case_has_precision_zero():
    r = evaluate_cases(labels(), [case("a")])
    assert r.total.precision == 0.0 and r.total.recall is None


def test_label_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "l.json"
    bad.write_text(json.dumps({"video": "v", "scene": "s", "events": [{"rule": "speeding", "zone": "z", "t0": 1, "t1": 2}]}))
    with pytest.raises(LabelError, match="events.0.*unknown rule 'speeding'"):
        load_labels(bad)
    bad.write_text("{not json")
    with pytest.raises(LabelError, match="not valid JSON"):
        load_labels(bad)


def test_cli_prints_misses_and_false_cases_and_json(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "cases.json").write_text(json.dumps([case("far-case", start=9.0)]))
    lab = tmp_path / "l.json"
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": [{**EV, "note": "man in suit"}],
                               "extra_field_from_elsewhere": 1}))
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 0
    out = capsys.readouterr().out
    assert "MISS  red_light_pedestrian cw 2.5-3.5 s  man in suit" in out
    assert "FALSE red_light_pedestrian cw 9.0-11.0 s  case far-case" in out
    assert main(["eval", "cases", str(run_dir), str(lab), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["matched"] == 0 and data["total"]["precision"] == 0.0
    assert main(["eval", "cases", str(tmp_path / "nowhere"), str(lab)]) == 2


def test_malformed_cases_json_and_label_file_exit_2_naming_the_problem(tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    lab = tmp_path / "l.json"
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": [EV]}))
    for cases, expected in (([{"id": "c1"}], "[0]: missing field(s) rule, zone, start_s"),
                            ([3], "[0]: expected a case object, got int"),
                            ([case("c1"), {**case("c2"), "start_s": "soon"}], "[1] (case 'c2'): a field has the wrong form")):
        (run_dir / "cases.json").write_text(json.dumps(cases))
        assert main(["eval", "cases", str(run_dir), str(lab)]) == 2
        assert expected in capsys.readouterr().err
    (run_dir / "cases.json").write_text(json.dumps([case("c1")]))
    lab.write_bytes(b"\x00\x00\x00\x18ftypmp42\xf6\xff")  # a video given as the labels
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 2
    assert "l.json: not a UTF-8 text file" in capsys.readouterr().err
    # A large file is refused by its size, before it is read into memory (a 2 GB video was).
    lab.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    monkeypatch.setattr("detector.evaluation.labels.MAX_JSON_BYTES", 1024)
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 2
    assert "l.json: larger than 1024 bytes; expected label file as JSON (a video" in capsys.readouterr().err
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": [EV]}))
    (run_dir / "cases.json").write_bytes(b"[" + b" " * 2000 + b"]")
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 2
    assert "cases.json: larger than 1024 bytes; expected the analysis cases as JSON" in capsys.readouterr().err
    monkeypatch.undo()
    lab.write_text('{"video": "v", "scene": "s", "events": [{"rule": "wrong_way", "zone": "z", "t0": NaN, "t1": 2}]}')
    with pytest.raises(LabelError, match="events.0.t0: Input should be a finite number"):
        load_labels(lab)


def _run_of(tmp_path, source: bytes, name: str = "v.mp4"):
    """An analysis folder whose manifest records ``source`` as its video (size and SHA-256)."""
    import hashlib

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "cases.json").write_text(json.dumps([]))
    (run_dir / "manifest.json").write_text(json.dumps({"inputs": {"source": {
        "name": name, "size": len(source), "sha256": hashlib.sha256(source).hexdigest()}}}))
    return run_dir


def test_a_run_of_another_video_is_said(tmp_path, capsys):
    """A run scored against the labels of another clip got precision and recall with no word."""
    (tmp_path / "v.mp4").write_bytes(b"the labelled clip")
    (tmp_path / "s.yaml").write_text("camera: x\n")
    lab = tmp_path / "l.json"
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": []}))
    run_dir = _run_of(tmp_path, b"another clip", "other.mp4")
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 0
    err = capsys.readouterr().err
    assert "made from 'other.mp4', not from the labelled video v.mp4" in err
    (tmp_path / "v.mp4").write_bytes(b"another clip")  # now the same bytes: nothing to say
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 0
    assert "not from the labelled video" not in capsys.readouterr().err
    (tmp_path / "v.mp4").unlink()
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 0
    assert "labelled video v.mp4 is not there" in capsys.readouterr().err


def test_a_label_file_without_events_is_said(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "cases.json").write_text(json.dumps([]))
    for body in ({"video": "v.mp4", "scene": "s.yaml"}, {"video": "v.mp4", "scene": "s.yaml", "events": None}):
        lab = tmp_path / "l.json"
        lab.write_text(json.dumps(body))
        assert main(["eval", "cases", str(run_dir), str(lab)]) == 0
        err = capsys.readouterr().err
        assert "no events field" in err
    lab.write_text(json.dumps({"video": "v.mp4", "scene": "s.yaml", "events": []}))
    assert main(["eval", "cases", str(run_dir), str(lab)]) == 0
    assert "no events field" not in capsys.readouterr().err
