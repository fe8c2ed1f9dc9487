"""The words pages and street screens use for an offence fit every offender its rule judges: the
wrong-way rule judges cars, buses and trucks as well as bicycles and motorbikes (the evidence sheet
calls a car's case 机动车逆向行驶), so neither the rule's name nor the screen's sentence may say
the offender was riding."""

from __future__ import annotations

import re

from detector.evidence.offences import CATEGORY, offence_for
from service.web import i18n


def test_wrong_way_words_do_not_say_riding_for_a_car() -> None:
    assert offence_for("wrong_way", "car").name_zh == "机动车逆向行驶"  # a rule that judges motor vehicles
    assert "motor" in {CATEGORY[c] for c in ("car", "bus", "truck")}
    for key in ("rule.wrong_way", "display.offence.wrong_way"):
        assert not re.search(r"\b(rid(e|es|ing)|rode)\b", i18n.translate("en", key), re.I), key
        assert "骑" not in i18n.translate("zh-CN", key), key
