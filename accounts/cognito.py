"""The only module that talks to Cognito (and the only one that imports boto3).

One client per process, created at start-up. ForgotPassword and
ConfirmForgotPassword are public calls, sent unsigned, so the site needs no AWS
identity. Every ClientError is turned into a small set of domain outcomes
through one table per operation; the views never see botocore.

Retries happen only where the request surely did not take effect: the
connection was never made, or Cognito refused it with throttling. A read
timeout on ConfirmForgotPassword is never retried, because the first attempt may
have changed the password and a retry would then report "wrong code".
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.exceptions
from botocore import UNSIGNED
from botocore.config import Config
from botocore.parsers import ResponseParserError
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from . import logs, metrics
from .policy import PasswordPolicy
from .resilience import Bulkhead, CircuitBreaker, State
from .secrethash import secret_hash

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = logging.getLogger(__name__)


class Kind(enum.StrEnum):
    """What a failed call means for the user."""

    CODE_INVALID = "code_invalid"
    PASSWORD_REJECTED = "password_rejected"  # noqa: S105 - an outcome name
    PASSWORD_REUSED = "password_reused"  # noqa: S105 - an outcome name
    INVALID_REQUEST = "invalid_request"
    RULE_REJECTED = "rule_rejected"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    DELIVERY_FAILED = "delivery_failed"
    UNAVAILABLE = "unavailable"
    OUTCOME_UNKNOWN = "outcome_unknown"
    # Refused before sending: nothing reached Cognito, so nothing changed.
    BUSY = "busy"
    CIRCUIT_OPEN = "circuit_open"


class Outcome(enum.StrEnum):
    """What a ForgotPassword call that the user sees as "sent" really did.

    The answer is the same for all of them, so that nobody can learn from it
    whether an account exists or can reset; the attempt log tells them apart.
    """

    SENT = "sent"  # Cognito accepted it (with PreventUserExistenceErrors, unknown users too)
    UNKNOWN_USER = "unknown_user"  # UserNotFoundException (PreventUserExistenceErrors=LEGACY)
    NOT_RESETTABLE = "not_resettable"  # an invited user, or no verified email or phone
    NOT_SENT = "not_sent"  # refused for a reason the operator must fix (logged as an error)


@dataclass(frozen=True)
class Neutral:
    """A ForgotPassword outcome that looks like success; ``code`` is Cognito's error, if any."""

    outcome: Outcome
    code: str | None = None


THROTTLED_RETRY_AFTER = 60
LOCKED_RETRY_AFTER = 900
BUSY_RETRY_AFTER = 5

CONFIRM_ERRORS: dict[str, Kind] = {
    "CodeMismatchException": Kind.CODE_INVALID,
    "ExpiredCodeException": Kind.CODE_INVALID,
    # Unknown, unconfirmed or disabled users look exactly like a wrong code.
    "UserNotFoundException": Kind.CODE_INVALID,
    "UserNotConfirmedException": Kind.CODE_INVALID,
    "NotAuthorizedException": Kind.CODE_INVALID,
    # moto raises this for an unknown user; real Cognito for a missing pool.
    # Either way the user must not learn which: it is logged as an error.
    "ResourceNotFoundException": Kind.CODE_INVALID,
    "InvalidPasswordException": Kind.PASSWORD_REJECTED,
    "PasswordHistoryPolicyViolationException": Kind.PASSWORD_REUSED,
    "InvalidParameterException": Kind.INVALID_REQUEST,
    "UserLambdaValidationException": Kind.RULE_REJECTED,
    "UnexpectedLambdaException": Kind.UNAVAILABLE,
    "InvalidLambdaResponseException": Kind.UNAVAILABLE,
    "TooManyFailedAttemptsException": Kind.RATE_LIMITED,
    "TooManyRequestsException": Kind.RATE_LIMITED,
    "LimitExceededException": Kind.RATE_LIMITED,
    "OperationNotEnabledException": Kind.UNAVAILABLE,
    # Cognito failed inside: the password may or may not have changed.
    "InternalErrorException": Kind.OUTCOME_UNKNOWN,
    "ForbiddenException": Kind.BLOCKED,
}

FORGOT_ERRORS: dict[str, Kind | Outcome] = {
    "UserNotFoundException": Outcome.UNKNOWN_USER,
    # An invited user who never set a password (FORCE_CHANGE_PASSWORD): "User
    # password cannot be reset in the current state". The same code also means a
    # wrong SecretHash; _is_account_state tells them apart by the message.
    "NotAuthorizedException": Outcome.NOT_RESETTABLE,
    "ResourceNotFoundException": Kind.UNAVAILABLE,
    # The account has no verified email or phone number to send a code to.
    "InvalidParameterException": Outcome.NOT_RESETTABLE,
    "UserLambdaValidationException": Kind.RULE_REJECTED,
    "UnexpectedLambdaException": Kind.UNAVAILABLE,
    "InvalidLambdaResponseException": Kind.UNAVAILABLE,
    "TooManyRequestsException": Kind.RATE_LIMITED,
    "LimitExceededException": Kind.RATE_LIMITED,
    "InvalidSmsRoleAccessPolicyException": Kind.DELIVERY_FAILED,
    "InvalidSmsRoleTrustRelationshipException": Kind.DELIVERY_FAILED,
    "InvalidEmailRoleAccessPolicyException": Kind.DELIVERY_FAILED,
    "CodeDeliveryFailureException": Kind.DELIVERY_FAILED,
    "OperationNotEnabledException": Kind.UNAVAILABLE,
    "InternalErrorException": Kind.UNAVAILABLE,
    "ForbiddenException": Kind.BLOCKED,
}

# Error codes that mean the operator must act (misconfiguration), not the user.
OPERATOR_ERRORS = frozenset(
    {
        "NotAuthorizedException",
        "ResourceNotFoundException",
        "OperationNotEnabledException",
        "InvalidSmsRoleAccessPolicyException",
        "InvalidSmsRoleTrustRelationshipException",
        "InvalidEmailRoleAccessPolicyException",
        "UnexpectedLambdaException",
        "InvalidLambdaResponseException",
    }
)


# NotAuthorizedException's message when the account, not the app client, is the reason.
_ACCOUNT_STATE_MESSAGE = "cannot be reset in the current state"


def _is_account_state(code: str, message: str) -> bool:
    return code == "NotAuthorizedException" and _ACCOUNT_STATE_MESSAGE in message.lower()


@dataclass
class CognitoError(Exception):
    """A call failed; ``kind`` says what it means for the user. ``fault``: the
    service's fault (a timeout, a 5xx, no connection), which the breaker counts."""

    kind: Kind
    code: str
    retry_after: int | None = None
    fault: bool = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.code}"


@dataclass(frozen=True)
class CognitoSettings:
    region: str
    user_pool_id: str
    client_id: str
    client_secret: str | None
    endpoint_url: str | None
    client_metadata: dict[str, str]
    connect_timeout: float
    read_timeout: float
    max_pool_connections: int
    read_policy: str
    policy_override: dict[str, Any] | None
    policy_ttl: float
    context_data: bool = False
    max_in_flight: int = 100
    breaker_failures: int = 5
    breaker_reset: float = 15.0


def config() -> CognitoSettings:
    s = settings
    return CognitoSettings(
        region=s.COGNITO_REGION,
        user_pool_id=s.COGNITO_USER_POOL_ID,
        client_id=s.COGNITO_CLIENT_ID,
        client_secret=s.COGNITO_CLIENT_SECRET or None,
        endpoint_url=s.COGNITO_ENDPOINT_URL or None,
        client_metadata=dict(s.COGNITO_CLIENT_METADATA),
        connect_timeout=s.COGNITO_CONNECT_TIMEOUT,
        read_timeout=s.COGNITO_READ_TIMEOUT,
        max_pool_connections=s.COGNITO_MAX_POOL_CONNECTIONS,
        read_policy=s.COGNITO_READ_POLICY,
        policy_override=s.COGNITO_PASSWORD_POLICY,
        policy_ttl=s.COGNITO_POLICY_TTL,
        context_data=s.COGNITO_CONTEXT_DATA,
        max_in_flight=s.COGNITO_MAX_IN_FLIGHT,
        breaker_failures=s.COGNITO_BREAKER_FAILURES,
        breaker_reset=s.COGNITO_BREAKER_RESET,
    )


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
    """Forget clients, guards and the cached policy (tests change settings)."""
    _client.cache_clear()
    _guards.cache_clear()
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

    Over the bulkhead's bound, or while the breaker is open, the call is refused
    at once and nothing is sent.
    """
    bulkhead, breaker = guards(cfg)
    if not bulkhead.try_enter():
        raise CognitoError(Kind.BUSY, "Busy", BUSY_RETRY_AFTER)
    try:
        call = breaker.before_call()
        if call is None:
            raise CognitoError(Kind.CIRCUIT_OPEN, "CircuitOpen", breaker.retry_after())
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
    finally:
        bulkhead.leave()


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
        try:
            _call(operation, method, params)
            return None
        except botocore.exceptions.ClientError as exc:
            code = _error_code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in ("TooManyRequestsException", "ThrottlingException") and attempt < attempts:
                time.sleep(0.25 * attempt)
                continue
            mapped = table.get(code)
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if code in OPERATOR_ERRORS and not _is_account_state(code, message):
                logger.error(
                    "cognito_misconfiguration", extra={"operation": operation, "error_code": code}
                )
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
                kind = unknown if server_side else Kind.UNAVAILABLE
                raise CognitoError(kind, code, fault=server_side) from None
            assert isinstance(mapped, Kind)
            retry_after = None
            if mapped is Kind.RATE_LIMITED:
                retry_after = (
                    THROTTLED_RETRY_AFTER
                    if code == "TooManyRequestsException"
                    else LOCKED_RETRY_AFTER
                )
            fault = code == "InternalErrorException"
            raise CognitoError(mapped, code, retry_after, fault=fault) from None
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


# --- the pool's password policy -------------------------------------------
#
# Read with DescribeUserPool (which needs credentials), cached per process.
# A stale entry is served while one background thread refreshes it, so a slow
# Cognito never holds up a page for the policy; only the very first read blocks.

_policy_cache: dict[str, tuple[float, PasswordPolicy]] = {}
_policy_lock = threading.Lock()
_refreshing: set[str] = set()
POLICY_RETRY_AFTER_FAILURE = 60.0


def _has_credentials() -> bool:
    try:
        return boto3.Session().get_credentials() is not None
    except botocore.exceptions.BotoCoreError:
        return False


def _fetch_policy(cfg: CognitoSettings) -> PasswordPolicy | None:
    """The pool's policy, or None when it is not to be read; raises on failure."""
    if cfg.read_policy == "false":
        return None
    if cfg.read_policy == "auto" and not _has_credentials():
        return None
    client = _client(cfg.region, cfg.endpoint_url, cfg.connect_timeout, cfg.read_timeout, 2, True)
    pool = _call("DescribeUserPool", client.describe_user_pool, {"UserPoolId": cfg.user_pool_id})
    raw = pool.get("UserPool", {}).get("Policies", {}).get("PasswordPolicy")
    return PasswordPolicy.from_cognito(dict(raw) if raw else None)


def _refresh_policy(cfg: CognitoSettings) -> PasswordPolicy:
    previous = _policy_cache.get(cfg.user_pool_id)
    try:
        policy = _fetch_policy(cfg) or PasswordPolicy()
        ttl = cfg.policy_ttl
    except Exception as exc:  # a policy read must never break a page
        response = getattr(exc, "response", None) or {}
        code = response.get("Error", {}).get("Code") or type(exc).__name__
        logger.warning("password_policy_unavailable", extra={"error_code": code})
        policy = previous[1] if previous else PasswordPolicy()
        ttl = POLICY_RETRY_AFTER_FAILURE
    _policy_cache[cfg.user_pool_id] = (time.monotonic() + ttl, policy)
    return policy


def _refresh_in_background(cfg: CognitoSettings) -> None:
    with _policy_lock:
        if cfg.user_pool_id in _refreshing:
            return
        _refreshing.add(cfg.user_pool_id)

    def run() -> None:
        try:
            _refresh_policy(cfg)
        finally:
            with _policy_lock:
                _refreshing.discard(cfg.user_pool_id)

    threading.Thread(target=run, name="policy-refresh", daemon=True).start()


def password_policy() -> PasswordPolicy:
    """The override setting, else the pool's policy (cached), else Cognito's defaults."""
    cfg = config()
    if cfg.policy_override is not None:
        return PasswordPolicy.from_cognito(cfg.policy_override)
    cached = _policy_cache.get(cfg.user_pool_id)
    if cached is None:
        with _policy_lock:
            cached = _policy_cache.get(cfg.user_pool_id)
            if cached is None:
                return _refresh_policy(cfg)
    if cached[0] <= time.monotonic():
        _refresh_in_background(cfg)
    return cached[1]


# --- the pool's set-up, for `manage.py doctor` ---------------------------------
#
# DescribeUserPool and DescribeUserPoolClient need credentials (the second one
# answers with the client's secret, so grant it to the doctor, not the site).


class DescribeFailed(Exception):
    """A describe call failed; ``code`` is Cognito's error code or the transport error."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def has_credentials() -> bool:
    """Whether this process finds AWS credentials (environment, files, a role)."""
    return _has_credentials()


def _admin_client(cfg: CognitoSettings) -> CognitoIdentityProviderClient:
    return _client(cfg.region, cfg.endpoint_url, cfg.connect_timeout, cfg.read_timeout, 2, True)


def describe_pool(cfg: CognitoSettings | None = None) -> dict[str, Any]:
    """DescribeUserPool's UserPool; raises DescribeFailed."""
    cfg = cfg or config()
    try:
        answer = _admin_client(cfg).describe_user_pool(UserPoolId=cfg.user_pool_id)
    except Exception as exc:
        raise DescribeFailed(_error_code(exc)) from None
    return dict(answer["UserPool"])


@sensitive_variables()
def describe_app_client(cfg: CognitoSettings | None = None) -> dict[str, Any]:
    """DescribeUserPoolClient's UserPoolClient, ClientSecret included; raises DescribeFailed."""
    cfg = cfg or config()
    try:
        answer = _admin_client(cfg).describe_user_pool_client(
            UserPoolId=cfg.user_pool_id, ClientId=cfg.client_id
        )
    except Exception as exc:
        raise DescribeFailed(_error_code(exc)) from None
    app_client = dict(answer["UserPoolClient"])
    secret = app_client.get("ClientSecret")
    if isinstance(secret, str):
        logs.add_static_secret(secret)
    return app_client


@sensitive_variables()
def demo_try_sign_in(
    username: str, password: str, cfg: CognitoSettings | None = None
) -> bool | None:
    """The demo's sign-in check (DEMO_SIGN_IN_CHECK): AdminInitiateAuth with
    ADMIN_USER_PASSWORD_AUTH against the emulator. True if the username and password
    work, False if refused, None if it could not tell."""
    cfg = cfg or config()
    auth = {"USERNAME": username, "PASSWORD": password}
    secret = _base_params(cfg, username).get("SecretHash")
    if secret:
        auth["SECRET_HASH"] = secret
    try:
        _admin_client(cfg).admin_initiate_auth(
            UserPoolId=cfg.user_pool_id,
            ClientId=cfg.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters=auth,
        )
    except botocore.exceptions.ClientError as exc:
        refused = {"NotAuthorizedException", "UserNotFoundException"}
        return False if _error_code(exc) in refused else None
    except Exception:
        return None
    return True


def endpoint_url(cfg: CognitoSettings | None = None) -> str:
    return str(public_client(cfg).meta.endpoint_url)


def endpoint_problem(cfg: CognitoSettings | None = None) -> str | None:
    """None if Cognito's endpoint answers HTTP at all (any status); else what failed."""
    cfg = cfg or config()
    url = endpoint_url(cfg)
    if not url.startswith(("https://", "http://")):
        return "not an http(s) URL"
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(  # noqa: S310 - scheme checked above
            request, timeout=cfg.connect_timeout + cfg.read_timeout
        ):
            return None
    except urllib.error.HTTPError:
        return None  # it answered: reachable
    except urllib.error.URLError as exc:
        return str(exc.reason)
    except OSError as exc:
        return type(exc).__name__


def warm_up() -> None:
    """Create the client and load the policy before the first request."""
    public_client()
    try:
        password_policy()
    except Exception:  # start-up must not fail on a slow Cognito
        logger.exception("warm_up_failed")
