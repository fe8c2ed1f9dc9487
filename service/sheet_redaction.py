"""The evidence sheet as an exposure screen may show it: bystanders blurred, the offender kept.

The sheet (``sheet.jpg``) is several pictures (stills before / at / after the offence and a
close-up) over caption bands. Each picture is redacted on its own, with the same finders and the
same policy (``service.redaction.boxes_to_blur``) as the published clip and still; where the
offender is in each picture comes from the layout the evidence writer recorded in the case
(``case["sheet"]``, ``detector.evidence.sheet_record``). Caption bands and the title are text and
are left as they are; besides time, place and offence they name the pipeline case id, track
numbers, the camera and the pipeline's explanation, so screens never get this sheet (reviewers and
admins do: ``service.api.public.SHEET_ROLES``). A sheet without a recorded layout is not
published: guessing where the offender is could blur the offence or, worse, keep a bystander.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from detector.evidence.sheet_record import SheetLayout
from service.publication import PUBLISHED_SHEET
from service.redaction import (
    REGION_MARGIN, Box, Region, RegionFinder, _identifying_part, _intersection, blur_boxes, boxes_to_blur,
)
from service.redaction_track import _grow, is_his, own_faces, with_riders

log = logging.getLogger(__name__)

SHEET_NAME = PUBLISHED_SHEET


def _blur_all_but(picture: np.ndarray, keep: Sequence[Box]) -> np.ndarray:
    """Nothing could look for faces: blur the whole picture except the offender's boxes."""
    h, w = picture.shape[:2]
    out = blur_boxes(picture, [(0.0, 0.0, float(w), float(h))], 0.0)
    for x1, y1, x2, y2 in keep:
        a, b = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        c, d = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
        out[b:d, a:c] = picture[b:d, a:c]
    return out


def redact_picture(picture: np.ndarray, offenders: Sequence[Box], policy: str,
                   finders: Sequence[RegionFinder], offender_class: str | None = None,
                   objects: Sequence[Box] = ()) -> np.ndarray:
    """One picture of the sheet redacted under ``policy``; ``offenders`` in its own pixels.

    A picture may show the offender twice (a litter case: the person and the object they left);
    a found region is the offender's when it is his for any of those boxes, by the published
    clip's test (``redaction_track.is_offender`` and ``own_faces``, ``offender_class`` the case's
    ``object_class``): a whole box must match his, his face is the one face in his head area, and
    no person or face is part of a car. The sheet kept every face centred in the offender's box,
    the driver's and passengers' of an offending car and a neighbour's just behind a walker.
    ``objects``: those of ``offenders`` that are a thing left behind (a litter case's object):
    kept sharp, but no person or face is part of one (a passer-by in front of a dumped sofa was
    kept sharp as "the offender").
    """
    if policy == "none":
        return picture.copy()
    regions: list[Region] = [r for f in finders for r in f(picture)]
    if not finders:
        if len(offenders) > 1 and policy != "all":
            return _blur_all_but(picture, offenders)
        boxes = boxes_to_blur([], offenders[0] if offenders else None, policy, picture.shape, have_finders=False,
                              offender_class=offender_class)
        return blur_boxes(picture, boxes, 0.0)
    things = [tuple(o) for o in objects]
    people = [with_riders(o, regions, offender_class) for o in offenders if tuple(o) not in things]  # a rider is him
    his_faces = [f for o in people for f in own_faces(regions, o, offender_class)]
    boxes = []
    for region in regions:
        owners = people if region.kind in ("person", "face") else [*people, *things]
        if _is_his(region, owners, offender_class, his_faces):
            if policy == "all":
                boxes.append(_identifying_part(region))
            continue
        boxes.append(region.box)
    out = blur_boxes(picture, [_grown(b) for b in boxes], 0.0)
    if policy == "bystanders" and his_faces:
        kept = _keep_offender_faces(out, picture, his_faces)
        # a bystander's face that his overlaps: blurred again over what was put back (the clip's
        # ``Cover.reblur``); the sheet left it sharp
        again = [_grown(r.box) for r in regions if r.kind == "face" and not any(r is f for f in his_faces)
                 and any(_intersection(_grown(r.box), k) > 0 for k in kept)]
        if again:
            out = blur_boxes(out, again, 0.0)
    return out


def _grown(box: Box) -> Box:
    """A box as blurred: ``REGION_MARGIN`` of its size each side and at least ``MIN_PAD_PX``, as
    the published clip grows its boxes (``redaction_track._grow``). The sheet grew by the share
    alone: a 10 px face far off got 2 px of blur past a box the detector draws tight."""
    return _grow(box, REGION_MARGIN)


def _is_his(region: Region, offenders: Sequence[Box], offender_class: str | None, his_faces: Sequence[Region]) -> bool:
    return any(is_his(region, o, offender_class, his_faces) for o in offenders)


def _keep_offender_faces(out: np.ndarray, picture: np.ndarray, his_faces: Sequence[Region]) -> list[Box]:
    """Put back the offender's face (``own_faces``) where a bystander's box blurred over it: a
    parked car or a passer-by behind the offender is blurred whole, and on a sheet whose point is
    to show who did it, that must not wipe out the offender's own face. It comes back grown like
    a blurred face would be (the detector's face box is tight). Returns the boxes put back."""
    h, w = picture.shape[:2]
    kept: list[Box] = []
    for region in his_faces:
        x1, y1, x2, y2 = _grown(region.box)
        a, b = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        c, d = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
        out[b:d, a:c] = picture[b:d, a:c]
        kept.append((float(a), float(b), float(c), float(d)))
    return kept


def redact_sheet(sheet: np.ndarray, layout: SheetLayout, policy: str,
                 finders: Sequence[RegionFinder], offender_class: str | None = None) -> np.ndarray:
    """A copy of ``sheet`` with every picture redacted; caption bands and title untouched."""
    h, w = sheet.shape[:2]
    if (w, h) != tuple(layout.size):
        raise ValueError(f"the sheet is {w}x{h} but its recorded layout is {layout.size[0]}x{layout.size[1]}")
    out = sheet.copy()
    for panel in layout.panels:
        x, y, pw, ph = panel.rect
        if x < 0 or y < 0 or x + pw > w or y + ph > h or pw < 2 or ph < 2:
            raise ValueError(f"sheet picture {panel.rect} lies outside the {w}x{h} sheet")
        offenders = [(b[0] - x, b[1] - y, b[2] - x, b[3] - y) for b in panel.offender]
        objects = [(b[0] - x, b[1] - y, b[2] - x, b[3] - y) for b in panel.objects]
        out[y:y + ph, x:x + pw] = redact_picture(sheet[y:y + ph, x:x + pw], offenders, policy, finders, offender_class,
                                                 objects)
    return out


def published_sheet_jpeg(sheet_path: Path, case: dict, policy: str, finders: Sequence[RegionFinder]) -> bytes | None:
    """JPEG bytes of the redacted sheet, or None when the case has no sheet or no usable layout
    (then the screen has the still and the clip only)."""
    if not sheet_path.is_file():
        return None
    layout = SheetLayout.from_dict(case.get("sheet"))
    if layout is None:
        log.warning("redaction: %s has no recorded layout; its sheet is not published", sheet_path)
        return None
    image = cv2.imread(str(sheet_path), cv2.IMREAD_COLOR)
    if image is None:
        log.warning("redaction: %s cannot be read; its sheet is not published", sheet_path)
        return None
    try:
        redacted = redact_sheet(image, layout, policy, finders, case.get("object_class"))
    except ValueError as err:
        log.warning("redaction: %s: %s; its sheet is not published", sheet_path, err)
        return None
    except Exception:  # noqa: BLE001 - a finder failing on one picture: the clip and still are still published
        log.exception("redaction: finding faces on %s failed; its sheet is not published", sheet_path)
        return None
    ok, buf = cv2.imencode(".jpg", redacted, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
