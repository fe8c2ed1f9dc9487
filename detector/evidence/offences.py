"""What each rule's offence is called on an evidence record, in Chinese and English, and its code.

One small table, because the names are legal wording a reviewer checks against the law and a city
may word or number differently. Codes are the Ministry of Public Security's traffic violation codes
(公安部《道路交通安全违法行为代码》; first digit 1 = motor vehicle, 2 = non-motor vehicle,
3 = pedestrian / passenger; second digit the penalty points). Only codes we could confirm are
filled in: 1301 机动车逆向行驶的, 1039 机动车违反规定停放、临时停车且驾驶人不在现场或驾驶人虽在
现场拒绝立即驶离，妨碍其他车辆、行人通行的. Since 2022 many cities print a fifth digit for the
variant (e.g. 10390); the others are left empty rather than guessed, and a city passes its own
codes (``codes=`` of ``offence_for``, keyed ``rule`` or ``rule:category``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Offence:
    name_zh: str
    name_en: str
    code: str = ""  # empty: not configured (the sheet says so instead of printing a guess)


# Who the offender is, as the law sorts road users.
CATEGORY = {
    "person": "pedestrian",
    "car": "motor", "bus": "motor", "truck": "motor",
    "bicycle": "non_motor",
    # A detector's "motorcycle" is as often an electric bicycle (non-motor vehicle in law) as a
    # motorcycle (motor vehicle); a rider may be on either. The reviewer decides, so no code.
    "motorcycle": "two_wheeler", "rider": "two_wheeler",
}

OFFENCES: dict[tuple[str, str], Offence] = {
    ("red_light_pedestrian", "pedestrian"): Offence("行人不按交通信号灯指示通行", "Pedestrian crossing against a red signal"),
    ("wrong_way", "motor"): Offence("机动车逆向行驶", "Motor vehicle driving against traffic", "1301"),
    ("wrong_way", "non_motor"): Offence("非机动车逆向行驶", "Non-motor vehicle riding against traffic"),
    ("wrong_way", "two_wheeler"): Offence("摩托车 / 电动自行车逆向行驶", "Motorcycle / e-bike riding against traffic"),
    ("illegal_parking", "motor"): Offence("机动车违反规定停放", "Vehicle parked where parking is prohibited", "1039"),
    ("illegal_parking", "two_wheeler"): Offence("摩托车 / 电动自行车违反规定停放", "Motorcycle / e-bike parked where prohibited"),
    # Not a traffic offence: city-appearance rules (市容环境卫生管理), numbered locally if at all.
    ("litter", "any"): Offence("乱扔垃圾", "Littering"),
}

# Fallback per rule when the offender's category has no row of its own.
RULE_DEFAULT = {
    "red_light_pedestrian": ("red_light_pedestrian", "pedestrian"),
    "wrong_way": ("wrong_way", "non_motor"),
    "illegal_parking": ("illegal_parking", "motor"),
    "litter": ("litter", "any"),
}


def offence_for(rule: str, object_class: str, codes: Mapping[str, str] | None = None) -> Offence:
    """The offence a case of ``rule`` by an ``object_class`` is, with the city's code if given."""
    category = CATEGORY.get(object_class, "any")
    key = (rule, category) if (rule, category) in OFFENCES else RULE_DEFAULT.get(rule)
    base = OFFENCES.get(key) if key else None
    if base is None:
        base = Offence(rule.replace("_", " "), rule.replace("_", " ").capitalize())
    codes = codes or {}
    code = codes.get(f"{rule}:{category}", codes.get(rule, base.code))
    return Offence(base.name_zh, base.name_en, str(code or ""))
