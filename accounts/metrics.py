"""Prometheus metrics: every definition, the small functions the code calls, and /metrics.

Label values come from closed sets written out below; anything else is counted
as ``other``. So no label can carry a username, an IP address, a code or a
secret, and the number of series stays fixed whatever the traffic.

With more than one process, prometheus-client's multiprocess mode adds them up:
when ``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn.conf.py sets it), every
process writes its values to files there and a scrape of any worker reads them
all. Counters and histograms keep the counts of workers that have exited; the
gauges are "live" ones, whose files gunicorn's ``child_exit`` hook removes.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .clientip import is_trusted_peer

logger = logging.getLogger(__name__)
_P = ParamSpec("_P")

OTHER = "other"

ACTIONS = frozenset({"confirm", "forgot"})
# What an attempt came to: flows.py's own outcomes and every cognito.Kind.
OUTCOMES = frozenset(
    {
        "success",
        "sent",
        # ForgotPassword's other neutral outcomes (cognito.Outcome).
        "unknown_user",
        "not_resettable",
        "not_sent",
        "invalid_input",
        "code_invalid",
        "password_rejected",
        "password_reused",
        "invalid_request",
        "rule_rejected",
        "rate_limited",
        "blocked",
        "delivery_failed",
        "unavailable",
        "outcome_unknown",
        # Refused before sending by the bulkhead, the pacer or the circuit breaker.
        "busy",
        "circuit_open",
        # Refused by Cognito's account-wide quota (TooManyRequestsException).
        "throttled",
    }
)
OPERATIONS = frozenset({"ForgotPassword", "ConfirmForgotPassword", "DescribeUserPool"})
# The errors botocore's model lists for those operations, the few the service
# returns besides, and the transport failures accounts/cognito.py names.
ERROR_CODES = frozenset(
    {
        "CodeDeliveryFailureException",
        "CodeMismatchException",
        "ExpiredCodeException",
        "ForbiddenException",
        "InternalErrorException",
        "InvalidEmailRoleAccessPolicyException",
        "InvalidLambdaResponseException",
        "InvalidParameterException",
        "InvalidPasswordException",
        "InvalidSmsRoleAccessPolicyException",
        "InvalidSmsRoleTrustRelationshipException",
        "LimitExceededException",
        "NotAuthorizedException",
        "OperationNotEnabledException",
        "PasswordHistoryPolicyViolationException",
        "ResourceNotFoundException",
        "TooManyFailedAttemptsException",
        "TooManyRequestsException",
        "UnexpectedLambdaException",
        "UserLambdaValidationException",
        "UserNotConfirmedException",
        "UserNotFoundException",
        "UserPoolTaggingException",
        "AccessDeniedException",
        "ThrottlingException",
        "UnrecognizedClientException",
        "Unknown",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "MalformedResponse",
        "ResponseParserError",
    }
)
# Which of our own limits refused an attempt (settings.RATELIMITS[action]).
RATELIMIT_SCOPES = frozenset({"user", "user_ip", "ip", "flood"})
# Why a call was refused as busy before it was sent.
BUSY_REASONS = frozenset({"bulkhead", "pacer"})
BREAKER_STATES = ("closed", "open", "half_open")
BREACH_OUTCOMES = frozenset({"clean", "breached", "failed"})


def _closed(value: str | None, allowed: frozenset[str] | tuple[str, ...]) -> str:
    if value is not None and value in allowed:
        return value
    return OTHER


ATTEMPTS = Counter(
    "resetsite_attempts",
    "Reset attempts (confirm: a new password with a code; forgot: a code request), by outcome.",
    ["action", "outcome"],
)
COGNITO_SECONDS = Histogram(
    "resetsite_cognito_request_duration_seconds",
    "Time of each call to Cognito, successful or not, by operation.",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 3.0, 5.0, 10.0),
)
COGNITO_ERRORS = Counter(
    "resetsite_cognito_errors",
    "Calls to Cognito that failed, by operation and Cognito's error code (or transport error).",
    ["operation", "error_code"],
)
RATELIMIT_REFUSALS = Counter(
    "resetsite_ratelimit_refusals",
    "Attempts refused by one of our own rate limits before Cognito was called, by limit.",
    ["action", "scope"],
)
BREAKER = Gauge(
    "resetsite_cognito_breaker_state",
    "Processes whose circuit breaker around Cognito is in this state.",
    ["state"],
    multiprocess_mode="livesum",
)
IN_FLIGHT = Gauge(
    "resetsite_cognito_in_flight",
    "Calls to Cognito waiting for an answer now.",
    multiprocess_mode="livesum",
)
BUSY = Counter(
    "resetsite_cognito_busy",
    "Calls refused before sending: the bulkhead was full, or the turn under the quota "
    "was too far away (pacer).",
    ["reason"],
)
PACER_WAIT = Histogram(
    "resetsite_cognito_pacer_wait_seconds",
    "How long each call to Cognito waited for its turn under the account's quota.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0),
)
BREACH_CHECKS = Counter(
    "resetsite_breach_checks",
    "Checks of a new password against the breached-password service, by outcome.",
    ["outcome"],
)

# Series that exist from the start, so that rate() sees their first increase.
for _action in ACTIONS:
    for _outcome in OUTCOMES:
        ATTEMPTS.labels(_action, _outcome)
    for _scope in RATELIMIT_SCOPES:
        RATELIMIT_REFUSALS.labels(_action, _scope)
for _operation in OPERATIONS:
    COGNITO_SECONDS.labels(_operation)
for _breach in BREACH_OUTCOMES:
    BREACH_CHECKS.labels(_breach)
for _reason in BUSY_REASONS:
    BUSY.labels(_reason)


def _never_raises(record: Callable[_P, None]) -> Callable[_P, None]:
    """A metric must never fail a request: log the failure and carry on."""

    @functools.wraps(record)
    def safe(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception as exc:
            logger.error(
                "metrics_failed", extra={"metric": record.__name__, "error": type(exc).__name__}
            )

    return safe


@_never_raises
def attempt(action: str, outcome: str) -> None:
    """One attempt, as logged by flows.log_attempt."""
    ATTEMPTS.labels(_closed(action, ACTIONS), _closed(outcome, OUTCOMES)).inc()


@_never_raises
def observe_call(operation: str, seconds: float, error_code: str | None = None) -> None:
    """One call to Cognito; ``error_code`` when it failed."""
    operation = _closed(operation, OPERATIONS)
    COGNITO_SECONDS.labels(operation).observe(seconds)
    if error_code is not None:
        COGNITO_ERRORS.labels(operation, _closed(error_code, ERROR_CODES)).inc()


@_never_raises
def ratelimit_refused(action: str, scope: str) -> None:
    """An attempt refused by our limit ``scope`` of ``action``."""
    RATELIMIT_REFUSALS.labels(_closed(action, ACTIONS), _closed(scope, RATELIMIT_SCOPES)).inc()


@_never_raises
def busy(reason: str) -> None:
    """A call refused before sending, by the ``bulkhead`` or the ``pacer``."""
    BUSY.labels(_closed(reason, BUSY_REASONS)).inc()


@_never_raises
def pacer_wait(seconds: float) -> None:
    """A call waited ``seconds`` for its turn under the quota (0: none)."""
    PACER_WAIT.observe(seconds)


@_never_raises
def breaker_state(state: str) -> None:
    """This process's breaker is now in ``state``: 1 for it, 0 for the others."""
    for known in BREAKER_STATES:
        BREAKER.labels(known).set(1 if known == state else 0)


@_never_raises
def _in_flight_add(amount: int) -> None:
    IN_FLIGHT.inc(amount)


@contextmanager
def in_flight() -> Iterator[None]:
    """Count a call to Cognito as in flight while the block runs."""
    _in_flight_add(1)
    try:
        yield
    finally:
        _in_flight_add(-1)


@_never_raises
def breach_check(outcome: str) -> None:
    """One breached-password check: ``clean``, ``breached`` or ``failed`` (no answer)."""
    BREACH_CHECKS.labels(_closed(outcome, BREACH_OUTCOMES)).inc()


# --- exposition ----------------------------------------------------------------


def exposition() -> bytes:
    """The text format of every metric: all processes' when in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def scrape_allowed(client_ip: str | None) -> bool:
    """Whether the resolved client IP is inside METRICS_ALLOWED_IPS (empty: nobody)."""
    networks = settings.METRICS_ALLOWED_IPS
    return bool(networks and client_ip and is_trusted_peer(client_ip, networks))


class MetricsMiddleware:
    """Serves GET /metrics to METRICS_ALLOWED_IPS; to anyone else it is not there (404).

    It answers before the Host check and any HTTPS redirect, like /healthz,
    because Prometheus scrapes a pod by its IP over plain HTTP. It must come
    after RequestContextMiddleware, which resolves the client IP behind
    TRUSTED_PROXIES.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path_info == "/metrics"
            and request.method in ("GET", "HEAD")
            and scrape_allowed(getattr(request, "client_ip", None))
        ):
            try:
                body = exposition()
            except Exception as exc:  # e.g. a damaged file in PROMETHEUS_MULTIPROC_DIR
                logger.error("metrics_unavailable", extra={"error": type(exc).__name__})
                return HttpResponse("metrics unavailable\n", status=503, content_type="text/plain")
            return HttpResponse(
                body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
            )
        return self.get_response(request)
