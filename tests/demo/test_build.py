"""The build: pinned photos, a decodable H.264 file of the recipe's size and length, the lamp."""

from __future__ import annotations

import shutil

import av
import numpy as np
import pytest

from civicwatch.demo import DEFAULT_BUILD_DIR, build_demo, load_sprites
from civicwatch.demo import photos as photos_mod
from civicwatch.demo.compose import Composer
from civicwatch.demo.photos import PhotoError, ensure_photos, sha256_file
from civicwatch.demo.recipe import load_recipe
from detector.scene import load_scene


def test_photos_match_their_pinned_hashes():
    recipe = load_recipe()
    photos = ensure_photos(DEFAULT_BUILD_DIR / "photos", recipe.source)
    assert set(photos) == set(recipe.source.members)
    for name, path in photos.items():
        assert sha256_file(path) == recipe.source.members[name].sha256


def test_a_photo_that_differs_from_its_pin_is_refused(tmp_path, monkeypatch):
    recipe = load_recipe()
    good = ensure_photos(DEFAULT_BUILD_DIR / "photos", recipe.source)
    cache = tmp_path / "photos"
    cache.mkdir()
    for name, path in good.items():
        shutil.copyfile(path, cache / name)
    (cache / "dog.jpg").write_bytes(b"not the pinned photo")
    # Stand-ins for the package fetch: a package whose member is not the pinned one.
    monkeypatch.setattr(photos_mod, "_copy_from_installed", lambda cache, source: False)
    monkeypatch.setattr(photos_mod, "_apt_download", lambda workdir, source: workdir / "fake.deb")
    monkeypatch.setattr(photos_mod, "_extract_members", lambda deb, cache, source: None)
    with pytest.raises(PhotoError, match="dog.jpg"):
        ensure_photos(cache, recipe.source)


def test_video_is_h264_of_the_recipe_size_and_length(demo_footage):
    recipe = load_recipe()
    with av.open(str(demo_footage.video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == tuple(recipe.video.size)
        assert stream.codec_context.pix_fmt == "yuv420p"
        times = [float(f.time) for f in container.decode(stream)]
    assert len(times) == recipe.video.frame_count
    assert times == sorted(times)
    duration = times[-1] + 1 / recipe.video.fps
    assert abs(duration - recipe.video.duration_s) < 0.2
    assert 40 <= duration <= 60


def test_build_copies_a_valid_scene_and_reuses_a_finished_build(demo_footage):
    scene = load_scene(demo_footage.scene)
    assert scene.camera == load_recipe().camera.id
    assert demo_footage.ground_truth.is_file()
    again = build_demo(demo_footage.video.parent)
    assert again.reused and again.video == demo_footage.video


def test_composition_is_deterministic():
    recipe = load_recipe()
    photos = ensure_photos(DEFAULT_BUILD_DIR / "photos", recipe.source)
    a, b = Composer(recipe, load_sprites(recipe, photos)), Composer(recipe, load_sprites(recipe, photos))
    for i in (0, 200, 570):
        assert np.array_equal(a.frame(i), b.frame(i))


def _frame_at(video, t: float) -> np.ndarray:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if float(frame.time) >= t - 1e-6:
                return frame.to_ndarray(format="bgr24")
    raise AssertionError(f"no frame at {t}")


@pytest.mark.parametrize("t", [5.0, 20.0, 40.0])
def test_signal_head_shows_the_planted_lamp(demo_footage, t):
    recipe = load_recipe()
    img = _frame_at(demo_footage.video, t).astype(int)
    x, y, w, h = recipe.layout.signal_head
    top, bottom = img[y : y + h // 2, x : x + w], img[y + h // 2 : y + h, x : x + w]
    red_lamp = (top[..., 2] - top[..., 1]).max()
    green_lamp = (bottom[..., 1] - bottom[..., 2]).max()
    if recipe.signal.color_at(t) == "red":
        assert red_lamp > 150 and green_lamp < 80
    else:
        assert green_lamp > 150 and red_lamp < 80
