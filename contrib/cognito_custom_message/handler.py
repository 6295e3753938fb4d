"""Amazon Cognito CustomMessage trigger: a password-reset email with a link to the reset site.

For ``CustomMessage_ForgotPassword`` events this rewrites the email (HTML) and the SMS
so that they carry a link of the form::

    RESET_SITE_URL/reset/?username=<URL-encoded username>[&lang=<language>]&code={####}

Cognito replaces the ``{####}`` placeholder with the verification code when it sends
the message, so the placeholder must appear literally, neither URL-encoded nor
HTML-escaped. Every other trigger source is passed through untouched.

In a pool where people sign in with their email address (``UsernameAttributes``
includes ``email``), ``userName`` is an internal ID equal to the ``sub`` attribute.
Nobody recognises it, so when ``userName`` equals ``sub`` and the user has an
``email`` attribute, the link and the message carry the email address instead:
Cognito accepts it as the Username of ConfirmForgotPassword.

The message is written in the language of the user's ``locale`` attribute when it
is one the reset site ships (see ``CODES`` and ``language()``: ``de-AT`` is German,
``pt`` Brazilian Portuguese, ``zh-TW`` Traditional Chinese), and ``&lang=`` then opens
the site in that language too. Any other locale, or none, gets English and no ``lang``
(the site then follows the browser).

Configuration (Lambda environment variables):

``RESET_SITE_URL`` (required)
    Base URL of the reset site, e.g. ``https://reset.example.com``. When it is
    missing or invalid the event is returned unchanged, so Cognito's default
    message still goes out, and an error is logged.
``BRAND_NAME``
    Product name shown in the subject and the email.
``BRAND_COLOR``
    Button colour as ``#rrggbb``; anything else falls back to the default.
``SUPPORT_EMAIL``
    Optional contact address shown at the bottom of the email.
``EMAIL_SUBJECT``
    Overrides the subject line (in every language).

Only the Python standard library is used. The texts are in ``messages/<language>.json``
next to this file, so the deployment package is the folder (the handler and its
``messages``), zipped.

The code and the message body are never logged.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

TRIGGER_FORGOT_PASSWORD: Final = "CustomMessage_ForgotPassword"  # noqa: S105 (not a secret)
DEFAULT_PLACEHOLDER: Final = "{####}"
DEFAULT_COLOR: Final = "#0b57d0"
MAX_EMAIL_CHARS: Final = 20_000
MAX_SUBJECT_CHARS: Final = 140
MAX_SMS_CHARS: Final = 140

_COLOR_RE: Final = re.compile(r"#[0-9a-fA-F]{6}")
_EMAIL_RE: Final = re.compile(
    r"[^@\s<>\"'()\[\],;:\\]+@[^@\s<>\"'()\[\],;:\\]+\.[^@\s<>\"'()\[\],;:\\]+"
)
_SPACE_RE: Final = re.compile(r"\s+")

# The languages the reset site ships, in its order. Each one's texts are the flat JSON
# object in messages/<code>.json, next to this file; templates use %(name)s, and the values
# are put in after the template is escaped for HTML. A missing file means that language
# is not offered; en.json is required.
CODES: Final = (
    "en", "de", "fr", "es", "pt-br", "ja", "it", "nl", "sv", "pl",
    "tr", "id", "vi", "ko", "zh-hans", "zh-hant", "ar", "he", "ru", "uk",
)  # fmt: skip
MESSAGES_DIR: Final = Path(__file__).resolve().with_name("messages")
# Written right to left: the email says so on <html> and on its content cell (some mail
# clients drop the <html> element's attributes).
RIGHT_TO_LEFT: Final = frozenset({"ar", "he"})


def load_texts(folder: Path = MESSAGES_DIR) -> dict[str, dict[str, str]]:
    """Every language's texts, read once at import. A file that is not a flat object of
    strings with exactly the English keys is left out (and logged), so that language gets
    English instead of a broken email."""
    english = json.loads((folder / "en.json").read_text(encoding="utf-8"))
    texts: dict[str, dict[str, str]] = {}
    for code in CODES:
        try:
            data = json.loads((folder / f"{code}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            logger.error("messages/%s.json is unreadable; that language gets English", code)
            continue
        if (
            not isinstance(data, dict)
            or set(data) != set(english)
            or not all(isinstance(v, str) for v in data.values())
        ):
            logger.error("messages/%s.json lacks texts; that language gets English", code)
            continue
        texts[code] = data
    return texts


TEXTS: Final = load_texts()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point. Returns the (possibly modified) event."""
    if event.get("triggerSource") != TRIGGER_FORGOT_PASSWORD:
        return event

    base_url = _site_url(os.environ.get("RESET_SITE_URL", ""))
    if base_url is None:
        logger.error(
            "RESET_SITE_URL is missing or is not an http(s) URL; "
            "leaving Cognito's default message in place"
        )
        return event

    username = event.get("userName")
    if not isinstance(username, str) or not username:
        logger.error("Event has no userName; leaving Cognito's default message in place")
        return event

    request = event.get("request")
    placeholder = DEFAULT_PLACEHOLDER
    attributes: dict[str, Any] = {}
    if isinstance(request, dict):
        value = request.get("codeParameter")
        if isinstance(value, str) and value:
            placeholder = value
        if isinstance(request.get("userAttributes"), dict):
            attributes = request["userAttributes"]

    username = link_username(username, attributes)
    lang = language(attributes.get("locale"))
    texts = TEXTS[lang or "en"]
    brand = _one_line(os.environ.get("BRAND_NAME", ""))
    color = _brand_color(os.environ.get("BRAND_COLOR", ""))
    support = _support_email(os.environ.get("SUPPORT_EMAIL", ""))
    subject = _one_line(os.environ.get("EMAIL_SUBJECT", ""))
    if not subject:
        subject = texts["subject_brand"] % {"brand": brand} if brand else texts["subject"]

    # Everything before the placeholder is built (and encoded) by us; the placeholder
    # itself is appended raw, because Cognito looks for it literally.
    link_prefix = f"{base_url}/reset/?username={quote(username, safe='')}"
    if lang:
        link_prefix += f"&lang={lang}"
    link_prefix += "&code="

    email = render_email(
        link_prefix=link_prefix,
        placeholder=placeholder,
        username=username,
        brand=brand,
        color=color,
        support=support,
        lang=lang or "en",
    )
    if len(email) >= MAX_EMAIL_CHARS:
        logger.warning("Email too long for Cognito; sending the minimal version")
        email = render_minimal_email(
            link_prefix=link_prefix, placeholder=placeholder, lang=lang or "en"
        )
        if len(email) >= MAX_EMAIL_CHARS:
            logger.error("Even the minimal email is too long; leaving Cognito's default message")
            return event

    response = event.get("response")
    if not isinstance(response, dict):
        response = {}
        event["response"] = response
    response["emailSubject"] = _truncate(subject, MAX_SUBJECT_CHARS)
    response["emailMessage"] = email
    response["smsMessage"] = render_sms(
        link_prefix=link_prefix, placeholder=placeholder, brand=brand, lang=lang or "en"
    )
    logger.info(
        "Built the password-reset message (userPoolId=%s, language=%s)",
        _one_line(str(event.get("userPoolId"))),
        lang or "en",
    )
    return event


def link_username(username: str, attributes: dict[str, Any]) -> str:
    """The name the user knows: in an email-as-username pool, ``userName`` is the
    ``sub`` (a UUID), and the email address is what they sign in with."""
    email = attributes.get("email")
    if attributes.get("sub") == username and isinstance(email, str) and email:
        return email
    return username


def language(locale: Any) -> str | None:
    """The site language for a ``locale`` attribute (``de-DE``, ``pt_BR``, ``zh-TW``), or None."""
    return match_language(locale, TEXTS)


def match_language(locale: Any, available: Iterable[str]) -> str | None:
    """The code in ``available`` for a language tag, as the site matches browsers.

    A script or region picks the Chinese (``zh-CN``, ``zh-SG`` and ``zh-Hans`` are
    Simplified; ``zh-TW``, ``zh-HK``, ``zh-MO`` and ``zh-Hant`` Traditional), old codes
    count (``iw`` is Hebrew, ``in`` Indonesian), and a language shipped in one variant
    only takes it (``pt`` and ``pt-PT`` get Brazilian Portuguese). This function is the
    same in both Lambda triggers (a test keeps them so)."""
    if not isinstance(locale, str) or len(locale) > 35:
        return None
    codes = list(available)
    tag = locale.strip().lower().replace("_", "-")
    primary, *rest = tag.split("-")
    primary = {"iw": "he", "in": "id"}.get(primary, primary)
    if tag in codes:
        return tag
    if primary == "zh":
        traditional = "hant" in rest or ("hans" not in rest and bool({"tw", "hk", "mo"} & {*rest}))
        wanted = "zh-hant" if traditional else "zh-hans"
        return wanted if wanted in codes else None
    if primary in codes:
        return primary
    return next((c for c in codes if primary and c.startswith(primary + "-")), None)


# --- configuration -------------------------------------------------------------------------


def _site_url(raw: str) -> str | None:
    """The reset site's base URL without a trailing slash, or None if it is unusable."""
    url = raw.strip().rstrip("/")
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        return None
    if parts.query or parts.fragment:
        return None
    return url


def _brand_color(raw: str) -> str:
    value = raw.strip()
    if _COLOR_RE.fullmatch(value):
        return value.lower()
    if value:
        logger.warning("BRAND_COLOR is not #rrggbb; using the default colour")
    return DEFAULT_COLOR


def _support_email(raw: str) -> str:
    value = raw.strip()
    if value and not _EMAIL_RE.fullmatch(value):
        logger.warning("SUPPORT_EMAIL does not look like an email address; leaving it out")
        return ""
    return value


def _one_line(value: str) -> str:
    """Collapse whitespace (including newlines) and drop control characters."""
    printable = "".join(ch if ch.isprintable() else " " for ch in value)
    return _SPACE_RE.sub(" ", printable).strip()


def _truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "\u2026"


def _text_color(background: str) -> str:
    """White or near-black, whichever contrasts more with the #rrggbb background."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(background[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    dark = 0.0056  # relative luminance of #111111
    on_white = 1.05 / (luminance + 0.05)
    on_dark = (luminance + 0.05) / (dark + 0.05)
    return "#ffffff" if on_white >= on_dark else "#111111"


# --- rendering -----------------------------------------------------------------------------


def _h(value: str) -> str:
    """HTML-escape text, and also the braces so input can never forge a code placeholder."""
    return html.escape(value, quote=True).replace("{", "&#123;").replace("}", "&#125;")


def _href(link_prefix: str, placeholder: str) -> str:
    """The link for an HTML attribute or text: escaped prefix, then the raw placeholder."""
    return html.escape(link_prefix, quote=True) + placeholder


def _t(lang: str, key: str, **values: str) -> str:
    """A text for HTML: the template escaped (braces too, so no text can forge a
    placeholder), then ``values``, which the caller has made safe for HTML."""
    return _h(TEXTS[lang][key]) % values


def render_email(
    *,
    link_prefix: str,
    placeholder: str,
    username: str,
    brand: str,
    color: str,
    support: str,
    lang: str = "en",
) -> str:
    href = _href(link_prefix, placeholder)
    title = _t(lang, "subject_brand", brand=_h(brand)) if brand else _t(lang, "subject")
    button_text = _text_color(color)
    support_html = ""
    if support:
        mailto = f'<a href="mailto:{_h(support)}" style="color:#555555;">{_h(support)}</a>'
        support_html = (
            '<p style="margin:16px 0 0;font-size:13px;color:#555555;">'
            f"{_t(lang, 'support', email=mailto)}</p>"
        )
    signature = (
        f'<p style="margin:24px 0 0;">{_t(lang, "signature", brand=_h(brand))}</p>' if brand else ""
    )
    account = f'<strong style="word-break:break-all;">{_h(username)}</strong>'
    direction = ' dir="rtl"' if lang in RIGHT_TO_LEFT else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"{direction}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f5;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f5;"><tr><td align="center" style="padding:24px 12px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:560px;background:#ffffff;border-radius:8px;">'
        f'<tr><td{direction} style="padding:32px;font-family:Arial,Helvetica,sans-serif;'
        'font-size:16px;line-height:1.5;color:#111111;">\n'
        f'<h1 style="margin:0 0 16px;font-size:22px;">{title}</h1>\n'
        f'<p style="margin:0 0 16px;">{_t(lang, "intro", account=account)}</p>\n'
        f'<p style="margin:0 0 24px;">{_t(lang, "action")}</p>\n'
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td align="center" bgcolor="{color}" style="border-radius:6px;">'
        f'<a href="{href}" target="_blank" rel="noopener" '
        f'style="display:inline-block;padding:12px 24px;font-size:16px;font-weight:bold;'
        f'color:{button_text};text-decoration:none;border-radius:6px;">'
        f"{_t(lang, 'button')}</a></td></tr></table>\n"
        '<p style="margin:24px 0 0;font-size:14px;color:#555555;">'
        f"{_t(lang, 'fallback')}<br>"
        f'<a href="{href}" dir="ltr" style="color:#555555;word-break:break-all;">{href}</a></p>\n'
        f'<p style="margin:24px 0 0;">{_t(lang, "ignore")}</p>\n'
        f"{signature}{support_html}\n"
        "</td></tr></table>\n"
        "</td></tr></table>\n"
        "</body></html>\n"
    )


def render_minimal_email(*, link_prefix: str, placeholder: str, lang: str = "en") -> str:
    """A bare message with the link, for when the full one would be too long."""
    href = _href(link_prefix, placeholder)
    link = f'<a href="{href}">{href}</a>'
    return f"<p>{_t(lang, 'minimal_lead', link=link)}</p><p>{_t(lang, 'minimal_rest')}</p>"


def render_sms(*, link_prefix: str, placeholder: str, brand: str, lang: str = "en") -> str:
    link = link_prefix + placeholder
    texts = TEXTS[lang]
    if brand and placeholder not in brand:
        branded = texts["sms_brand"] % {"brand": brand, "link": link}
        if len(branded) <= MAX_SMS_CHARS:
            return branded
    return texts["sms"] % {"link": link}
