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

from . import logs
from .pwned import Outcome, RangeClient, Result, sha1_parts

__all__ = ["Outcome", "check", "refuses"]

logger = logging.getLogger(__name__)


@lru_cache(maxsize=2)
def _client(url: str, timeout: float) -> RangeClient:
    return RangeClient(url, timeout=timeout)


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
            result = _client(url, settings.PWNED_PASSWORDS_TIMEOUT).check_hash(prefix, suffix)
        except Exception as exc:  # a check must never break the form
            result = Result(Outcome.ERROR, type(exc).__name__)
        outcome = result.outcome
        if outcome is Outcome.ERROR:
            logger.warning(
                "breach_check_failed",
                extra={"reason": result.reason, "fail_open": settings.PWNED_PASSWORDS_FAIL_OPEN},
            )
    # A metrics counter of outcomes (found, not_found, error, skipped) belongs here.
    return outcome


def refuses(outcome: Outcome) -> bool:
    """Whether the form must refuse the password after this outcome."""
    return outcome is Outcome.FOUND or (
        outcome is Outcome.ERROR and not settings.PWNED_PASSWORDS_FAIL_OPEN
    )
