"""How long a reviewer's decision can be taken back (``Settings.undo_window_s``).

Shared by the case detail (which tells the page until when its undo button works) and the undo
endpoint (which refuses after it), so both use one rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from service.models import Case

UNDOABLE = ("approved", "rejected")  # a published case is taken back with withdraw, not undo


def undo_until(case: Case, window_s: int) -> datetime | None:
    """Until when the decision on ``case`` may be undone (None: it cannot be)."""
    if case.state not in UNDOABLE or case.decided_at is None or window_s <= 0:
        return None
    decided = case.decided_at if case.decided_at.tzinfo else case.decided_at.replace(tzinfo=timezone.utc)
    return decided + timedelta(seconds=window_s)
