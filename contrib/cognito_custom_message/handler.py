"""Amazon Cognito CustomMessage trigger: a password-reset email with a link to the reset site.

For ``CustomMessage_ForgotPassword`` events this rewrites the email (HTML) and the SMS
so that they carry a link of the form::

    RESET_SITE_URL/reset/?username=<URL-encoded username>&code={####}

Cognito replaces the ``{####}`` placeholder with the verification code when it sends
the message, so the placeholder must appear literally, neither URL-encoded nor
HTML-escaped. Every other trigger source is passed through untouched.

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
    Overrides the subject line.

Only the Python standard library is used, so the file can be deployed as is.
The code and the message body are never logged.
"""

from __future__ import annotations

import html
import logging
import os
import re
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
    if isinstance(request, dict):
        value = request.get("codeParameter")
        if isinstance(value, str) and value:
            placeholder = value

    brand = _one_line(os.environ.get("BRAND_NAME", ""))
    color = _brand_color(os.environ.get("BRAND_COLOR", ""))
    support = _support_email(os.environ.get("SUPPORT_EMAIL", ""))
    subject = _one_line(os.environ.get("EMAIL_SUBJECT", ""))
    if not subject:
        subject = f"Reset your {brand} password" if brand else "Reset your password"

    # Everything before the placeholder is built (and encoded) by us; the placeholder
    # itself is appended raw, because Cognito looks for it literally.
    link_prefix = f"{base_url}/reset/?username={quote(username, safe='')}&code="

    email = render_email(
        link_prefix=link_prefix,
        placeholder=placeholder,
        username=username,
        brand=brand,
        color=color,
        support=support,
    )
    if len(email) >= MAX_EMAIL_CHARS:
        logger.warning("Email too long for Cognito; sending the minimal version")
        email = render_minimal_email(link_prefix=link_prefix, placeholder=placeholder)
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
        link_prefix=link_prefix, placeholder=placeholder, brand=brand
    )
    logger.info(
        "Built the password-reset message (userPoolId=%s)", _one_line(str(event.get("userPoolId")))
    )
    return event


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


def render_email(
    *,
    link_prefix: str,
    placeholder: str,
    username: str,
    brand: str,
    color: str,
    support: str,
) -> str:
    href = _href(link_prefix, placeholder)
    title = f"Reset your {_h(brand)} password" if brand else "Reset your password"
    button_text = _text_color(color)
    support_html = ""
    if support:
        support_html = (
            '<p style="margin:16px 0 0;font-size:13px;color:#555555;">'
            f'Questions? Contact <a href="mailto:{_h(support)}" style="color:#555555;">'
            f"{_h(support)}</a>.</p>"
        )
    signature = f'<p style="margin:24px 0 0;">The {_h(brand)} team</p>' if brand else ""
    return (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f5;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f5;"><tr><td align="center" style="padding:24px 12px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:560px;background:#ffffff;border-radius:8px;">'
        '<tr><td style="padding:32px;font-family:Arial,Helvetica,sans-serif;font-size:16px;'
        'line-height:1.5;color:#111111;">\n'
        f'<h1 style="margin:0 0 16px;font-size:22px;">{title}</h1>\n'
        '<p style="margin:0 0 16px;">We received a request to reset the password for the '
        f'account <strong style="word-break:break-all;">{_h(username)}</strong>.</p>\n'
        '<p style="margin:0 0 24px;">Choose a new password with the button below. '
        "The code in the link is valid for 1 hour.</p>\n"
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0">'
        f'<tr><td align="center" bgcolor="{color}" style="border-radius:6px;">'
        f'<a href="{href}" target="_blank" rel="noopener" '
        f'style="display:inline-block;padding:12px 24px;font-size:16px;font-weight:bold;'
        f'color:{button_text};text-decoration:none;border-radius:6px;">'
        "Reset password</a></td></tr></table>\n"
        '<p style="margin:24px 0 0;font-size:14px;color:#555555;">'
        "If the button does not work, copy this address into your browser:<br>"
        f'<a href="{href}" style="color:#555555;word-break:break-all;">{href}</a></p>\n'
        '<p style="margin:24px 0 0;">If you did not ask to reset your password, you can '
        "ignore this email. Your password will not change.</p>\n"
        f"{signature}{support_html}\n"
        "</td></tr></table>\n"
        "</td></tr></table>\n"
        "</body></html>\n"
    )


def render_minimal_email(*, link_prefix: str, placeholder: str) -> str:
    """A bare message with the link, for when the full one would be too long."""
    href = _href(link_prefix, placeholder)
    return (
        f'<p>Reset your password: <a href="{href}">{href}</a></p>'
        "<p>The code in the link is valid for 1 hour. "
        "If you did not ask to reset your password, you can ignore this email.</p>"
    )


def render_sms(*, link_prefix: str, placeholder: str, brand: str) -> str:
    link = link_prefix + placeholder
    if brand and placeholder not in brand:
        branded = f"{brand} password reset (valid 1 hour): {link}"
        if len(branded) <= MAX_SMS_CHARS:
            return branded
    return f"Password reset (valid 1 hour): {link}"
