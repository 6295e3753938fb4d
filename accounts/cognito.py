"""The two public calls to Cognito (with cognito_pool.py, the only modules that import boto3).

One client per process, created at start-up. ForgotPassword and
ConfirmForgotPassword are public calls, sent unsigned, so the site needs no AWS
identity. Every ClientError is turned into a small set of domain outcomes
through one table per operation; the views never see botocore.

Retries happen only where the request surely did not take effect: the
connection was never made, or Cognito refused it with throttling. A read
timeout on ConfirmForgotPassword is never retried, because the first attempt may
have changed the password and a retry would then report "wrong code".

Every call (a retry too) is admitted by this process's bulkhead and breaker,
then waits its turn under the account's quota (pacing.py) before it is sent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.exceptions
from botocore import UNSIGNED
from botocore.config import Config
from botocore.parsers import ResponseParserError
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from . import logs, metrics, pacing
from .cognito_config import CognitoSettings, config, forget_config
from .cognito_errors import (
    BUSY_RETRY_AFTER,
    CONFIRM_ERRORS,
    FORGOT_ERRORS,
    LOCKED_RETRY_AFTER,
    NOT_COUNTED,
    OPERATOR_ERRORS,
    RETRY_JITTER,
    THROTTLED_RETRY_AFTER,
    CognitoError,
    Kind,
    Neutral,
    Outcome,
    _is_account_state,
    soon,
)
from .resilience import Bulkhead, Call, CircuitBreaker, State
from .secrethash import secret_hash

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = logging.getLogger(__name__)

# Re-exported from cognito_errors and cognito_config: the site names them cognito.Kind,
# cognito.CognitoError, cognito.config...
__all__ = [
    "BUSY_RETRY_AFTER",
    "CONFIRM_ERRORS",
    "FORGOT_ERRORS",
    "LOCKED_RETRY_AFTER",
    "NOT_COUNTED",
    "OPERATOR_ERRORS",
    "RETRY_JITTER",
    "THROTTLED_RETRY_AFTER",
    "CognitoError",
    "CognitoSettings",
    "Kind",
    "Neutral",
    "Outcome",
    "_is_account_state",
    "config",
    "soon",
]


@lru_cache(maxsize=4)
def _client(
    region: str,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
    pool: int,
    signed: bool,
) -> CognitoIdentityProviderClient:
    botocore_config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=pool,
        # No automatic retries: _invoke retries only what is safe, and the
        # policy read is refreshed in the background instead.
        retries={"mode": "standard", "total_max_attempts": 1},
        tcp_keepalive=True,
        # Our forms keep every request within the model, lengths and patterns
        # included (tests/test_cognito_requests.py); botocore's check is redundant.
        parameter_validation=False,
        **({} if signed else {"signature_version": UNSIGNED}),
    )
    client = boto3.client(
        "cognito-idp",
        region_name=region,
        endpoint_url=endpoint_url,
        config=botocore_config,
    )
    client.meta.events.register("after-call.cognito-idp", _require_json)
    return client


class MalformedResponse(Exception):
    """Cognito answered with a body that is not JSON (botocore would accept it)."""


def _require_json(http_response: Any, **kwargs: Any) -> None:
    # botocore turns an unparsable body into a message and carries on; for a
    # 200 that would report success we cannot vouch for.
    if getattr(http_response, "raw", None) is None:  # a stubbed response (tests)
        return
    if not 200 <= http_response.status_code < 300:
        return  # botocore raises a ClientError for these, mapped by status
    content = http_response.content
    if not content:
        return
    try:
        json.loads(content)
    except ValueError:
        raise MalformedResponse(http_response.status_code) from None


def public_client(cfg: CognitoSettings | None = None) -> CognitoIdentityProviderClient:
    cfg = cfg or config()
    return _client(
        cfg.region,
        cfg.endpoint_url,
        cfg.connect_timeout,
        cfg.read_timeout,
        cfg.max_pool_connections,
        False,
    )


def reset_clients() -> None:
    """Forget the settings, clients, guards, the pacer and the cached policy (tests
    change settings)."""
    from .cognito_pool import _policy_cache

    forget_config()
    _client.cache_clear()
    _guards.cache_clear()
    _pacer.cache_clear()
    _policy_cache.clear()


# --- the guards: one bulkhead and one breaker per process --------------------


def _log_breaker(old: State, new: State, failures: int) -> None:
    logger.warning(
        "circuit_breaker",
        extra={"state_from": str(old), "state_to": str(new), "consecutive_failures": failures},
    )


@lru_cache(maxsize=1)
def _guards(max_in_flight: int, failures: int, reset: float) -> tuple[Bulkhead, CircuitBreaker]:
    breaker = CircuitBreaker(failure_threshold=failures, reset_timeout=reset)
    breaker.add_listener(_log_breaker)
    breaker.add_listener(lambda _old, new, _n: metrics.breaker_state(str(new)))
    metrics.breaker_state(str(breaker.state))
    return Bulkhead(max_in_flight), breaker


def guards(cfg: CognitoSettings | None = None) -> tuple[Bulkhead, CircuitBreaker]:
    """This process's bulkhead and circuit breaker around the public calls."""
    cfg = cfg or config()
    return _guards(cfg.max_in_flight, cfg.breaker_failures, cfg.breaker_reset)


@lru_cache(maxsize=1)
def _pacer(region: str, rate: float, max_wait: float, redis_url: str) -> pacing.Pace | None:
    if rate <= 0:
        return None
    if not redis_url:
        return pacing.local_pace(rate, max_wait)
    # One key per region: the quota is the account's, whoever else shares this Redis.
    client = pacing.redis_client(redis_url, settings.CACHES["default"].get("OPTIONS", {}))
    return pacing.shared_pace(client, f"resetsite:pace:cognito-idp:{region}", rate, max_wait)


def pacer(cfg: CognitoSettings | None = None) -> pacing.Pace | None:
    """The pace every public call keeps: through Redis when CACHE_URL is one (so across
    instances), else this process's own; None with COGNITO_QUOTA_RPS=0."""
    cfg = cfg or config()
    cache = settings.CACHES["default"]
    shared = str(cache.get("LOCATION", "")) if "redis" in cache["BACKEND"].lower() else ""
    return _pacer(cfg.region, cfg.quota_rps, cfg.quota_max_wait, shared)


def _wait_turn(cfg: CognitoSettings) -> None:
    """Sleep until this call's turn under the quota; CognitoError(BUSY) if it is too far."""
    pace = pacer(cfg)
    if pace is None:
        return
    decision = pace.turn()
    if not decision.admitted:
        metrics.busy("pacer")
        raise CognitoError(Kind.BUSY, "PacedOut", soon(decision.wait))
    metrics.pacer_wait(decision.wait)


@sensitive_variables()
def _base_params(cfg: CognitoSettings, username: str) -> dict[str, Any]:
    params: dict[str, Any] = {"ClientId": cfg.client_id, "Username": username}
    if cfg.client_secret:
        params["SecretHash"] = secret_hash(
            username=username, client_id=cfg.client_id, client_secret=cfg.client_secret
        )
        logs.register_secrets(params["SecretHash"])
    if cfg.client_metadata:
        params["ClientMetadata"] = cfg.client_metadata
    return params


def _context(
    cfg: CognitoSettings, ip_address: str | None, encoded_data: str | None
) -> dict[str, str]:
    context: dict[str, str] = {}
    # Cognito takes IpAddress only from an app client with a secret.
    if ip_address and cfg.client_secret:
        context["IpAddress"] = ip_address
    if encoded_data and cfg.context_data:
        context["EncodedData"] = encoded_data
    return context


_NOT_SENT = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
)
_UNKNOWN_OUTCOME = (
    MalformedResponse,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
    ResponseParserError,
)


_T = TypeVar("_T")


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or "Unknown"
    return type(exc).__name__


@sensitive_variables()
def _call(operation: str, method: Callable[..., _T], params: dict[str, Any]) -> _T:
    """One request to Cognito, timed and counted in the metrics."""
    started = time.perf_counter()
    error_code = None
    try:
        with metrics.in_flight():
            return method(**params)
    except BaseException as exc:  # a gevent Timeout too: the call did not succeed
        error_code = _error_code(exc)
        raise
    finally:
        metrics.observe_call(operation, time.perf_counter() - started, error_code)


@sensitive_variables()
def _invoke(
    operation: str,
    params: dict[str, Any],
    table: dict[str, Kind | Outcome],
    *,
    cfg: CognitoSettings,
    attempts: int = 2,
) -> Neutral | None:
    """Call ``operation`` inside the guards; None on success, a Neutral outcome, or CognitoError.

    Over the bulkhead's bound, while the breaker is open, or when its turn under
    the quota is too far away, the call is refused at once and nothing is sent.
    """
    bulkhead, breaker = guards(cfg)
    if not bulkhead.try_enter():
        metrics.busy("bulkhead")
        raise CognitoError(Kind.BUSY, "Busy", soon(BUSY_RETRY_AFTER))
    try:
        call = breaker.before_call()
        if call is None:
            raise CognitoError(Kind.CIRCUIT_OPEN, "CircuitOpen", breaker.retry_after())
        try:
            _wait_turn(cfg)
        except CognitoError:
            breaker.cancel(call)  # nothing was sent: no verdict on Cognito
            raise
        return _guarded(call, breaker, operation, params, table, cfg=cfg, attempts=attempts)
    finally:
        bulkhead.leave()


@sensitive_variables()
def _guarded(
    call: Call,
    breaker: CircuitBreaker,
    operation: str,
    params: dict[str, Any],
    table: dict[str, Kind | Outcome],
    *,
    cfg: CognitoSettings,
    attempts: int,
) -> Neutral | None:
    ok = False
    try:
        result = _send(operation, params, table, cfg=cfg, attempts=attempts)
        ok = True
        return result
    except CognitoError as exc:
        ok = not exc.fault  # Cognito answered: a wrong code proves it is up
        raise
    finally:
        breaker.after_call(call, ok=ok)


_THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException"})


def _answer(
    operation: str,
    exc: botocore.exceptions.ClientError,
    table: dict[str, Kind | Outcome],
    unknown: Kind,
) -> Neutral | CognitoError:
    """What Cognito's error answer means: a neutral outcome, or the failure to raise."""
    code = _error_code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    mapped = Kind.THROTTLED if code in _THROTTLING else table.get(code)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code in OPERATOR_ERRORS and not _is_account_state(code, message):
        logger.error("cognito_misconfiguration", extra={"operation": operation, "error_code": code})
        if isinstance(mapped, Outcome):
            mapped = Outcome.NOT_SENT
    if isinstance(mapped, Outcome):
        return Neutral(mapped, code)
    if mapped is None:
        # An error the model does not list (or a bare 5xx): a service fault.
        logger.warning(
            "cognito_unexpected_error",
            extra={"operation": operation, "error_code": code, "http_status": status},
        )
        server_side = 500 <= status < 600
        # A 5xx may come after the change was made.
        return CognitoError(unknown if server_side else Kind.UNAVAILABLE, code, fault=server_side)
    retry_after = None
    if mapped is Kind.RATE_LIMITED:
        retry_after = LOCKED_RETRY_AFTER
    elif mapped is Kind.THROTTLED:
        retry_after = soon(THROTTLED_RETRY_AFTER)
    return CognitoError(mapped, code, retry_after, fault=code == "InternalErrorException")


@sensitive_variables()
def _send(
    operation: str,
    params: dict[str, Any],
    table: dict[str, Kind | Outcome],
    *,
    cfg: CognitoSettings,
    attempts: int,
) -> Neutral | None:
    client = public_client(cfg)
    method = (
        client.confirm_forgot_password
        if operation == "ConfirmForgotPassword"
        else client.forgot_password
    )
    # What an unknown outcome means: for a confirmation, the password may have changed.
    unknown = Kind.OUTCOME_UNKNOWN if operation == "ConfirmForgotPassword" else Kind.UNAVAILABLE
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            _wait_turn(cfg)  # a retry is a call too: it waits its turn
        try:
            _call(operation, method, params)
            return None
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) in _THROTTLING and attempt < attempts:
                time.sleep(0.25)  # the quota refills within the second
                continue
            answer = _answer(operation, exc, table, unknown)
            if isinstance(answer, Neutral):
                return answer
            raise answer from None
        except _NOT_SENT as exc:
            if attempt < attempts:
                time.sleep(0.2)
                continue
            raise CognitoError(Kind.UNAVAILABLE, type(exc).__name__, fault=True) from None
        except _UNKNOWN_OUTCOME as exc:
            raise CognitoError(unknown, type(exc).__name__, fault=True) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise CognitoError(Kind.UNAVAILABLE, type(exc).__name__, fault=True) from None
        except Exception as exc:  # anything else: a friendly page, never a 500
            logger.exception("cognito_call_failed", extra={"operation": operation})
            raise CognitoError(unknown, type(exc).__name__, fault=True) from None
    raise AssertionError("unreachable")  # pragma: no cover


@sensitive_variables()
def confirm_forgot_password(
    *,
    username: str,
    code: str,
    password: str,
    ip_address: str | None = None,
    encoded_data: str | None = None,
) -> None:
    """Set a new password with a code; raises CognitoError on any failure."""
    cfg = config()
    params = _base_params(cfg, username)
    params["ConfirmationCode"] = code
    params["Password"] = password
    context = _context(cfg, ip_address, encoded_data)
    if context:
        params["UserContextData"] = context
    _invoke("ConfirmForgotPassword", params, dict(CONFIRM_ERRORS), cfg=cfg)


@sensitive_variables()
def forgot_password(
    *, username: str, ip_address: str | None = None, encoded_data: str | None = None
) -> Neutral:
    """Ask Cognito to send a code. Every outcome the user must not tell apart
    (sent, unknown user, not resettable) is returned; other failures raise."""
    cfg = config()
    params = _base_params(cfg, username)
    context = _context(cfg, ip_address, encoded_data)
    if context:
        params["UserContextData"] = context
    return _invoke("ForgotPassword", params, FORGOT_ERRORS, cfg=cfg) or Neutral(Outcome.SENT)
