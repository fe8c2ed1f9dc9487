"""The case record says where each picture of the evidence sheet is and where the offender is in
it (sheet pixels): checked against what the real writer drew on a real sheet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from detector.evidence import write_cases
from detector.evidence.sheet_record import SheetLayout

from .helpers import make_event, make_logs, make_scene

SOURCE = "beijing-intersection/uadetrac_overpass_short.mp4"


@pytest.fixture(scope="module")
def red_light_case(tmp_path_factory, footage_dir):
    out = tmp_path_factory.mktemp("sheet-record")
    tracks, signals = make_logs()
    [case] = write_cases(source=footage_dir / SOURCE, scene=make_scene(), events=[make_event()], track_log=tracks,
                         signal_log=signals, out_dir=out, pre=0.5, post=0.5)
    sheet = cv2.imread(str(out / case["evidence"]["sheet"]))
    assert sheet is not None
    return case, sheet


def _magenta(pixels: np.ndarray) -> np.ndarray:
    b, g, r = (pixels[..., i].astype(int) for i in range(3))
    return (r > 170) & (b > 170) & (g < 100)


def test_layout_matches_the_sheet_and_round_trips(red_light_case):
    case, sheet = red_light_case
    layout = SheetLayout.from_dict(case["sheet"])
    assert layout is not None and layout.as_dict() == case["sheet"]
    assert layout.size == (sheet.shape[1], sheet.shape[0])
    assert [p.kind for p in layout.panels] == ["still", "still", "still", "closeup"]
    assert [p.stage for p in layout.panels] == ["before", "offence", "after", "closeup"]
    times = [p.t for p in layout.panels[:3]]
    assert times == sorted(times) and len(set(times)) == 3
    assert layout.panels[3].t == pytest.approx(case["key_frame"]["t"], abs=0.06)
    for p in layout.panels:
        x, y, w, h = p.rect
        assert 0 <= x and x + w <= sheet.shape[1] and 0 <= y and y + h <= sheet.shape[0]
        assert p.band[1] == y + h and p.band[0] == x  # the caption band is right under its picture
        for b in p.offender:
            assert x <= b[0] < b[2] <= x + w and y <= b[1] < b[3] <= y + h
    assert SheetLayout.from_dict(None) is None and SheetLayout.from_dict({"size": [1, 2]}) is None


def test_offender_boxes_are_where_the_sheet_outlines_the_offender(red_light_case):
    case, sheet = red_light_case
    layout = SheetLayout.from_dict(case["sheet"])
    stills = [p for p in layout.panels if p.kind == "still" and p.offender]
    assert len(stills) == 3  # the walker is in view at all three moments
    thick = max(2, layout.panels[0].rect[2] // 400)
    for panel in stills:
        x1, y1, x2, y2 = (int(round(v)) for v in panel.offender[0])
        mid_y = (y1 + y2) // 2
        # the magenta frame runs just outside the recorded box on the left and right ...
        left = sheet[mid_y - 3:mid_y + 4, x1 - 2 * thick - 2:x1 + 1]
        right = sheet[mid_y - 3:mid_y + 4, x2 - 1:x2 + 2 * thick + 2]
        assert _magenta(left).any() and _magenta(right).any(), panel
        # ... and not through its middle, where the walker is
        assert not _magenta(sheet[mid_y - 3:mid_y + 4, (x1 + x2) // 2 - 2:(x1 + x2) // 2 + 3]).any(), panel


def test_closeup_offender_box_is_the_enlarged_walker_in_the_middle(red_light_case):
    case, _ = red_light_case
    layout = SheetLayout.from_dict(case["sheet"])
    closeup = layout.panels[-1]
    [box] = closeup.offender
    x, y, w, h = closeup.rect
    # the close-up is the crop centred in its panel, the crop is centred on the offender
    assert (box[0] + box[2]) / 2 == pytest.approx(x + w / 2, abs=4)
    assert (box[1] + box[3]) / 2 == pytest.approx(y + h / 2, abs=4)
    kx1, ky1, kx2, ky2 = case["key_box"]
    assert (box[3] - box[1]) / (box[2] - box[0]) == pytest.approx((ky2 - ky1) / (kx2 - kx1), rel=0.05)
    # enlarged: the crop is 1.5 x the box on each side, and fills the panel's height (or width)
    assert max((box[3] - box[1]) / h, (box[2] - box[0]) / w) == pytest.approx(1 / 1.5, rel=0.05)
