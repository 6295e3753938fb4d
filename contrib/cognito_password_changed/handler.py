"""Amazon Cognito PostConfirmation trigger: tell the user that their password was changed.

After a successful ConfirmForgotPassword, Cognito fires PostConfirmation with the
``triggerSource`` ``PostConfirmation_ConfirmForgotPassword``. For those events this
function emails the user through Amazon SES: their password was changed, when, and
what to do if it wasn't them. The email is branded like the CustomMessage trigger's
and written in the user's language (the ``locale`` attribute, matched as the reset
site matches browsers; anything it does not ship gets English). With
``SIGN_OUT_EVERYWHERE=true`` it also calls AdminUserGlobalSignOut, so refresh tokens
issued before the reset (a thief's included) stop working.

Every other trigger source is passed through untouched. Failures are logged and
never block the user: the event is always returned, because Cognito would
otherwise report an error for a reset that has already happened.

Configuration (Lambda environment variables):

``SENDER_EMAIL`` (required)
    The From address, an identity verified in SES. When it is missing or invalid
    no email is sent, and an error is logged.
``SIGN_OUT_EVERYWHERE``
    ``true`` to end the user's sessions everywhere after the reset.
``RESET_SITE_URL``
    Base URL of the reset site; the email then links to its "get a new code" page.
``BRAND_NAME``, ``BRAND_COLOR``, ``SUPPORT_EMAIL``
    As for the CustomMessage trigger.
``SES_REGION``
    The region of the SES identity, when it is not the function's own.

Only the standard library and the boto3 of the Lambda runtime are used. The texts
are in ``messages/<language>.json`` next to this file, so the deployment package is
the folder (the handler and its ``messages``), zipped. The email address and the
message are never logged.
"""

from __future__ import annotations

import datetime
import functools
import html
import json
import logging
import os
import re
from collections.abc import Iterable
from email.utils import formataddr
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import boto3
import botocore.exceptions
from botocore.config import Config

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

TRIGGER: Final = "PostConfirmation_ConfirmForgotPassword"
DEFAULT_COLOR: Final = "#0b57d0"
# Cognito waits 5 s for a trigger: two calls of at most 2 s each fit, with room.
_CONFIG: Final = Config(
    connect_timeout=0.5, read_timeout=1.5, retries={"mode": "standard", "total_max_attempts": 1}
)
_COLOR_RE: Final = re.compile(r"#[0-9a-fA-F]{6}")
_EMAIL_RE: Final = re.compile(
    r"[^@\s<>\"'()\[\],;:\\]+@[^@\s<>\"'()\[\],;:\\]+\.[^@\s<>\"'()\[\],;:\\]+"
)
_SPACE_RE: Final = re.compile(r"\s+")

# The languages the reset site ships, in its order. Each one's texts are the flat JSON
# object in messages/<code>.json, next to this file; {account}, {when}, {brand} and
# {support} are filled in. A missing file means that language is not offered; en.json
# is required.
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
    """Lambda entry point. Returns the event, always, unchanged."""
    if not isinstance(event, dict) or event.get("triggerSource") != TRIGGER:
        return event
    try:
        _notify(event)
    except Exception as exc:  # nothing here may fail the reset that already happened
        logger.error("Password-changed notice failed: %s", type(exc).__name__)
    return event


def _notify(event: dict[str, Any]) -> None:
    pool_id = str(event.get("userPoolId") or "")
    username = event.get("userName")
    request = event.get("request")
    attributes = request.get("userAttributes") if isinstance(request, dict) else None
    if not isinstance(attributes, dict):
        attributes = {}
    region = str(event.get("region") or os.environ.get("AWS_REGION") or "")

    signed_out = False
    if os.environ.get("SIGN_OUT_EVERYWHERE", "").strip().lower() == "true":
        signed_out = sign_out_everywhere(region, pool_id, username)

    email = attributes.get("email")
    if not isinstance(email, str) or not _EMAIL_RE.fullmatch(email):
        logger.info("No email address on the account; no notice sent (userPoolId=%s)", pool_id)
        return
    if str(attributes.get("email_verified", "")).lower() != "true":
        logger.info("The email address is not verified; no notice sent (userPoolId=%s)", pool_id)
        return
    sender = os.environ.get("SENDER_EMAIL", "").strip()
    if not _EMAIL_RE.fullmatch(sender):
        logger.error("SENDER_EMAIL is missing or is not an email address; no notice sent")
        return

    # Pools that sign in with the email address give a generated ID as userName.
    account = username if isinstance(username, str) and username else email
    if account == attributes.get("sub"):
        account = email
    message = compose(
        language=language(attributes.get("locale")),
        account=account,
        when=datetime.datetime.now(datetime.UTC),
        signed_out=signed_out,
        brand=_one_line(os.environ.get("BRAND_NAME", "")),
        color=_brand_color(os.environ.get("BRAND_COLOR", "")),
        support=_support_email(os.environ.get("SUPPORT_EMAIL", "")),
        site=_site_url(os.environ.get("RESET_SITE_URL", "")),
    )
    brand = _one_line(os.environ.get("BRAND_NAME", ""))
    ses_region = os.environ.get("SES_REGION", "").strip() or region
    try:
        _client("ses", ses_region).send_email(
            Source=formataddr((brand, sender), charset="utf-8") if brand else sender,
            Destination={"ToAddresses": [email]},
            Message={
                "Subject": {"Data": message["subject"], "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": message["text"], "Charset": "UTF-8"},
                    "Html": {"Data": message["html"], "Charset": "UTF-8"},
                },
            },
        )
    except botocore.exceptions.ClientError as exc:
        logger.error("SES refused the notice: %s (userPoolId=%s)", _code(exc), pool_id)
        return
    except botocore.exceptions.BotoCoreError as exc:
        logger.error("SES could not be reached: %s (userPoolId=%s)", type(exc).__name__, pool_id)
        return
    logger.info("Sent the password-changed notice (userPoolId=%s)", pool_id)


def sign_out_everywhere(region: str, pool_id: str, username: Any) -> bool:
    """AdminUserGlobalSignOut; True if it worked. Failures are logged, never raised."""
    if not pool_id or not isinstance(username, str) or not username:
        logger.error("Event has no userPoolId or userName; nobody signed out")
        return False
    try:
        _client("cognito-idp", region).admin_user_global_sign_out(
            UserPoolId=pool_id, Username=username
        )
    except botocore.exceptions.ClientError as exc:
        logger.error("Global sign-out refused: %s (userPoolId=%s)", _code(exc), pool_id)
        return False
    except botocore.exceptions.BotoCoreError as exc:
        logger.error("Global sign-out failed: %s (userPoolId=%s)", type(exc).__name__, pool_id)
        return False
    logger.info("Signed the user out everywhere (userPoolId=%s)", pool_id)
    return True


@functools.lru_cache(maxsize=4)
def _client(service: str, region: str) -> Any:
    """One client per service and region for the life of the execution environment."""
    return boto3.client(service, region_name=region or None, config=_CONFIG)  # type: ignore[call-overload]


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


# --- configuration -------------------------------------------------------------------------


def language(locale: Any) -> str:
    """The language for a ``locale`` attribute (de, de-AT, pt_BR, zh-TW, …), else en."""
    return match_language(locale, TEXTS) or "en"


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


def _site_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    if not url or any(ch.isspace() or not ch.isprintable() for ch in url):
        return ""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.query or parts.fragment:
        logger.warning("RESET_SITE_URL is not an http(s) URL; the notice has no link")
        return ""
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
    printable = "".join(ch if ch.isprintable() else " " for ch in value)
    return _SPACE_RE.sub(" ", printable).strip()


def _text_color(background: str) -> str:
    """White or near-black, whichever contrasts more with the #rrggbb background."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(background[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    on_white = 1.05 / (luminance + 0.05)
    on_dark = (luminance + 0.05) / (0.0056 + 0.05)
    return "#ffffff" if on_white >= on_dark else "#111111"


# --- rendering -----------------------------------------------------------------------------


def _h(value: str) -> str:
    return html.escape(value, quote=True)


def compose(
    *,
    language: str,
    account: str,
    when: datetime.datetime,
    signed_out: bool,
    brand: str,
    color: str,
    support: str,
    site: str,
) -> dict[str, str]:
    """The notice's subject, plain text and HTML, in ``language``."""
    t = TEXTS.get(language, TEXTS["en"])
    utc = when.astimezone(datetime.UTC)
    stamp = t["when"].format(Y=utc.year, m=utc.month, d=utc.day, H=utc.hour, M=utc.minute)
    subject = t["subject_brand"].format(brand=brand) if brand else t["subject"]
    link = f"{site}/forgot/" if site else ""
    paragraphs = [t["changed"].format(account=account, when=stamp)]
    if signed_out:
        paragraphs.append(t["signed_out"])
    paragraphs += [t["if_you"], t["if_not"]]
    closing = [t["team"].format(brand=brand)] if brand else []
    questions = t["questions"].format(support=support) if support else ""

    text = "\n\n".join(
        [*paragraphs, *([link] if link else []), *([questions] if questions else []), *closing]
    )

    html_paragraphs = [
        '<p style="margin:0 0 16px;">'
        + _h(t["changed"])
        .replace("{account}", f'<strong style="word-break:break-all;">{_h(account)}</strong>')
        .replace("{when}", _h(stamp))
        + "</p>"
    ]
    html_paragraphs += [f'<p style="margin:0 0 16px;">{_h(p)}</p>' for p in paragraphs[1:]]
    button = ""
    if link:
        button = (
            '<table role="presentation" cellpadding="0" cellspacing="0" border="0">'
            f'<tr><td align="center" bgcolor="{color}" style="border-radius:6px;">'
            f'<a href="{_h(link)}" target="_blank" rel="noopener" '
            'style="display:inline-block;padding:12px 24px;font-size:16px;font-weight:bold;'
            f'color:{_text_color(color)};text-decoration:none;border-radius:6px;">'
            f"{_h(t['button'])}</a></td></tr></table>\n"
        )
    support_html = ""
    if support:
        mailto = f'<a href="mailto:{_h(support)}" style="color:#555555;">{_h(support)}</a>'
        support_html = (
            '<p style="margin:16px 0 0;font-size:13px;color:#555555;">'
            + _h(t["questions"]).replace("{support}", mailto)
            + "</p>"
        )
    signature = f'<p style="margin:24px 0 0;">{_h(closing[0])}</p>' if closing else ""
    lang = "pt-BR" if language == "pt-br" else language
    direction = ' dir="rtl"' if language in RIGHT_TO_LEFT else ""
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"{direction}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_h(subject)}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f5;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f5;"><tr><td align="center" style="padding:24px 12px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:560px;background:#ffffff;border-radius:8px;">'
        f'<tr><td{direction} style="padding:32px;font-family:Arial,Helvetica,sans-serif;'
        'font-size:16px;line-height:1.5;color:#111111;">\n'
        f'<h1 style="margin:0 0 16px;font-size:22px;">{_h(subject)}</h1>\n'
        + "\n".join(html_paragraphs)
        + "\n"
        + button
        + f"{signature}{support_html}\n"
        "</td></tr></table>\n"
        "</td></tr></table>\n"
        "</body></html>\n"
    )
    return {"subject": subject, "text": text, "html": page}
