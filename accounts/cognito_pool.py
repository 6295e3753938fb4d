"""What the site reads about the pool, beside the two public calls (cognito.py).

- The password policy (DescribeUserPool, which needs credentials), cached per
  process and refreshed in the background.
- The pool's set-up, for `manage.py doctor` (DescribeUserPool and
  DescribeUserPoolClient), and whether the endpoint answers at all.
- The demo's sign-in check against the local emulator.
- ``warm_up``: the client and the policy, before the first request.

With cognito.py, the only modules that import boto3.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
from django.views.decorators.debug import sensitive_variables

from . import logs
from .cognito import (
    CognitoSettings,
    _base_params,
    _call,
    _client,
    _error_code,
    config,
    public_client,
)
from .policy import PasswordPolicy

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

logger = logging.getLogger(__name__)


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
