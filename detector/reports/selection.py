"""Which cases of an analysis run go into a report, decided without the review service.

A run folder knows what the analysis found, not what a reviewer decided: approval lives in the
review service's database. So the command line is told, in one of three ways:

* a decisions file: the service's case list saved as JSON (``GET /api/cases?state=approved,published``
  gives ``{"items": [{"id", "pipeline_id", "state", ...}]}``), a list of such objects, a mapping
  ``{case id: state}``, or a plain list of case ids (each taken as approved). Cases count as
  approved in state ``approved`` or ``published``; entries for cases of other runs are ignored;
* case ids named one by one (``--case``), each taken as approved;
* every case of the run, which makes a draft that says it was not reviewed.

A case id may be the run's own (``bj-overpass-wrong_way-00000300-4``) or the service's, which
prefixes it with the job (``J12-bj-overpass-...``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

APPROVED_STATES = ("approved", "published")
SERVICE_PREFIX = re.compile(r"^J\d+-")


class SelectionError(ValueError):
    """The run or the decisions cannot be read, or they select nothing."""


def run_key(case_id: str) -> str:
    """The run's own id of a case named by either id."""
    return SERVICE_PREFIX.sub("", str(case_id), count=1)


def load_run_cases(run_dir: Path) -> list[dict]:
    """The cases of an analysis run folder, in its order (time), with evidence clips."""
    path = Path(run_dir) / "cases.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SelectionError(
            f"{run_dir} is not an analysis folder: no cases.json"
        ) from None
    except (OSError, ValueError) as err:
        raise SelectionError(f"{path}: cannot be read: {err}") from None
    cases = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(cases, list) or not all(
        isinstance(c, dict) and "id" in c for c in cases
    ):
        raise SelectionError(f"{path}: not a list of cases")
    bare = [c["id"] for c in cases if not (c.get("evidence") or {}).get("clip")]
    if bare:
        raise SelectionError(
            f"{run_dir}: case(s) without an evidence clip ({', '.join(bare[:3])}); "
            "was the run analysed without evidence?"
        )
    return cases


def _entries(data: object) -> Iterable[tuple[str, str]]:
    if isinstance(data, dict) and isinstance(
        data.get("items", data.get("cases")), list
    ):
        data = data.get("items", data.get("cases"))
    if isinstance(data, dict):
        for key, state in data.items():
            if not isinstance(state, str):
                raise SelectionError(
                    f"decision for {key!r} must be a state such as 'approved'"
                )
            yield str(key), state
        return
    if not isinstance(data, list):
        raise SelectionError(
            "decisions: expected a list of cases, {'items': [...]} or {case id: state}"
        )
    for i, entry in enumerate(data):
        if isinstance(entry, str):
            yield entry, "approved"
        elif isinstance(entry, dict) and (entry.get("pipeline_id") or entry.get("id")):
            if not isinstance(entry.get("state"), str):
                raise SelectionError(
                    f"decisions: entry {i} ({entry.get('id')}) has no state"
                )
            yield str(entry.get("pipeline_id") or entry["id"]), entry["state"]
        else:
            raise SelectionError(
                f"decisions: entry {i} is neither a case id nor a case with an id"
            )


def read_decisions(path: Path) -> dict[str, str]:
    """``{run case id: state}`` from a decisions file (formats in the module's docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SelectionError(f"decisions file {path} does not exist") from None
    except (OSError, ValueError) as err:
        raise SelectionError(
            f"decisions file {path}: cannot be read as JSON: {err}"
        ) from None
    decisions: dict[str, str] = {}
    for case_id, state in _entries(data):
        key = run_key(case_id)
        if decisions.get(key, state) != state:
            raise SelectionError(
                f"decisions: case {key} is both {decisions[key]} and {state} "
                "(entries from two jobs? save one job's cases)"
            )
        decisions[key] = state
    return decisions


def select_cases(
    cases: list[dict],
    *,
    decisions: dict[str, str] | None = None,
    ids: list[str] | None = None,
    everything: bool = False,
) -> list[dict]:
    """The approved cases of ``cases`` (in their order) by exactly one of the three ways."""
    if sum((decisions is not None, bool(ids), everything)) != 1:
        raise SelectionError(
            "say which cases: a decisions file, case ids, or every case (a draft)"
        )
    if everything:
        chosen = list(cases)
    elif ids:
        wanted = {run_key(i) for i in ids}
        missing = sorted(wanted - {c["id"] for c in cases})
        if missing:
            raise SelectionError(f"no such case in this run: {', '.join(missing)}")
        chosen = [c for c in cases if c["id"] in wanted]
    else:
        chosen = [c for c in cases if decisions.get(c["id"]) in APPROVED_STATES]
        if not chosen:
            raise SelectionError(
                f"none of this run's {len(cases)} case(s) is approved in the decisions file"
            )
    if not chosen:
        raise SelectionError("the run holds no case")
    return chosen
