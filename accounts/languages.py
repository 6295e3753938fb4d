"""Which of the site's languages a language tag means: ``?lang=``, the cookie, the browser.

Django's own matching, after tidying the tag: case and ``_`` (``zh_TW``, ``pt_BR``,
``ZH-tw``), and the old codes some systems still send (``iw`` Hebrew, ``in``
Indonesian). Django then picks Chinese by script or region (``zh-CN``, ``zh-SG`` and
``zh-Hans`` are Simplified; ``zh-TW``, ``zh-HK``, ``zh-MO`` and ``zh-Hant``
Traditional) and a language shipped in one variant only by its prefix (``pt`` and
``pt-PT`` get Brazilian Portuguese). The Lambda triggers in contrib/ match a user's
``locale`` the same way (tests/test_languages.py holds them to it).
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

OLD_CODES = {"iw": "he", "in": "id", "ji": "yi"}
MAX_TAG = 35


@functools.lru_cache(maxsize=1000)
def match(tag: str) -> str | None:
    """The code in settings.LANGUAGES for a language tag, or None."""
    if not tag or len(tag) > MAX_TAG:
        return None
    primary, _, rest = tag.strip().lower().replace("_", "-").partition("-")
    tidy = OLD_CODES.get(primary, primary) + ("-" + rest if rest else "")
    if not tidy or not all(part.isalnum() and part.isascii() for part in tidy.split("-")):
        return None
    try:
        code = translation.get_supported_language_variant(tidy)
    except LookupError:
        return None
    return code if code in dict(settings.LANGUAGES) else None


def from_browser(request: HttpRequest) -> str | None:
    """The first of the browser's Accept-Language tags (by preference) the site speaks."""
    for tag, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if tag == "*":
            break
        code = match(tag)
        if code:
            return code
    return None


def from_request(request: HttpRequest) -> str:
    """The page's language without ``?lang=``: the remembered choice, else the browser's."""
    remembered = match(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""))
    return remembered or from_browser(request) or settings.LANGUAGE_CODE


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    """Tests (and only tests) change LANGUAGES at run time."""
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        match.cache_clear()
