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
from .cognito import CognitoError, Kind, Neutral
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
) -> ratelimit.Admission | CognitoError:
    """Our own limits, checked before any call: over them, Cognito is never asked."""
    admission = ratelimit.admit(action, username=username, client_ip=client_ip)
    if admission.wait is None:
        return admission
    error = CognitoError(Kind.RATE_LIMITED, LOCAL_LIMIT, admission.wait)
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
    call: Callable[[], Neutral | None],
    *,
    username: str,
    client_ip: str | None,
    min_duration: float = 0.0,
) -> CognitoError | None:
    """Our limits, then the call, then exactly one log line; the failure or None.

    A call that looks like success to the user is logged as what it really was
    (for ForgotPassword: sent, unknown_user, not_resettable), with Cognito's code.
    With ``min_duration``, an attempt that reached Cognito returns no sooner
    than that many seconds after it started (refusals by our own limits, the
    bulkhead, the breaker or Cognito's quota, which reveal nothing about the
    account, return at once). Those last refusals don't count toward the
    person's limits: nothing was tried.
    """
    started = time.perf_counter()
    admission = _over_limit(action, username=username, client_ip=client_ip, started=started)
    if isinstance(admission, CognitoError):
        return admission
    outcome: str = success
    error: CognitoError | None = None
    error_code: str | None = None
    try:
        result = call()
    except CognitoError as failure:
        error = failure
        outcome, error_code = failure.kind, failure.code
    else:
        if result is not None:
            outcome, error_code = result.outcome, result.code
    log_attempt(
        action=action,
        outcome=outcome,
        username=username,
        client_ip=client_ip,
        started=started,
        error_code=error_code,
    )
    if error and error.kind in cognito.NOT_COUNTED:
        ratelimit.refund(admission)
        return error  # refused unread: nothing about the account to hide
    if min_duration > 0:
        _not_before(started + min_duration, action=action, succeeded=error is None)
    return error


def _not_before(deadline: float, *, action: str, succeeded: bool) -> None:
    """Sleep until ``deadline`` (perf_counter). Under gevent this holds no thread."""
    left = deadline - time.perf_counter()
    if left > 0:
        time.sleep(left)
    elif succeeded:
        # The floor hides nothing for calls slower than itself: raise it.
        logger.warning(
            "response_floor_exceeded",
            extra={"action": action, "over_ms": round(-left * 1000, 1)},
        )


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
    """Ask for a new code. Unknown accounts and accounts that can't reset succeed,
    so the answer reveals nothing; the log says which it was.

    Cognito answers more slowly for an account that exists (it sends a message),
    so the answer waits for FORGOT_MIN_DURATION: its timing reveals nothing either.
    """
    return _attempt(
        "forgot",
        cognito.Outcome.SENT,
        partial(
            cognito.forgot_password,
            username=username,
            ip_address=client_ip,
            encoded_data=encoded_data or None,
        ),
        username=username,
        client_ip=client_ip,
        min_duration=settings.FORGOT_MIN_DURATION,
    )
