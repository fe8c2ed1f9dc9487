"""Detector scoring: IoU matching, AP, size buckets, class maps, both label formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detector.evaluation.detections import (
    ClassMap, DetectionLabelError, GroundTruth, LabelledImage, average_precision, evaluate_detections,
    format_detection_report, read_voc, read_yolo, size_bucket,
)
from detector.types import Detections

NAMES = {0: "person", 2: "car"}


def dets(rows):
    a = np.array([r[:4] for r in rows], np.float32).reshape(-1, 4)
    return Detections(a, np.array([r[4] for r in rows], np.float32), np.array([r[5] for r in rows], np.int64), NAMES)


def test_size_buckets_follow_coco():
    assert size_bucket(20, 40) == "small" and size_bucket(40, 40) == "medium" and size_bucket(100, 100) == "large"


def test_recall_precision_ap_and_sizes():
    truths = [GroundTruth((10, 10, 30, 50), "pedestrian", "person"),   # small (sqrt 800 = 28)
              GroundTruth((100, 100, 200, 300), "rider", "person"),    # large
              GroundTruth((300, 300, 360, 340), "car", "car")]
    image = LabelledImage("x", np.zeros((400, 400, 3), np.uint8), truths)
    found = dets([(101, 102, 199, 298, 0.9, 0),   # rider found
                  (12, 11, 31, 49, 0.2, 0),       # pedestrian only below the operating threshold
                  (0, 0, 5, 5, 0.8, 0),           # false person
                  (300, 300, 360, 340, 0.7, 2)])  # car
    ev = evaluate_detections([image], lambda _: found, conf=0.3)
    person = ev.per_target["person"]
    assert (person.truths, person.true_positives, person.predictions) == (2, 1, 2)
    assert person.by_size["small"].recall == 0.0 and person.by_size["large"].recall == 1.0
    assert ev.per_label["rider"]["all"].recall == 1.0 and ev.per_label["pedestrian"]["all"].recall == 0.0
    # AP over all scores: 0.9 TP, 0.8 FP, 0.2 TP -> 0.5 * 1.0 + 0.5 * 2/3
    assert person.ap50 == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert ev.per_target["car"].ap50 == pytest.approx(1.0)


def test_ap_is_zero_without_predictions_and_none_without_truths():
    assert average_precision([], 3) == 0.0 and average_precision([], 0) is None


def test_yolo_and_voc_readers_with_a_class_map(tmp_path):
    cmap = ClassMap(("pedestrian", "people", "tricycle"), {"pedestrian": "person", "people": "person"})
    y = tmp_path / "a.txt"
    y.write_text("0 0.5 0.5 0.1 0.2\n2 0.1 0.1 0.1 0.1\n1 0.25 0.25 0.1 0.1\n")
    gts = read_yolo(y, 200, 100, cmap)
    assert [g.label for g in gts] == ["pedestrian", "people"]  # tricycle is not scored
    assert gts[0].box == pytest.approx((90, 40, 110, 60))
    v = tmp_path / "a.xml"
    v.write_text("<annotation><object><name>pedestrian</name><bndbox><xmin>1</xmin><ymin>2</ymin>"
                 "<xmax>11</xmax><ymax>22</ymax></bndbox></object></annotation>")
    assert read_voc(v, cmap)[0].box == (1.0, 2.0, 11.0, 22.0)


@pytest.mark.parametrize("line, expected", [
    ("0 412 260 30 80", r"a.txt:1: cx cy w h are shares of the image .* \(pixels\?\)"),  # pixels in a YOLO file
    ("0 0.5 0.5 0 0.2", r"a.txt:1: cx cy w h are shares of the image \(0 to 1, w and h above 0\)"),
])
def test_yolo_boxes_outside_the_image_are_refused(tmp_path, line, expected):
    """Were scored as boxes far outside the picture: every one a silent miss."""
    (tmp_path / "a.txt").write_text(line + "\n")
    with pytest.raises(DetectionLabelError, match=expected):
        read_yolo(tmp_path / "a.txt", 200, 100, ClassMap.identity(["person"]))
    (tmp_path / "a.txt").write_text("0 0.5 1.004 0.3 0.2\n")  # rounding at the edge is fine
    assert len(read_yolo(tmp_path / "a.txt", 200, 100, ClassMap.identity(["person"]))) == 1


def test_voc_box_that_is_not_a_number_is_named(tmp_path):
    v = tmp_path / "a.xml"
    v.write_text("<annotation><object><name>person</name><bndbox><xmin>1</xmin><ymin>two</ymin>"
                 "<xmax>11</xmax><ymax>22</ymax></bndbox></object></annotation>")
    with pytest.raises(DetectionLabelError, match=r"a.xml: bndbox of a 'person' must hold numbers"):
        read_voc(v, ClassMap.identity(["person"]))


def test_unreadable_detection_labels_exit_2_naming_the_file(tmp_path, capsys):
    from civicwatch.cli import main

    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    (labels / "a.txt").write_text("0 0.5 x 0.1 0.2\n")
    with pytest.raises(DetectionLabelError, match=r"a.txt:1: cx cy w h must be numbers"):
        read_yolo(labels / "a.txt", 200, 100, ClassMap.identity(["person"]))
    runs = (
        (["--images", str(tmp_path / "nowhere"), "--labels", str(labels)], "no such folder"),
        (["--images", str(labels / "a.txt"), "--labels", str(labels)], "a.txt: not a folder"),
        (["--images", str(images), "--labels", str(labels), "--tiles", "3by3"], "--tiles: tiles must be"),
    )
    for args, expected in runs:
        assert main(["eval", "detections", *args]) == 2
        assert expected in capsys.readouterr().err
    frames = tmp_path / "frames.json"
    for spec in ([1], {"frames": [{"name": "a"}]}, {"frames": []}):
        frames.write_text(json.dumps(spec))
        assert main(["eval", "detections", "--frames", str(frames)]) == 2
        assert "frames.json: " in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse refuses it: exit 2
        main(["eval", "detections", "--frames", str(frames), "--conf", "nan"])
    assert stop.value.code == 2


def test_a_class_map_that_is_no_text_exits_2_naming_it(tmp_path, capsys):
    """A video or an image given as --class-map was a UnicodeDecodeError traceback."""
    from civicwatch.cli import main

    images, labels, cmap = tmp_path / "images", tmp_path / "labels", tmp_path / "classes.yaml"
    images.mkdir()
    labels.mkdir()
    cmap.write_bytes(b"\x00\x00\x00\x18ftypmp42\x94\xff")
    with pytest.raises(DetectionLabelError, match=r"classes\.yaml: not a UTF-8 text file \(byte 12\)"):
        ClassMap.load(cmap)
    assert main(["eval", "detections", "--images", str(images), "--labels", str(labels), "--class-map", str(cmap)]) == 2
    err = capsys.readouterr().err
    assert "classes.yaml: not a UTF-8 text file" in err and "Traceback" not in err


def test_a_class_map_names_its_yolo_ids_as_a_list_or_as_ultralytics_numbered_mapping(tmp_path):
    """``names: {0: pedestrian, 1: people}`` (Ultralytics' data.yaml form) was read as the names
    "0", "1": no label matched the map and every box went unscored without a word."""
    cmap = tmp_path / "classes.yaml"
    labels = tmp_path / "a.txt"
    labels.write_text("0 0.5 0.5 0.1 0.2\n1 0.25 0.25 0.1 0.1\n2 0.1 0.1 0.1 0.1\n")
    for names in ("[pedestrian, people, tricycle]", "{0: pedestrian, 1: people, 2: tricycle}",
                  "{2: tricycle, 0: pedestrian, 1: people}"):
        cmap.write_text(f"names: {names}\nmap: {{pedestrian: person, people: person}}\n")
        loaded = ClassMap.load(cmap)
        assert loaded.names == ("pedestrian", "people", "tricycle")
        assert [g.label for g in read_yolo(labels, 200, 100, loaded)] == ["pedestrian", "people"]
    for names, expected in (("{1: pedestrian, 2: people}", "names as a mapping must number the classes 0, 1, 2"),
                            ("pedestrian", "names must be a list of class names")):
        cmap.write_text(f"names: {names}\nmap: {{pedestrian: person}}\n")
        with pytest.raises(DetectionLabelError, match=expected):
            ClassMap.load(cmap)


def test_recall_and_precision_at_another_overlap_tell_a_box_in_the_wrong_place_from_a_miss(capsys):
    """A walker 20 px tall found with a box 4 px too low (IoU 0.67) and one found 8 px too low
    (IoU 0.43): at the issue's 0.5 one of them is missed; at 0.4 both are found. AP stays AP50."""
    truths = [GroundTruth((10, 10, 20, 30), "pedestrian", "person"), GroundTruth((60, 10, 70, 30), "pedestrian", "person")]
    image = LabelledImage("x", np.zeros((100, 100, 3), np.uint8), truths)
    found = dets([(10, 14, 20, 34, 0.9, 0), (60, 18, 70, 38, 0.8, 0)])
    at_half = evaluate_detections([image], lambda _: found, conf=0.3)
    at_04 = evaluate_detections([image], lambda _: found, conf=0.3, iou=0.4)
    assert at_half.per_target["person"].recall == 0.5 and at_04.per_target["person"].recall == 1.0
    assert at_half.per_target["person"].ap50 == at_04.per_target["person"].ap50 == pytest.approx(0.5)
    assert at_04.to_dict()["iou"] == 0.4 and "at IoU 0.4" in format_detection_report(at_04)
    from civicwatch.cli import main

    for bad in ("0", "1.5", "nan"):
        with pytest.raises(SystemExit) as stop:  # argparse refuses it: exit 2, naming the option
            main(["eval", "detections", "--frames", "f.json", "--iou", bad])
        assert stop.value.code == 2 and "--iou" in capsys.readouterr().err
