"""Is a new password known from a data breach? The reset form asks here.

A thin layer over the pure client in ``pwned``: it reads the settings, keeps
one client per process, hides the hash from every log record of the request,
and writes one warning line when the service could not answer. The caller
decides, with PWNED_PASSWORDS_FAIL_OPEN, what an unanswered check means.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from . import logs, metrics
from .pwned import Outcome, RangeClient, Result, sha1_parts
from .resilience import CircuitBreaker

__all__ = ["Outcome", "check", "refuses"]

logger = logging.getLogger(__name__)


# After this many unanswered checks in a row, checks are skipped (as unanswered)
# for BREAKER_RESET seconds, then one is tried again: a service that is down, or
# unreachable by DNS, then costs the form nothing.
BREAKER_FAILURES = 5
BREAKER_RESET = 30.0


_METRIC = {Outcome.FOUND: "breached", Outcome.NOT_FOUND: "clean", Outcome.ERROR: "failed"}


@lru_cache(maxsize=2)
def _client(url: str, timeout: float) -> tuple[RangeClient, CircuitBreaker]:
    breaker = CircuitBreaker(failure_threshold=BREAKER_FAILURES, reset_timeout=BREAKER_RESET)
    breaker.add_listener(
        lambda old, new, _n: logger.warning(
            "breach_check_breaker", extra={"state_from": str(old), "state_to": str(new)}
        )
    )
    return RangeClient(url, timeout=timeout), breaker


def _guarded_check(url: str, prefix: str, suffix: str) -> Result:
    client, breaker = _client(url, settings.PWNED_PASSWORDS_TIMEOUT)
    call = breaker.before_call()
    if call is None:
        return Result(Outcome.ERROR, "circuit_open")
    result = Result(Outcome.ERROR, "crashed")
    try:
        result = client.check_hash(prefix, suffix)
    finally:
        # Only an answer (found or not) proves the service is there.
        breaker.after_call(call, ok=result.outcome is not Outcome.ERROR)
    return result


@sensitive_variables()
def check(password: str) -> Outcome:
    """Look the password up; never raises, never logs the password or its hash."""
    url: str = settings.PWNED_PASSWORDS_URL
    if not url:
        outcome = Outcome.SKIPPED
    else:
        prefix, suffix = sha1_parts(password)
        # urllib3 logs the URL at DEBUG: the prefix must be redacted there too.
        logs.register_secrets(prefix + suffix, prefix, suffix, (prefix + suffix).lower())
        try:
            result = _guarded_check(url, prefix, suffix)
        except Exception as exc:  # a check must never break the form
            result = Result(Outcome.ERROR, type(exc).__name__)
        outcome = result.outcome
        if outcome is Outcome.ERROR:
            logger.warning(
                "breach_check_failed",
                extra={"reason": result.reason, "fail_open": settings.PWNED_PASSWORDS_FAIL_OPEN},
            )
    if outcome is not Outcome.SKIPPED:
        metrics.breach_check(_METRIC[outcome])
    return outcome


def refuses(outcome: Outcome) -> bool:
    """Whether the form must refuse the password after this outcome."""
    return outcome is Outcome.FOUND or (
        outcome is Outcome.ERROR and not settings.PWNED_PASSWORDS_FAIL_OPEN
    )
