"""Plate reading: the format check, and RapidOCR on the real CCPD photos (../shared/footage-more)."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

from detector.evidence import plates
from detector.evidence.plate_format import format_ok, normalise, plate_kind
from detector.evidence.plates import PlateRead, best_plate, decode_plate, read_plate
from plate_photos import CCPD, labels


# -- format check ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["皖AY766D", "京A12345", "粤B0N718", "沪AD1234", "川A1234学", "浙C1234挂",
                                  "琼A0001警", "粤Z1234港", "蒙A99999"])
def test_ordinary_plates_pass(text):
    assert format_ok(text) and plate_kind(text) == "ordinary"


@pytest.mark.parametrize("text", ["粤BD12345", "京AF12345", "沪A12345D", "苏E12345F", "浙AKA1234"])
def test_new_energy_plates_pass(text):
    assert format_ok(text) and plate_kind(text) == "new-energy"


@pytest.mark.parametrize("text", [
    "AY766D",        # no province
    "眠AZ576J",      # not a province abbreviation
    "皖1Y766D",      # the second character must be a letter
    "皖AY76",        # too short
    "皖AY766DDDD",   # too long
    "皖AIY766",      # I is never a serial character
    "京A1234警5",    # a special ending only at the end
    "沪AX12345",     # 8 characters but no new-energy sequence
    "沪A1234D5",     # large new-energy plates end in D or F
    "",
])
def test_invalid_plates_fail(text):
    assert not format_ok(text) and plate_kind(text) is None


def test_normalise_separators_case_and_confusable_letters():
    assert normalise("皖A·Y766D") == "皖AY766D"
    assert normalise(" 皖a y766d ") == "皖AY766D"
    assert normalise("皖A·GOS33") == "皖AG0S33"   # O can only be 0 in the serial
    assert normalise("皖A5PI37") == "皖A5P137"    # I can only be 1
    assert normalise("京O12345") == "京O12345"    # the authority letter O (police) stays
    assert normalise("AON718") == "AON718"        # without a province nothing is guessed
    assert format_ok(normalise("皖A·0N718")) and not format_ok("皖A·0N718")


def test_decode_forces_province_only_at_plate_length():
    """Grammar decoding on a synthetic probability matrix: a 眠 that carries some 皖 probability is
    read as 皖 when seven characters stand, and left alone at other lengths."""
    chars = ["blank", "眠", "皖", "A", "Z", "5", "7", "6", "J", "·", " "]
    col = {c: i for i, c in enumerate(chars)}

    def matrix(seq: list[dict[str, float]]) -> np.ndarray:
        m = np.zeros((len(seq) * 2, len(chars)), dtype=np.float32)
        for i, probs in enumerate(seq):
            for c, p in probs.items():
                m[2 * i, col[c]] = p
            m[2 * i + 1, 0] = 1.0  # blank between characters
        return m

    first = {"眠": 0.6, "皖": 0.3}
    seven = [first] + [{c: 0.9} for c in "AZ576J"]
    text, conf = decode_plate(matrix(seven), chars)
    assert text == "皖AZ576J" and conf == pytest.approx((0.3 + 6 * 0.9) / 7)
    assert decode_plate(matrix([first] + [{c: 0.9} for c in "AZ57"]), chars)[0] == "眠AZ57"
    with_dot = [first, {"A": 0.9}, {"·": 0.9}] + [{c: 0.9} for c in "Z576J"]
    assert decode_plate(matrix(with_dot), chars)[0] == "皖AZ576J"


# -- real photos ----------------------------------------------------------------------------------

def _labels() -> list[dict]:
    rows = labels()
    for r in rows:
        r["bbox"] = tuple(int(r[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
        r["image"] = cv2.imread(str(CCPD / r["file"]))
        assert r["image"] is not None, r["file"]
    return rows


@pytest.fixture(scope="module")
def ccpd() -> list[dict]:
    return _labels()


def vehicle_box(r: dict) -> tuple[int, int, int, int]:
    """A car-sized region around the labelled plate, as the pipeline's vehicle box would be."""
    x1, y1, x2, y2 = r["bbox"]
    w, h = x2 - x1, y2 - y1
    H, W = r["image"].shape[:2]
    return max(0, x1 - w), max(0, y1 - 4 * h), min(W, x2 + w), min(H, y2 + 2 * h)


def plate_region(r: dict) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = r["bbox"]
    w, h = x2 - x1, y2 - y1
    return max(0, x1 - w // 2), max(0, y1 - h // 2), x2 + w // 2, y2 + h // 2


@pytest.mark.integration
def test_reads_real_plates(ccpd):
    """Measured 2026-12-04 (benchmarks/plates.py): whole photo 7/8, vehicle box 7/8, plate region
    8/8 exact. The assertions keep one read of margin."""
    for name, region, min_exact in (("photo", lambda r: None, 6), ("vehicle", vehicle_box, 6),
                                    ("plate", plate_region, 7)):
        reads = [read_plate(r["image"], region(r)) for r in ccpd]
        exact = sum(1 for r, p in zip(ccpd, reads) if p and p.text == r["plate"])
        assert exact >= min_exact, (name, [(r["plate"], p) for r, p in zip(ccpd, reads)])
        for r, p in zip(ccpd, reads):
            if p is not None and p.text == r["plate"]:
                assert p.format_ok and 0.5 < p.confidence <= 1.0 and p.kind == "blue", (name, p)
            if p is not None and not p.format_ok:
                assert p.kind == "unknown"


def test_no_plate_in_a_plain_region(ccpd):
    img = ccpd[0]["image"]
    assert read_plate(np.full((200, 300, 3), 128, np.uint8)) is None
    assert read_plate(img, (0, 0, 4, 4)) is None  # too small to hold anything


def test_best_plate_votes_over_frames(ccpd):
    """Three frames of one car (different framings) and one frame of another: the car seen most
    wins, with the number of agreeing frames and the time of its best frame."""
    a, b = ccpd[2], ccpd[4]  # 皖A5P237, 皖AG0S33
    frames = [(0.0, a["image"], plate_region(a)), (0.4, b["image"], plate_region(b)),
              (0.8, a["image"], vehicle_box(a)), (1.2, a["image"], None)]
    got = best_plate(frames)
    assert got is not None and got.text == a["plate"] and got.frames_read == 3 and got.format_ok
    assert got.t in (0.0, 0.8, 1.2)
    single = [read_plate(img, box, t=t) for t, img, box in frames if t != 0.4]
    assert got.t == max(single, key=lambda r: r.confidence).t
    # a frame that reads nothing does not count; no readable frame at all gives None
    blank = np.full((240, 320, 3), 200, np.uint8)
    assert best_plate([(0.0, blank, None)]) is None
    only_b = best_plate([(0.0, blank, None), (2.0, b["image"], plate_region(b))])
    assert only_b is not None and only_b.text == b["plate"] and only_b.frames_read == 1 and only_b.t == 2.0


def test_valid_format_beats_more_frames_of_invalid(monkeypatch):
    """Voting prefers valid formats: two invalid reads do not outvote one valid one."""
    reads = iter([PlateRead("AZ576J", 0.99, False, "unknown", t=0.0), PlateRead("AZ576J", 0.98, False, "unknown", t=1.0),
                  PlateRead("皖AZ576J", 0.8, True, "blue", t=2.0)])
    monkeypatch.setattr(plates, "read_plate", lambda img, box, t=None: next(reads))
    got = best_plate([(t, None, None) for t in (0.0, 1.0, 2.0)])
    assert got == PlateRead("皖AZ576J", 0.8, True, "blue", frames_read=1, t=2.0)


def test_engine_never_downloads(monkeypatch, ccpd):
    """The models come from the wheel: a fresh engine with downloading made impossible still reads."""
    from rapidocr.utils.download_file import DownloadFile

    def refuse(*a, **k):
        raise AssertionError("rapidocr tried to download something")

    monkeypatch.setattr(DownloadFile, "run", classmethod(refuse))
    monkeypatch.setattr(plates, "_engine", None)
    r = ccpd[2]
    got = read_plate(r["image"], plate_region(r))
    assert got is not None and got.text == r["plate"]
    assert got.as_dict() == {"text": r["plate"], "confidence": got.confidence, "format_ok": True, "kind": "blue",
                             "frames_read": 1, "t": None}
