"""Demo footage composed from real photographs, with planted violations and their ground truth.

``build_demo()`` fetches the photos (Debian's darknet package, hash-checked), cuts sprites,
moves them over a drawn street as ``samples/demo/recipe.yaml`` says, and writes ``demo.mp4``
beside a copy of ``scene.yaml`` and ``ground_truth.yaml``. A finished build is reused when the
recipe, the photos and this code are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from civicwatch.demo.compose import Composer, encode
from civicwatch.demo.photos import PhotoError, ensure_photos, sha256_file
from civicwatch.demo.recipe import DEMO_DIR, RECIPE_PATH, Recipe, load_recipe
from civicwatch.demo.scene_files import ground_truth_text, scene_text
from civicwatch.demo.sprites import Sprite, make_sprite

__all__ = ["DemoFootage", "PhotoError", "build_demo", "load_sprites", "write_sources", "DEFAULT_BUILD_DIR"]

DEFAULT_BUILD_DIR = DEMO_DIR / "build"
SCENE_PATH = DEMO_DIR / "scene.yaml"
GROUND_TRUTH_PATH = DEMO_DIR / "ground_truth.yaml"
VIDEO_NAME = "demo.mp4"
STAMP_NAME = "build.json"


@dataclass(frozen=True)
class DemoFootage:
    video: Path
    scene: Path
    ground_truth: Path
    reused: bool = False


def _code_digest() -> str:
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _inputs_digest(recipe_path: Path) -> str:
    h = hashlib.sha256()
    h.update(recipe_path.read_bytes())
    h.update(_code_digest().encode())
    return h.hexdigest()


def load_sprites(recipe: Recipe, photos: dict[str, Path]) -> dict[str, Sprite]:
    return {name: make_sprite(spec, photos[spec.photo]) for name, spec in recipe.sprites.items()}


def write_sources(recipe_path: Path = RECIPE_PATH) -> list[Path]:
    """Regenerate the committed scene.yaml and ground_truth.yaml from the recipe."""
    recipe = load_recipe(recipe_path)
    SCENE_PATH.write_text(scene_text(recipe), encoding="utf-8")
    GROUND_TRUTH_PATH.write_text(ground_truth_text(recipe), encoding="utf-8")
    return [SCENE_PATH, GROUND_TRUTH_PATH]


def build_demo(out_dir: Path | None = None, *, force: bool = False) -> DemoFootage:
    out = Path(out_dir) if out_dir is not None else DEFAULT_BUILD_DIR
    out.mkdir(parents=True, exist_ok=True)
    recipe = load_recipe(RECIPE_PATH)
    video, scene, truth = out / VIDEO_NAME, out / "scene.yaml", out / "ground_truth.yaml"
    stamp_path = out / STAMP_NAME
    digest = _inputs_digest(RECIPE_PATH)
    if not force and video.is_file() and scene.is_file() and truth.is_file() and stamp_path.is_file():
        try:
            stamp = json.loads(stamp_path.read_text())
        except ValueError:
            stamp = {}
        if stamp.get("inputs") == digest and stamp.get("video_sha256") == sha256_file(video):
            return DemoFootage(video, scene, truth, reused=True)

    photos = ensure_photos(DEFAULT_BUILD_DIR / "photos", recipe.source)
    composer = Composer(recipe, load_sprites(recipe, photos))
    encode(composer, video)
    scene.write_text(scene_text(recipe), encoding="utf-8")
    truth.write_text(ground_truth_text(recipe), encoding="utf-8")
    stamp = {
        "inputs": digest,
        "video_sha256": sha256_file(video),
        "photos": {name: sha256_file(p) for name, p in photos.items()},
        "frames": recipe.video.frame_count,
        "fps": recipe.video.fps,
        "size": list(recipe.video.size),
    }
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
    return DemoFootage(video, scene, truth, reused=False)
