"""Names for the Chinese explanation sentences that rules write beside their English ones.

Reviewers and exposure screens in the first city read Simplified Chinese; a case's explanation
is the one sentence they read first, so each rule words it in both languages itself (the rule
knows what it measured) and this module only supplies the nouns.
"""

from __future__ import annotations

CLASS_ZH = {
    "person": "行人",
    "bicycle": "自行车",
    "motorcycle": "摩托车/电动车",
    "car": "汽车",
    "bus": "公交车",
    "truck": "货车",
    "rider": "骑车人",
    "object": "物品",
}


def class_zh(name: str) -> str:
    """The Chinese word for a detector class; unknown classes keep their English name."""
    return CLASS_ZH.get(name, name)


def ids_text(track_ids) -> str:  # noqa: ANN001
    return "、".join(f"#{i}" for i in track_ids)
