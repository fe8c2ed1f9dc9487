"""Turn the recipe into frames and an H.264 file.

An actor's ground point is interpolated along its path; its sprite is mirrored to face the way it
moves and pasted with its bottom centre on that point. Nearer things (larger ground y) are drawn
last, so a passing truck hides a parked one as it would on a real street.
"""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from civicwatch.demo.backdrop import draw_backdrop, draw_signal_head
from civicwatch.demo.recipe import ActorSpec, PropSpec, Recipe
from civicwatch.demo.sprites import Sprite


@dataclass(frozen=True)
class Placement:
    """Where one sprite sits at one instant: ``box`` x1, y1, x2, y2 in frame pixels."""

    name: str
    sprite: Sprite
    x: int
    y: int  # top-left corner

    @property
    def box(self) -> tuple[int, int, int, int]:
        w, h = self.sprite.size
        return (self.x, self.y, self.x + w, self.y + h)


def actor_state(actor: ActorSpec, t: float) -> tuple[float, float, float] | None:
    """Ground point and horizontal velocity at ``t``; ``None`` when not in the picture."""
    path = actor.path
    if t < path[0][0] or t > path[-1][0]:
        return None
    for (t0, x0, y0), (t1, x1, y1) in zip(path, path[1:]):
        if t0 <= t <= t1:
            u = (t - t0) / (t1 - t0)
            return x0 + u * (x1 - x0), y0 + u * (y1 - y0), (x1 - x0) / (t1 - t0)
    return None  # unreachable: t lies within the path


def _facing(sprite: Sprite, vx: float, last: str) -> str:
    if vx > 1e-6:
        return "right"
    if vx < -1e-6:
        return "left"
    return last


def prop_ground(prop: PropSpec, actor: ActorSpec, t: float) -> tuple[float, float] | None:
    if t >= prop.drop_t + prop.fall_s:
        return prop.rest
    state = actor_state(actor, t)
    if state is None:
        return None
    x, y, _ = state
    hand = (x + prop.carry_offset[0], y + prop.carry_offset[1])
    if t < prop.drop_t:
        return hand
    u = (t - prop.drop_t) / prop.fall_s
    return hand[0] + u * (prop.rest[0] - hand[0]), hand[1] + u * (prop.rest[1] - hand[1])


class Composer:
    """Renders frame ``i`` of the recipe; keeps per-actor facing between frames."""

    def __init__(self, recipe: Recipe, sprites: dict[str, Sprite]):
        self.recipe = recipe
        self.sprites = sprites
        self.mirrored = {k: s.mirrored() for k, s in sprites.items()}
        self.backdrop = draw_backdrop(recipe.layout, recipe.video.size, recipe.video.seed)
        self._facing: dict[str, str] = {}

    def placements(self, t: float) -> list[Placement]:
        """Everything visible at ``t``, far to near (drawing order)."""
        items: list[tuple[float, Placement]] = []
        for name, actor in self.recipe.actors.items():
            state = actor_state(actor, t)
            if state is None:
                continue
            x, y, vx = state
            spec_sprite = self.sprites[actor.sprite]
            if spec_sprite.faces == "none":
                sprite = spec_sprite
            else:
                # Facing follows the path's direction, so it is a pure function of t.
                facing = _facing(spec_sprite, vx, self._initial_facing(actor, spec_sprite))
                sprite = spec_sprite if facing == spec_sprite.faces else self.mirrored[actor.sprite]
            bob = 0.0
            if actor.walk and self._moving(actor, t):
                bob = 1.5 * abs(math.sin(2 * math.pi * 1.8 * t))
            w, h = sprite.size
            items.append((y, Placement(name, sprite, int(round(x - w / 2)), int(round(y - h - bob)))))
        for name, prop in self.recipe.props.items():
            g = prop_ground(prop, self.recipe.actors[prop.actor], t)
            if g is None:
                continue
            sprite = self.sprites[prop.sprite]
            w, h = sprite.size
            order = g[1] if t >= prop.drop_t else g[1] + 60  # carried: drawn with (over) its carrier
            items.append((order, Placement(name, sprite, int(round(g[0] - w / 2)), int(round(g[1] - h)))))
        items.sort(key=lambda it: it[0])
        return [p for _, p in items]

    @staticmethod
    def _initial_facing(actor: ActorSpec, sprite: Sprite) -> str:
        for (_, x0, _), (_, x1, _) in zip(actor.path, actor.path[1:]):
            if x1 != x0:
                return "right" if x1 > x0 else "left"
        return sprite.faces

    @staticmethod
    def _moving(actor: ActorSpec, t: float) -> bool:
        for (t0, x0, y0), (t1, x1, y1) in zip(actor.path, actor.path[1:]):
            if t0 <= t <= t1:
                return (x0, y0) != (x1, y1)
        return False

    def frame(self, index: int) -> np.ndarray:
        t = index / self.recipe.video.fps
        img = self.backdrop.copy()
        draw_signal_head(img, self.recipe.layout, self.recipe.signal.color_at(t))
        for p in self.placements(t):
            _paste(img, p)
        return img


def _paste(img: np.ndarray, p: Placement) -> None:
    H, W = img.shape[:2]
    x1, y1, x2, y2 = p.box
    cx1, cy1, cx2, cy2 = max(0, x1), max(0, y1), min(W, x2), min(H, y2)
    if cx1 >= cx2 or cy1 >= cy2:
        return
    src = p.sprite.image[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1].astype(np.float32)
    a = p.sprite.alpha[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1, None]
    dst = img[cy1:cy2, cx1:cx2].astype(np.float32)
    img[cy1:cy2, cx1:cx2] = (src * a + dst * (1.0 - a) + 0.5).astype(np.uint8)


def encode(composer: Composer, out_path: Path) -> None:
    """H.264 in MP4, yuv420p; a fixed thread count keeps the bitstream the same between runs."""
    v = composer.recipe.video
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".part.mp4")
    with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=v.fps)
        stream.width, stream.height = v.size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = v.gop
        stream.codec_context.thread_count = 2
        stream.options = {"crf": str(v.crf), "preset": "veryfast", "bf": "0"}
        for i in range(v.frame_count):
            frame = av.VideoFrame.from_ndarray(composer.frame(i), format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, v.fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(out_path)
