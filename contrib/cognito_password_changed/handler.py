"""Amazon Cognito PostConfirmation trigger: tell the user that their password was changed.

After a successful ConfirmForgotPassword, Cognito fires PostConfirmation with the
``triggerSource`` ``PostConfirmation_ConfirmForgotPassword``. For those events this
function emails the user through Amazon SES: their password was changed, when, and
what to do if it wasn't them. The email is branded like the CustomMessage trigger's
and written in the user's language (the ``locale`` attribute: en, de, fr, es, pt-br,
ja; anything else gets English). With ``SIGN_OUT_EVERYWHERE=true`` it also calls
AdminUserGlobalSignOut, so refresh tokens issued before the reset (a thief's
included) stop working.

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

Only the standard library and the boto3 of the Lambda runtime are used, so the
file can be deployed as is. The email address and the message are never logged.
"""

from __future__ import annotations

import datetime
import functools
import html
import logging
import os
import re
from email.utils import formataddr
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

# Each language's texts. {account}, {when}, {brand} and {support} are filled in.
TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "subject": "Your password was changed",
        "subject_brand": "Your {brand} password was changed",
        "changed": "The password for the account {account} was changed on {when}.",
        "if_you": "If you made this change, you don't need to do anything.",
        "if_not": (
            "If you didn't, reset your password now: someone else may have access to your account."
        ),
        "button": "Reset your password",
        "signed_out": (
            "For your security, you have been signed out on all your devices. "
            "Sign in again with your new password."
        ),
        "team": "The {brand} team",
        "questions": "Questions? Contact {support}.",
        "when": "{Y}-{m:02d}-{d:02d} at {H:02d}:{M:02d} UTC",
    },
    "de": {
        "subject": "Ihr Passwort wurde geändert",
        "subject_brand": "Ihr {brand}-Passwort wurde geändert",
        "changed": "Das Passwort für das Konto {account} wurde am {when} geändert.",
        "if_you": "Wenn Sie das waren, müssen Sie nichts weiter tun.",
        "if_not": (
            "Wenn nicht, setzen Sie Ihr Passwort jetzt zurück: Möglicherweise hat jemand "
            "anderes Zugriff auf Ihr Konto."
        ),
        "button": "Passwort zurücksetzen",
        "signed_out": (
            "Zu Ihrer Sicherheit wurden Sie auf allen Geräten abgemeldet. Melden Sie sich "
            "mit Ihrem neuen Passwort wieder an."
        ),
        "team": "Ihr {brand}-Team",
        "questions": "Fragen? Schreiben Sie an {support}.",
        "when": "{d:02d}.{m:02d}.{Y} um {H:02d}:{M:02d} Uhr (UTC)",
    },
    "fr": {
        "subject": "Votre mot de passe a été modifié",
        "subject_brand": "Votre mot de passe {brand} a été modifié",
        "changed": "Le mot de passe du compte {account} a été modifié le {when}.",
        "if_you": "Si c’est vous qui l’avez modifié, vous n’avez rien à faire.",
        "if_not": (
            "Sinon, réinitialisez votre mot de passe dès maintenant\u00a0: quelqu’un d’autre "
            "a peut-être accès à votre compte."
        ),
        "button": "Réinitialiser le mot de passe",
        "signed_out": (
            "Par sécurité, nous avons fermé vos sessions sur tous vos appareils. "
            "Reconnectez-vous avec votre nouveau mot de passe."
        ),
        "team": "L’équipe {brand}",
        "questions": "Des questions\u00a0? Écrivez à {support}.",
        "when": "{d:02d}/{m:02d}/{Y} à {H:02d}\u00a0h\u00a0{M:02d} (UTC)",
    },
    "es": {
        "subject": "Se ha cambiado tu contraseña",
        "subject_brand": "Se ha cambiado tu contraseña de {brand}",
        "changed": "La contraseña de la cuenta {account} se cambió el {when}.",
        "if_you": "Si fuiste tú, no tienes que hacer nada.",
        "if_not": (
            "Si no fuiste tú, restablece tu contraseña ahora: puede que otra persona tenga "
            "acceso a tu cuenta."
        ),
        "button": "Restablecer la contraseña",
        "signed_out": (
            "Por seguridad, hemos cerrado tu sesión en todos tus dispositivos. Vuelve a "
            "iniciar sesión con tu nueva contraseña."
        ),
        "team": "El equipo de {brand}",
        "questions": "¿Tienes preguntas? Escribe a {support}.",
        "when": "{d:02d}/{m:02d}/{Y} a las {H:02d}:{M:02d} (UTC)",
    },
    "pt-br": {
        "subject": "Sua senha foi alterada",
        "subject_brand": "Sua senha do {brand} foi alterada",
        "changed": "A senha da conta {account} foi alterada em {when}.",
        "if_you": "Se foi você, não é preciso fazer nada.",
        "if_not": (
            "Se não foi você, redefina sua senha agora: outra pessoa pode ter acesso à sua conta."
        ),
        "button": "Redefinir senha",
        "signed_out": (
            "Por segurança, encerramos sua sessão em todos os seus dispositivos. Entre "
            "novamente com a nova senha."
        ),
        "team": "Equipe {brand}",
        "questions": "Dúvidas? Escreva para {support}.",
        "when": "{d:02d}/{m:02d}/{Y} às {H:02d}:{M:02d} (UTC)",
    },
    "ja": {
        "subject": "パスワードが変更されました",
        "subject_brand": "{brand} のパスワードが変更されました",
        "changed": "アカウント {account} のパスワードが {when} に変更されました。",
        "if_you": "ご自身で変更した場合は、特に操作は必要ありません。",
        "if_not": (
            "心当たりがない場合は、今すぐパスワードを再設定してください。"
            "第三者がアカウントにアクセスしている可能性があります。"
        ),
        "button": "パスワードを再設定",
        "signed_out": (
            "安全のため、すべてのデバイスからサインアウトしました。"
            "新しいパスワードでもう一度サインインしてください。"
        ),
        "team": "{brand} チーム",
        "questions": "ご不明な点は {support} までお問い合わせください。",
        "when": "{Y}年{m}月{d}日 {H:02d}:{M:02d}（UTC）",
    },
}


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
    """The supported language for a ``locale`` attribute (de, de-AT, pt_BR, …), else en."""
    tag = str(locale or "").strip().lower().replace("_", "-")
    if tag in TEXTS:
        return tag
    primary = tag.split("-", 1)[0]
    if primary == "pt":
        return "pt-br"
    return primary if primary in TEXTS else "en"


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
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_h(subject)}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f5;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background:#f4f4f5;"><tr><td align="center" style="padding:24px 12px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:560px;background:#ffffff;border-radius:8px;">'
        '<tr><td style="padding:32px;font-family:Arial,Helvetica,sans-serif;font-size:16px;'
        'line-height:1.5;color:#111111;">\n'
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
