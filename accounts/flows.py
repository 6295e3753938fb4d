"""The two user actions, as small typed functions the views call.

Each attempt writes exactly one structured log line: the action, the outcome,
the latency, the client IP and a keyed hash of the username.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.forms import Form
from django.views.decorators.debug import sensitive_variables

from . import cognito, logs, metrics, ratelimit
from .cognito import CognitoError, Kind
from .rates import normalize_username

logger = logging.getLogger("accounts.attempts")


def user_key(username: str) -> str:
    """A stable, keyed pseudonym for a username: lets logs be joined without naming anyone."""
    normalized = normalize_username(username)
    return hmac.new(
        settings.SECRET_KEY.encode(), normalized.encode("utf-8"), hashlib.sha256
    ).hexdigest()[:16]


def log_attempt(
    *,
    action: str,
    outcome: str,
    username: str,
    client_ip: str | None,
    started: float,
    error_code: str | None = None,
) -> None:
    metrics.attempt(action, outcome)
    logger.info(
        "reset_attempt",
        extra={
            "action": action,
            "outcome": outcome,
            "error_code": error_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "client_ip": client_ip,
            "user": user_key(username) if username else None,
            **({"username": username} if settings.LOG_RAW_USERNAME and username else {}),
        },
    )


LOCAL_LIMIT = "LocalRateLimit"


def _over_limit(
    action: str, *, username: str, client_ip: str | None, started: float
) -> CognitoError | None:
    """Our own limits, checked before any call: over them, Cognito is never asked."""
    wait = ratelimit.check(action, username=username, client_ip=client_ip)
    if wait is None:
        return None
    error = CognitoError(Kind.RATE_LIMITED, LOCAL_LIMIT, wait)
    log_attempt(
        action=action,
        outcome=error.kind,
        username=username,
        client_ip=client_ip,
        started=started,
        error_code=LOCAL_LIMIT,
    )
    return error


def log_invalid(*, action: str, form: Form, client_ip: str | None) -> None:
    """An attempt refused by our own validation: it never reached Cognito."""
    log_attempt(
        action=action,
        outcome="invalid_input",
        username=form.cleaned_data.get("username", ""),
        client_ip=client_ip,
        started=time.perf_counter(),
        error_code=",".join(sorted(form.errors)),
    )


@sensitive_variables("call")
def _attempt(
    action: str,
    success: str,
    call: Callable[[], None],
    *,
    username: str,
    client_ip: str | None,
) -> CognitoError | None:
    """Our limits, then the call, then exactly one log line; the failure or None."""
    started = time.perf_counter()
    error = _over_limit(action, username=username, client_ip=client_ip, started=started)
    if error:
        return error
    try:
        call()
    except CognitoError as failure:
        error = failure
    log_attempt(
        action=action,
        outcome=error.kind if error else success,
        username=username,
        client_ip=client_ip,
        started=started,
        error_code=error.code if error else None,
    )
    return error


@sensitive_variables("password", "code")
def confirm_reset(
    *,
    username: str,
    code: str,
    password: str,
    client_ip: str | None,
    encoded_data: str | None,
) -> CognitoError | None:
    """Set the new password; returns the failure, or None on success."""
    logs.register_secrets(password, code)
    return _attempt(
        "confirm",
        "success",
        # A partial, not a lambda: no extra frame holding the password.
        partial(
            cognito.confirm_forgot_password,
            username=username,
            code=code,
            password=password,
            ip_address=client_ip,
            encoded_data=encoded_data or None,
        ),
        username=username,
        client_ip=client_ip,
    )


def request_code(
    *, username: str, client_ip: str | None, encoded_data: str | None = None
) -> CognitoError | None:
    """Ask for a new code. Unknown accounts succeed, so the answer reveals nothing."""
    return _attempt(
        "forgot",
        "sent",
        partial(
            cognito.forgot_password,
            username=username,
            ip_address=client_ip,
            encoded_data=encoded_data or None,
        ),
        username=username,
        client_ip=client_ip,
    )
