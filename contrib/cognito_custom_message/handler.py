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
is one the reset site ships (en, de, fr, es, pt-br, ja; ``de-AT`` is German and
``pt`` Brazilian Portuguese), and ``&lang=`` then opens the site in that language
too. Any other locale, or none, gets English and no ``lang`` (the site then follows
the browser).

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
    """The site language for a ``locale`` attribute (``de-DE``, ``pt_BR``, ``ja``), or None."""
    if not isinstance(locale, str) or len(locale) > 35:
        return None
    tag = locale.strip().lower().replace("_", "-")
    if tag in TEXTS:
        return tag
    primary = tag.split("-", 1)[0]
    if primary in TEXTS:
        return primary
    # As the site does (Django): a language it ships in one variant only, e.g. pt → pt-br.
    return next((code for code in TEXTS if primary and code.startswith(primary + "-")), None)


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
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
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
        f'<a href="{href}" style="color:#555555;word-break:break-all;">{href}</a></p>\n'
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


# --- the texts, in every language the reset site ships --------------------------------------
#
# Templates use %(name)s; the values are put in after the template is escaped for HTML.
# Each language's own punctuation: French puts a no-break space before : and ?.

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "subject": "Reset your password",
        "subject_brand": "Reset your %(brand)s password",
        "intro": "We received a request to reset the password for the account %(account)s.",
        "action": (
            "Choose a new password with the button below. The code in the link is valid for 1 hour."
        ),
        "button": "Reset password",
        "fallback": "If the button does not work, copy this address into your browser:",
        "ignore": (
            "If you did not ask to reset your password, you can ignore this email. "
            "Your password will not change."
        ),
        "signature": "The %(brand)s team",
        "support": "Questions? Contact %(email)s.",
        "minimal_lead": "Reset your password: %(link)s",
        "minimal_rest": (
            "The code in the link is valid for 1 hour. "
            "If you did not ask to reset your password, you can ignore this email."
        ),
        "sms": "Password reset (valid 1 hour): %(link)s",
        "sms_brand": "%(brand)s password reset (valid 1 hour): %(link)s",
    },
    "de": {
        "subject": "Passwort zurücksetzen",
        "subject_brand": "Passwort für %(brand)s zurücksetzen",
        "intro": (
            "Wir haben eine Anfrage erhalten, das Passwort für das Konto %(account)s "
            "zurückzusetzen."
        ),
        "action": (
            "Wählen Sie über die Schaltfläche unten ein neues Passwort. "
            "Der Code im Link ist 1 Stunde lang gültig."
        ),
        "button": "Passwort zurücksetzen",
        "fallback": (
            "Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren "
            "Browser:"
        ),
        "ignore": (
            "Wenn Sie das Zurücksetzen nicht angefordert haben, können Sie diese E-Mail "
            "ignorieren. Ihr Passwort bleibt unverändert."
        ),
        "signature": "Ihr Team von %(brand)s",
        "support": "Fragen? Schreiben Sie an %(email)s.",
        "minimal_lead": "Passwort zurücksetzen: %(link)s",
        "minimal_rest": (
            "Der Code im Link ist 1 Stunde lang gültig. Wenn Sie das Zurücksetzen nicht "
            "angefordert haben, können Sie diese E-Mail ignorieren."
        ),
        "sms": "Passwort zurücksetzen (1 Stunde gültig): %(link)s",
        "sms_brand": "%(brand)s – Passwort zurücksetzen (1 Stunde gültig): %(link)s",
    },
    "fr": {
        "subject": "Réinitialisez votre mot de passe",
        "subject_brand": "Réinitialisez votre mot de passe %(brand)s",
        "intro": (
            "Nous avons reçu une demande de réinitialisation du mot de passe du compte %(account)s."
        ),
        "action": (
            "Choisissez un nouveau mot de passe avec le bouton ci-dessous. "
            "Le code contenu dans le lien est valable 1 heure."
        ),
        "button": "Réinitialiser le mot de passe",
        "fallback": (
            "Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur\u00a0:"
        ),
        "ignore": (
            "Si vous n’avez pas demandé à réinitialiser votre mot de passe, vous pouvez "
            "ignorer cet e-mail. Votre mot de passe ne changera pas."
        ),
        "signature": "L’équipe %(brand)s",
        "support": "Des questions\u00a0? Écrivez à %(email)s.",
        "minimal_lead": "Réinitialisez votre mot de passe\u00a0: %(link)s",
        "minimal_rest": (
            "Le code contenu dans le lien est valable 1 heure. Si vous n’avez pas demandé à "
            "réinitialiser votre mot de passe, vous pouvez ignorer cet e-mail."
        ),
        "sms": "Réinitialisation du mot de passe (valable 1 heure)\u00a0: %(link)s",
        "sms_brand": (
            "%(brand)s – réinitialisation du mot de passe (valable 1 heure)\u00a0: %(link)s"
        ),
    },
    "es": {
        "subject": "Restablece tu contraseña",
        "subject_brand": "Restablece tu contraseña de %(brand)s",
        "intro": (
            "Hemos recibido una solicitud para restablecer la contraseña de la cuenta %(account)s."
        ),
        "action": (
            "Elige una contraseña nueva con el botón de abajo. "
            "El código del enlace es válido durante 1 hora."
        ),
        "button": "Restablecer contraseña",
        "fallback": "Si el botón no funciona, copia esta dirección en tu navegador:",
        "ignore": (
            "Si no pediste restablecer tu contraseña, puedes ignorar este correo. "
            "Tu contraseña no cambiará."
        ),
        "signature": "El equipo de %(brand)s",
        "support": "¿Tienes preguntas? Escribe a %(email)s.",
        "minimal_lead": "Restablece tu contraseña: %(link)s",
        "minimal_rest": (
            "El código del enlace es válido durante 1 hora. "
            "Si no pediste restablecer tu contraseña, puedes ignorar este correo."
        ),
        "sms": "Restablecer contraseña (válido 1 hora): %(link)s",
        "sms_brand": "%(brand)s – restablecer contraseña (válido 1 hora): %(link)s",
    },
    "pt-br": {
        "subject": "Redefina sua senha",
        "subject_brand": "%(brand)s: redefina sua senha",
        "intro": "Recebemos uma solicitação para redefinir a senha da conta %(account)s.",
        "action": (
            "Escolha uma nova senha usando o botão abaixo. O código do link é válido por 1 hora."
        ),
        "button": "Redefinir senha",
        "fallback": "Se o botão não funcionar, copie este endereço no seu navegador:",
        "ignore": (
            "Se você não pediu para redefinir sua senha, pode ignorar este e-mail. "
            "Sua senha não será alterada."
        ),
        "signature": "Equipe %(brand)s",
        "support": "Dúvidas? Escreva para %(email)s.",
        "minimal_lead": "Redefina sua senha: %(link)s",
        "minimal_rest": (
            "O código do link é válido por 1 hora. "
            "Se você não pediu para redefinir sua senha, pode ignorar este e-mail."
        ),
        "sms": "Redefinição de senha (válida por 1 hora): %(link)s",
        "sms_brand": "%(brand)s – redefinição de senha (válida por 1 hora): %(link)s",
    },
    "ja": {
        "subject": "パスワードの再設定",
        "subject_brand": "%(brand)sのパスワードの再設定",
        "intro": "アカウント %(account)s のパスワード再設定のリクエストを受け付けました。",
        "action": (
            "下のボタンから新しいパスワードを設定してください。"
            "リンク内のコードの有効期間は1時間です。"
        ),
        "button": "パスワードを再設定",
        "fallback": "ボタンが機能しない場合は、次のアドレスをブラウザーに貼り付けてください：",
        "ignore": (
            "パスワードの再設定をリクエストしていない場合は、このメールを無視してください。"
            "パスワードは変更されません。"
        ),
        "signature": "%(brand)s チーム",
        "support": "ご不明な点は %(email)s までお問い合わせください。",
        "minimal_lead": "パスワードの再設定：%(link)s",
        "minimal_rest": (
            "リンク内のコードの有効期間は1時間です。"
            "パスワードの再設定をリクエストしていない場合は、このメールを無視してください。"
        ),
        "sms": "パスワードの再設定（有効期間1時間）：%(link)s",
        "sms_brand": "%(brand)s パスワードの再設定（有効期間1時間）：%(link)s",
    },
}
