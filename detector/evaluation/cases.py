"""Case-level scoring of one analysis output against a label file.

A case matches a labelled event when rule and zone agree and the case starts within
``[t0 - tol, t1 + tol]``; when the event has ``at`` (t, x, y of the offender's ground point), the
case's offender must also be within 1.5 box-heights of that point at that time. Each event takes at
most one case and each case at most one event (maximum matching, so one greedy choice cannot
steal the only case another event could have had). A second case for one event is a false case:
duplicates count against precision. Cases that match only an optional event are set aside,
neither helping nor hurting.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from detector.evaluation.labels import CaseLabels, LabelledEvent, read_json

# How far from the label's ground point the offender may be, in heights of its own box. The floor
# keeps a 6 px litter object from demanding pixel-perfect labels.
AT_BOX_HEIGHTS = 1.5
AT_MIN_PX = 16.0
# Offender boxes further than this from the label's time are not used to place the offender.
AT_MAX_DT = 1.0


@dataclass(frozen=True)
class CaseRecord:
    """What scoring needs of one case: its identity, rule, zone, start, and where the offender was."""

    id: str
    rule: str
    zone: str
    start_s: float
    end_s: float
    track: tuple[tuple[float, tuple[float, float, float, float]], ...]  # (t, box) of the offender
    object_box: tuple[float, float, float, float] | None = None  # litter: the object itself
    key_box: tuple[float, float, float, float] | None = None
    key_t: float | None = None

    @classmethod
    def from_case(cls, case: dict) -> "CaseRecord":
        track = tuple(
            (float(o["t"]), tuple(float(v) for v in o["box"])) for o in case.get("offender_track") or []
        )
        details = case.get("details") or {}
        obj = details.get("object_box")
        key = case.get("key_box")
        return cls(
            id=str(case.get("id")),
            rule=str(case["rule"]),
            zone=str(case["zone"]),
            start_s=float(case["start_s"]),
            end_s=float(case.get("end_s", case["start_s"])),
            track=track,
            object_box=tuple(float(v) for v in obj) if obj else None,
            key_box=tuple(float(v) for v in key) if key else None,
            key_t=float(case["key_frame"]["t"]) if case.get("key_frame") else None,
        )

    def boxes_near(self, t: float) -> list[tuple[float, float, float, float]]:
        """Boxes that stand for the offender at time ``t`` (track nearest in time, the object, the key box)."""
        boxes = []
        if self.track:
            dt, box = min(((abs(tt - t), b) for tt, b in self.track), key=lambda x: x[0])
            if dt <= AT_MAX_DT:
                boxes.append(box)
        if self.object_box is not None:
            boxes.append(self.object_box)
        if not boxes and self.key_box is not None and self.key_t is not None and abs(self.key_t - t) <= AT_MAX_DT:
            boxes.append(self.key_box)
        return boxes


def offender_near(case: CaseRecord, at: tuple[float, float, float]) -> bool:
    t, x, y = at
    for x1, y1, x2, y2 in case.boxes_near(t):
        gx, gy = (x1 + x2) / 2.0, y2
        if math.hypot(gx - x, gy - y) <= max(AT_BOX_HEIGHTS * (y2 - y1), AT_MIN_PX):
            return True
    return False


def can_match(event: LabelledEvent, case: CaseRecord, tolerance_s: float) -> bool:
    if event.rule != case.rule or event.zone != case.zone:
        return False
    if not (event.t0 - tolerance_s <= case.start_s <= event.t1 + tolerance_s):
        return False
    return event.at is None or offender_near(case, event.at)


def _max_matching(candidates: dict[int, list[int]]) -> dict[int, int]:
    """Kuhn's augmenting paths: event index -> case index, as many pairs as possible.

    ``candidates[e]`` lists the cases event ``e`` may take, best first; small sets (tens of cases
    per clip), so the simple algorithm is plenty.
    """
    case_owner: dict[int, int] = {}

    def augment(e: int, seen: set[int]) -> bool:
        for c in candidates[e]:
            if c in seen:
                continue
            seen.add(c)
            if c not in case_owner or augment(case_owner[c], seen):
                case_owner[c] = e
                return True
        return False

    for e in candidates:
        augment(e, set())
    return {e: c for c, e in case_owner.items()}


@dataclass
class RuleScore:
    rule: str
    events: int = 0  # non-optional labelled events
    cases: int = 0  # cases that count (all cases minus those matching only optional events)
    matched: int = 0

    @property
    def precision(self) -> float | None:
        return self.matched / self.cases if self.cases else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.events if self.events else None

    def add(self, other: "RuleScore") -> None:
        self.events += other.events
        self.cases += other.cases
        self.matched += other.matched

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


@dataclass
class CaseEvaluation:
    per_rule: dict[str, RuleScore]
    matches: list[dict] = field(default_factory=list)  # {"event": ..., "case": id}
    misses: list[dict] = field(default_factory=list)  # labelled events no case matched
    false_cases: list[dict] = field(default_factory=list)  # cases no event accounts for
    optional_matched: list[dict] = field(default_factory=list)

    @property
    def total(self) -> RuleScore:
        total = RuleScore("all")
        for score in self.per_rule.values():
            total.add(score)
        return total

    def to_dict(self) -> dict:
        return {
            "per_rule": {k: v.to_dict() for k, v in self.per_rule.items()},
            "total": self.total.to_dict(),
            "matches": self.matches,
            "misses": self.misses,
            "false_cases": self.false_cases,
            "optional_matched": self.optional_matched,
        }


def _event_dict(e: LabelledEvent) -> dict:
    return e.model_dump(exclude_defaults=False)


def _case_dict(c: CaseRecord) -> dict:
    return {"id": c.id, "rule": c.rule, "zone": c.zone, "start_s": c.start_s, "end_s": c.end_s}


def evaluate_cases(labels: CaseLabels, cases: list[dict]) -> CaseEvaluation:
    records = [CaseRecord.from_case(c) for c in cases]
    tol = labels.tolerance_s
    rules = sorted({e.rule for e in labels.events} | {c.rule for c in records})
    per_rule = {r: RuleScore(r) for r in rules}
    required = [i for i, e in enumerate(labels.events) if not e.optional]
    optional = [i for i, e in enumerate(labels.events) if e.optional]

    def candidates(events: list[int], free: set[int]) -> dict[int, list[int]]:
        out = {}
        for i in events:
            ev = labels.events[i]
            mid = (ev.t0 + ev.t1) / 2.0
            ok = [j for j in free if can_match(ev, records[j], tol)]
            out[i] = sorted(ok, key=lambda j: (abs(records[j].start_s - mid), j))
        return out

    free = set(range(len(records)))
    matched = _max_matching(candidates(required, free))
    free -= set(matched.values())
    optional_matched = _max_matching(candidates(optional, free))
    free -= set(optional_matched.values())

    result = CaseEvaluation(per_rule)
    for i in required:
        ev = labels.events[i]
        per_rule[ev.rule].events += 1
        if i in matched:
            per_rule[ev.rule].matched += 1
            result.matches.append({"event": _event_dict(ev), "case": records[matched[i]].id})
        else:
            result.misses.append(_event_dict(ev))
    for i, j in optional_matched.items():
        result.optional_matched.append({"event": _event_dict(labels.events[i]), "case": records[j].id})
    for j, rec in enumerate(records):
        if j in optional_matched.values():
            continue
        per_rule[rec.rule].cases += 1
        if j in free:
            result.false_cases.append(_case_dict(rec))
    result.false_cases.sort(key=lambda c: c["start_s"])
    result.misses.sort(key=lambda e: e["t0"])
    return result


def load_run_cases(run_dir: str | Path) -> list[dict]:
    """The cases of one analysis output folder (its ``cases.json``)."""
    path = Path(run_dir) / "cases.json"
    data = read_json(path, "the analysis cases")
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of cases")
    for i, case in enumerate(data):  # what scoring reads of each case, checked here, not mid-report
        if not isinstance(case, dict):
            raise ValueError(f"{path}: [{i}]: expected a case object, got {type(case).__name__}")
        missing = [k for k in ("rule", "zone", "start_s") if k not in case]
        if missing:
            raise ValueError(f"{path}: [{i}]: missing field(s) {', '.join(missing)}")
        try:
            CaseRecord.from_case(case)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: [{i}] (case {case.get('id')!r}): a field has the wrong form "
                             f"({err.__class__.__name__}: {err})") from None
    return data


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def format_report(ev: CaseEvaluation, title: str = "") -> str:
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{'rule':24} {'events':>6} {'cases':>6} {'matched':>7} {'precision':>9} {'recall':>6}")
    for score in list(ev.per_rule.values()) + [ev.total]:
        lines.append(
            f"{score.rule:24} {score.events:6d} {score.cases:6d} {score.matched:7d} "
            f"{fmt_ratio(score.precision):>9} {fmt_ratio(score.recall):>6}"
        )
    for m in ev.misses:
        at = f" at {m['at'][1]:.0f},{m['at'][2]:.0f}" if m.get("at") else ""
        lines.append(f"MISS  {m['rule']} {m['zone']} {m['t0']:.1f}-{m['t1']:.1f} s{at}  {m.get('note', '')}".rstrip())
    for c in ev.false_cases:
        lines.append(f"FALSE {c['rule']} {c['zone']} {c['start_s']:.1f}-{c['end_s']:.1f} s  case {c['id']}")
    return "\n".join(lines)
