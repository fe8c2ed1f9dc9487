"""The real default detector finds the composed people and vehicles where the recipe put them."""

from __future__ import annotations

import av
import pytest

from civicwatch.demo import DEFAULT_BUILD_DIR, load_sprites
from civicwatch.demo.compose import Composer
from civicwatch.demo.photos import ensure_photos
from civicwatch.demo.recipe import load_recipe

pytestmark = pytest.mark.integration

# (time, actor, classes that count as finding it)
CHECKS = [
    (2.0, "ped_green_crossing", {"person"}),
    (20.0, "ped_red_light", {"person"}),
    (10.0, "ped_stands_in_plaza", {"person"}),
    (20.0, "car_parks", {"car", "truck"}),
    (27.0, "bike_wrong_way", {"bicycle", "motorcycle"}),
]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def detector():
    from detector.detect import load_detector

    return load_detector()


@pytest.fixture(scope="module")
def frames(demo_footage):
    fps = load_recipe().video.fps
    wanted = {round(t * fps) for t, _, _ in CHECKS}
    out = {}
    with av.open(str(demo_footage.video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="bgr24")
    return out


@pytest.fixture(scope="module")
def composer():
    recipe = load_recipe()
    return Composer(recipe, load_sprites(recipe, ensure_photos(DEFAULT_BUILD_DIR / "photos", recipe.source)))


@pytest.mark.parametrize("t,actor,classes", CHECKS, ids=[f"{a}@{t}" for t, a, _ in CHECKS])
def test_detector_finds_the_actor(detector, frames, composer, t, actor, classes):
    fps = composer.recipe.video.fps
    (placement,) = [p for p in composer.placements(round(t * fps) / fps) if p.name == actor]
    dets = detector.detect(frames[round(t * fps)])
    found = [
        (name, float(conf), _iou(box, placement.box))
        for name, conf, box in zip(dets.names(), dets.confidence, dets.xyxy.tolist())
        if name in classes
    ]
    best = max((iou for _, _, iou in found), default=0.0)
    assert best > 0.4, f"{actor} at {placement.box}: detections {found}"
