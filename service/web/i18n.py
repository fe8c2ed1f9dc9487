"""Message catalogues for the pages: one lookup used by the templates and handed to the scripts.

Catalogues are flat JSON files (``service/web/i18n/<lang>.json``) so that a translator edits one
file per language and a test can prove both have the same keys. The language comes from the
``cw_lang`` cookie (set by the switch on every page) and otherwise from ``Accept-Language``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from detector.explain import OBJECT_ZH

CATALOGUE_DIR = Path(__file__).parent / "i18n"
LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "cw_lang"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language; unknown languages get the default's."""
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    with open(CATALOGUE_DIR / f"{lang}.json", encoding="utf-8") as fh:
        messages = json.load(fh)
    # every object a detector can name (a litter case's object_class: bottle, suitcase, ...) from
    # the table the evidence sheet and the explanations use, so pages do not show the English code
    for name in OBJECT_ZH:
        messages.setdefault(f"object.{name}", OBJECT_ZH[name] if lang == "zh-CN" else _object_en(name))
    return messages


def _object_en(name: str) -> str:
    return "TV" if name == "tv" else name[:1].upper() + name[1:]


def translate(lang: str, key: str, **params: object) -> str:
    """Message ``key`` in ``lang`` with ``{name}`` placeholders filled; the key itself if missing,
    so a forgotten message shows up on the page instead of breaking it."""
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    for name, value in params.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def _match(tag: str) -> str | None:
    tag = tag.strip().lower()
    if not tag:
        return None
    for lang in LANGUAGES:
        if tag == lang.lower():
            return lang
    primary = tag.split("-")[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages for an ``Accept-Language`` header (q-values honoured)."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, rest = part.partition(";")
        q = 1.0
        rest = rest.strip()
        if rest.startswith("q="):
            try:
                q = float(rest[2:])
            except ValueError:
                q = 0.0
        lang = _match(tag)
        if lang and q > 0:
            ranked.append((-q, index, lang))
    ranked.sort()
    return ranked[0][2] if ranked else None


def negotiate(cookie_value: str | None, accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Cookie first (the person chose it), then the browser's preference, then the default."""
    if cookie_value in LANGUAGES:
        return cookie_value  # type: ignore[return-value]
    return from_accept_language(accept_language) or (default if default in LANGUAGES else DEFAULT_LANGUAGE)
