"""scene.yaml and ground_truth.yaml derived from the recipe, as text.

They are committed (so that readers see them and the README can point at them) and regenerated
here; a test checks that the committed copies equal what the recipe says.
"""

from __future__ import annotations

import yaml

from civicwatch.demo.recipe import EventSpec, Recipe

HEADER = "# Generated from samples/demo/recipe.yaml by civicwatch.demo; edit the recipe, then run\n# `civicwatch demo build --write-sources` to regenerate.\n"

CROSSWALK, BIKE_LANE, NO_PARKING, PLAZA = "crosswalk_main", "bike_lane", "no_parking_busstop", "plaza"
# What reviewers and the street screen read for each zone (its key is internal).
LABELS = {
    CROSSWALK: {"zh-CN": "主人行横道", "en": "main crossing"},
    BIKE_LANE: {"zh-CN": "非机动车道", "en": "bike lane"},
    NO_PARKING: {"zh-CN": "公交站旁禁停区", "en": "no parking by the bus stop"},
    PLAZA: {"zh-CN": "广场", "en": "plaza"},
}


def scene_dict(recipe: Recipe) -> dict:
    L, R = recipe.layout, recipe.rules
    w, h = recipe.video.size
    cx0, cx1 = L.crosswalk_x
    ry0, ry1 = L.road_y
    by0, by1 = L.bike_lane_y
    nx0, ny0, nx1, ny1 = L.no_parking_box
    px0, py0, px1, py1 = L.plaza
    mid = (by0 + by1) / 2
    return {
        "camera": recipe.camera.id,
        "kind": "fixed",
        "place": recipe.camera.place,
        "start_time": recipe.camera.start_time,
        "timezone": recipe.camera.timezone,
        "frame_size": [w, h],
        "zones": [
            {"name": CROSSWALK, "label": LABELS[CROSSWALK], "kind": "crosswalk", "polygon": [[cx0, ry0], [cx1, ry0], [cx1, ry1], [cx0, ry1]],
             "classes": ["person"], "signal": recipe.signal.name,
             "min_entry_distance": R.crosswalk_min_entry_distance},
            {"name": BIKE_LANE, "label": LABELS[BIKE_LANE], "kind": "lane", "polygon": [[0, by0], [w, by0], [w, by1], [0, by1]],
             "classes": ["bicycle", "motorcycle"], "direction": [[100, mid], [540, mid]]},
            {"name": NO_PARKING, "label": LABELS[NO_PARKING], "kind": "no_parking", "polygon": [[nx0, ny0], [nx1, ny0], [nx1, ny1], [nx0, ny1]],
             "classes": ["car", "truck", "bus"], "max_stop_s": R.max_stop_s,
             "stationary_radius": R.stationary_radius},
            {"name": PLAZA, "label": LABELS[PLAZA], "kind": "no_litter", "polygon": [[px0, py0], [px1, py0], [px1, py1], [px0, py1]],
             "min_static_s": R.min_static_s, "min_area": R.litter_min_area, "max_area": R.litter_max_area},
        ],
        "signals": [{"name": recipe.signal.name, "roi": list(L.signal_head)}],
    }


def _event(e: EventSpec) -> dict:
    d = {"rule": e.rule, "zone": e.zone, "start_s": e.start_s, "end_s": e.end_s,
         "object_class": e.object_class}
    if e.accept_classes:
        d["accept_classes"] = list(e.accept_classes)
    if e.flag_after_s is not None:
        d["flag_after_s"] = e.flag_after_s
    d["actor"] = e.actor
    d["note"] = e.note
    return d


def ground_truth_dict(recipe: Recipe) -> dict:
    return {
        "video": "demo.mp4",
        "duration_s": recipe.video.duration_s,
        "signal_timeline": {recipe.signal.name: [[t, c] for t, c in recipe.signal.timeline]},
        "violations": [_event(e) for e in recipe.events.violations],
        "negatives": [_event(e) for e in recipe.events.negatives],
    }


def _dump(data: dict) -> str:
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


def scene_text(recipe: Recipe) -> str:
    return _dump(scene_dict(recipe))


def ground_truth_text(recipe: Recipe) -> str:
    return _dump(ground_truth_dict(recipe))
