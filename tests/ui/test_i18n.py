"""Both catalogues are complete, every key the pages use exists, and language negotiation works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from service.web import i18n

WEB = Path(i18n.__file__).parent


def test_catalogues_have_the_same_keys() -> None:
    en, zh = i18n.catalogue("en"), i18n.catalogue("zh-CN")
    assert set(en) - set(zh) == set(), "keys missing in zh-CN"
    assert set(zh) - set(en) == set(), "keys missing in en"
    assert all(v.strip() for v in list(en.values()) + list(zh.values())), "empty messages"


def test_placeholders_match_between_languages() -> None:
    en, zh = i18n.catalogue("en"), i18n.catalogue("zh-CN")
    for key in en:
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", zh[key])), key


def test_chinese_catalogue_is_chinese() -> None:
    zh = i18n.catalogue("zh-CN")
    cjk = [k for k, v in zh.items() if re.search(r"[\u4e00-\u9fff]", v)]
    assert len(cjk) > 0.9 * len(zh)


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in (WEB / "templates").glob("*.html"):
        keys |= set(re.findall(r"""\bt\(\s*'([a-z0-9_.]+)'""", path.read_text(encoding="utf-8")))
    for path in (WEB / "static" / "js").glob("*.js"):
        keys |= set(re.findall(r"""CW\.t\(\s*'([a-z0-9_.]+)'""", path.read_text(encoding="utf-8")))
    # 'state.' ~ s and 'upload.phase.' + phase are families, checked by the test below
    return {k for k in keys if not k.endswith((".", "_"))}


def test_every_literal_key_used_by_pages_and_scripts_exists() -> None:
    used = _used_keys()
    assert len(used) > 100
    missing = sorted(used - set(i18n.catalogue("en")))
    assert missing == []


def test_dynamic_label_families_are_complete() -> None:
    en = i18n.catalogue("en")
    for prefix, values in {
        "state": ["pending", "approved", "rejected", "published", "withdrawn"],
        "job": ["queued", "running", "done", "failed", "cancelled"],
        "role": ["admin", "reviewer", "operator", "display"],
        "rule": ["red_light_pedestrian", "wrong_way", "illegal_parking", "litter"],
        "zone": ["crosswalk", "lane", "no_parking", "no_litter"],
        "upload.phase": ["hashing", "uploading", "finishing", "done"],
        "display.status": ["connecting", "online", "offline", "unauthorized"],
    }.items():
        for v in values:
            assert f"{prefix}.{v}" in en, f"{prefix}.{v}"


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "zh-CN"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-TW,zh;q=0.9,en;q=0.8", "zh-CN"),
        (None, "fr-FR,en;q=0.5,zh;q=0.8", "zh-CN"),
        (None, "fr-FR", "zh-CN"),
        ("en", "zh-CN", "en"),
        ("xx", "en", "en"),
    ],
)
def test_negotiation(cookie, header, expected) -> None:
    assert i18n.negotiate(cookie, header) == expected


def test_translate_fills_placeholders_and_shows_missing_keys() -> None:
    assert i18n.translate("en", "review.queue_count", n=3) == "3 cases"
    assert i18n.translate("zh-CN", "review.queue_count", n=3) == "共 3 件"
    assert i18n.translate("en", "no.such.key") == "no.such.key"


def test_catalogues_are_valid_json_objects_of_strings() -> None:
    for lang in i18n.LANGUAGES:
        data = json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
