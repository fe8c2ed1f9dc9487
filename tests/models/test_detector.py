"""load_detector's model choices and the real default model on real footage."""

from __future__ import annotations

import os
import sys

import av
import cv2
import numpy as np
import pytest

from detector.detect import DetectorError, load_detector
from detector.models.nms import box_iou
from detector.models.paths import MODELS_DIR_ENV


def test_default_model_comes_from_the_models_dir(converted_model, monkeypatch):
    monkeypatch.setenv(MODELS_DIR_ENV, str(converted_model.parent.parent))
    det = load_detector()
    assert det.model_path == converted_model
    assert det.name == "yolov3-tiny-coco"
    assert det.input_size == (416, 416)
    assert det.class_names[0] == "person" and det.class_names[3] == "motorcycle"
    assert det.session.get_session_options().intra_op_num_threads == len(os.sched_getaffinity(0))
    assert load_detector(str(converted_model), threads=1).session.get_session_options().intra_op_num_threads == 1


def test_pt_weights_need_the_ultralytics_extra(tmp_path, monkeypatch):
    weights = tmp_path / "yolo11n.pt"
    weights.write_bytes(b"not really weights")
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # as if the extra were not installed
    with pytest.raises(DetectorError, match=r"civicwatch\[ultralytics\]"):
        load_detector(str(weights))


def test_bad_model_paths_are_refused(tmp_path):
    with pytest.raises(DetectorError, match="not found"):
        load_detector(str(tmp_path / "missing.onnx"))
    (tmp_path / "model.tflite").write_bytes(b"x")
    with pytest.raises(DetectorError, match="unsupported"):
        load_detector(str(tmp_path / "model.tflite"))
    (tmp_path / "broken.onnx").write_bytes(b"x")
    with pytest.raises(DetectorError, match="cannot load"):
        load_detector(str(tmp_path / "broken.onnx"))


def test_detect_refuses_non_bgr_frames(default_detector):
    with pytest.raises(ValueError, match="BGR"):
        default_detector.detect(np.zeros((10, 10), np.uint8))


def _best_iou(boxes: np.ndarray, reference: list[float]) -> float:
    return float(box_iou(np.array(reference, np.float32), boxes).max()) if len(boxes) else 0.0


@pytest.mark.integration
def test_cars_at_the_beijing_intersection(default_detector, footage_dir):
    with av.open(str(footage_dir / "beijing-intersection" / "uadetrac_overpass.mp4")) as container:
        frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 30).to_ndarray(format="bgr24")
    det = default_detector.detect(frame)
    cars = det.subset(np.array([n == "car" for n in det.names()], bool))
    assert len(cars) >= 5
    w, h = cars.xyxy[:, 2] - cars.xyxy[:, 0], cars.xyxy[:, 3] - cars.xyxy[:, 1]
    assert (w > 15).all() and (w < 250).all() and (h > 15).all() and (h < 250).all()
    # the taxi in the near lanes, boxed by hand on this frame
    assert _best_iou(cars.xyxy, [211, 349, 304, 450]) > 0.6


@pytest.mark.integration
def test_people_on_the_lawn(default_detector, footage_dir):
    frame = cv2.imread(str(footage_dir / "litter" / "cctv_lawn_test1.jpg"))
    det = default_detector.detect(frame)
    people = det.subset(np.array([n == "person" for n in det.names()], bool))
    # the two people in the photo, boxed by hand; nothing else in it is a person
    assert len(people) == 2
    assert _best_iou(people.xyxy, [252, 506, 556, 1010]) > 0.6
    assert _best_iou(people.xyxy, [994, 200, 1204, 626]) > 0.6
    assert (people.confidence > 0.5).all()


def test_models_are_loaded_by_name(converted_model, converted_608, nanodet_model, monkeypatch, tmp_path):
    import shutil

    from detector.models.fetch import named_models

    cache = tmp_path / "cache"
    cache.mkdir()
    for path in (converted_model, converted_608, nanodet_model):
        shutil.copy(path, cache / path.name)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    named = named_models()
    for name, size in (("yolov3-tiny-coco", 416), ("yolov3-tiny-coco-608", 608), ("nanodet", 416)):
        det = load_detector(name)  # cached: nothing is fetched
        assert (det.name, det.input_size, det.model_path) == (name, (size, size), cache / named[name].cache_file)
    with pytest.raises(DetectorError, match="model names: yolov3-tiny-coco, yolov3-tiny-coco-608"):
        load_detector("yolov3-tiny")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nanodet").write_bytes(b"x")  # an existing file is a path, not a name
    with pytest.raises(DetectorError, match="unsupported"):
        load_detector("nanodet")
