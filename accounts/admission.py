"""Refuse cheaply: the answers a submission gets before any form work.

Busy (this process is past its CPU ceiling, or its bulkhead is full), over our
own limits, or the breaker open: each is decided from the request's username
and client IP alone, with at most one read of the cache, and never counted
toward any limit. The attempt is logged as any other. What is left is decided
where it was before: the form, the counting rate-limit check, the call.
"""

from __future__ import annotations

import time

from django.conf import settings

from . import cognito, flows, metrics, ratelimit, shedding
from .cognito import CognitoError, Kind


def refusal(action: str, *, username: str, client_ip: str | None) -> CognitoError | None:
    """Why this submission of ``action`` is refused now, or None to go on."""
    started = time.perf_counter()
    error = _refusal(action, username=username, client_ip=client_ip)
    if error is not None:
        flows.log_attempt(
            action=action,
            outcome=error.kind,
            username=username,
            client_ip=client_ip,
            started=started,
            error_code=error.code,
        )
    return error


def _refusal(action: str, *, username: str, client_ip: str | None) -> CognitoError | None:
    if shedding.shedder(settings.SHED_LAG).saturated():
        return CognitoError(Kind.BUSY, "Shed", cognito.soon(shedding.RETRY_AFTER))
    over = ratelimit.peek_scope(action, username, client_ip)
    if over is not None:
        scope, wait = over
        metrics.ratelimit_refused(action, scope)
        return CognitoError(Kind.RATE_LIMITED, flows.LOCAL_LIMIT, wait)
    bulkhead, breaker = cognito.guards()
    if breaker.refusing():
        return CognitoError(Kind.CIRCUIT_OPEN, "CircuitOpen", breaker.retry_after())
    if bulkhead.full:
        return CognitoError(Kind.BUSY, "Busy", cognito.soon(cognito.BUSY_RETRY_AFTER))
    return None
