"""Structured JSON logs and a last line of defence against leaking secrets.

Two layers keep secrets out of every log record:

1. Values registered for the current request (the password, the code, the
   SecretHash) and the client secret are replaced wherever they appear.
2. Known secret-bearing keys (Password, ConfirmationCode, SecretHash, ...) are
   redacted in any text that looks like a dict or JSON, such as botocore's
   debug dumps of request parameters and bodies.

And no record carries an object: Django attaches the request to the records of
requests it refuses (a bad Host header, too many fields), and its repr holds the
whole query string, code and username included. A request becomes its method
and path; any other object, a placeholder with its type.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
from typing import Any

REDACTED = "[redacted]"

_request_secrets: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "request_secrets", default=()
)
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_static_secrets: list[str] = []

SECRET_KEYS = (
    "Password",
    "ProposedPassword",
    "PreviousPassword",
    "ConfirmationCode",
    "SecretHash",
    "SECRET_HASH",
    "PASSWORD",
    "ClientSecret",
    "EncodedData",
    "new_password1",
    "new_password2",
    "code",
)
_KEY_PATTERN = re.compile(
    r"""(?P<q>\\?["'])(?P<key>""" + "|".join(SECRET_KEYS) + r""")(?P=q)\s*[:=]\s*"""
    r"""(?P<vq>\\?["'])(?P<value>.*?)(?<!\\)(?P=vq)""",
)
_FORM_PATTERN = re.compile(r"(?P<key>(?:new_password[12]|code))=(?P<value>[^&\s'\"]*)")


def add_static_secret(value: str) -> None:
    """Redact this value everywhere for the life of the process (e.g. the client secret)."""
    if value and value not in _static_secrets:
        _static_secrets.append(value)


def register_secrets(*values: str | None) -> None:
    """Redact these values in every record logged by this request."""
    current = _request_secrets.get()
    added = tuple(v for v in values if v and len(v) >= 3 and v not in current)
    if added:
        # Longest first, so a value containing another is replaced whole.
        _request_secrets.set(tuple(sorted(current + added, key=len, reverse=True)))


def clear_request_secrets() -> contextvars.Token[tuple[str, ...]]:
    return _request_secrets.set(())


def redact(text: str) -> str:
    for value in (*_request_secrets.get(), *_static_secrets):
        if value in text:
            text = text.replace(value, REDACTED)
    # Each pattern needs a character most fields lack: skip the search without it.
    if '"' in text or "'" in text:
        text = _KEY_PATTERN.sub(
            lambda m: f"{m['q']}{m['key']}{m['q']}: {m['vq']}{REDACTED}{m['vq']}", text
        )
    if "=" in text:
        text = _FORM_PATTERN.sub(lambda m: f"{m['key']}={REDACTED}", text)
    return text


class OneLineWarning(logging.Filter):
    """For noise the internet sends (e.g. scanners' Host headers): one warning line,
    no traceback. The access log still shows each refused request as a 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class OnlyFailures(logging.Filter):
    """For django.request: keep what went wrong (a 500, an exception), drop the 503s
    the site answers on purpose (Cognito busy, down, or its breaker open). Each of
    those is already an attempt record; as errors they would flood the log, and
    the alerts on it, during every Cognito brownout."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is not None or getattr(record, "status_code", 500) == 500


_PRIMITIVES = (str, int, float, bool, type(None))


def safe_value(value: Any) -> str | int | float | bool | None:
    """A record's field as it may be logged: primitives as they are (strings
    redacted), a request as its method and path (never its query), anything else
    as a placeholder naming its type."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, _PRIMITIVES):
        return value
    method, path = getattr(value, "method", None), getattr(value, "path", None)
    if isinstance(method, str) and isinstance(path, str) and hasattr(value, "META"):
        return f"<{type(value).__name__}: {method[:16]} {redact(path)[:256]!r}>"
    return f"{REDACTED} {type(value).__name__}"


class RedactFilter(logging.Filter):
    """Render the message once, redacted, so no handler sees the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not break the request
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key in _EXTRA_SAFE or key in _STANDARD:
                continue
            setattr(record, key, safe_value(value))
        return True


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}
_EXTRA_SAFE = {"request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key in payload or key.startswith("_"):
                continue
            # Never an object's str(): without the RedactFilter too, a request stays out.
            payload[key] = str(value) if isinstance(value, str) else safe_value(value)
        if record.exc_text:
            payload["exception"] = record.exc_text
        elif record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)
