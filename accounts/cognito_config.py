"""The settings of the calls to Cognito, read from Django's settings once per process.

They are asked for several times per request (the guards, the pacer, the call);
reading some twenty settings through Django's lazy settings each time cost more
than the call's own bookkeeping. Any change of settings (tests) forgets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


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
    quota_rps: float = 20.0  # 0: no pacing
    quota_max_wait: float = 10.0


_config: CognitoSettings | None = None


def config() -> CognitoSettings:
    """This process's settings of the calls (read on first use)."""
    global _config
    if _config is None:
        _config = _read_config()
    return _config


def forget_config(**kwargs: Any) -> None:
    global _config
    _config = None


setting_changed.connect(forget_config)


def _read_config() -> CognitoSettings:
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
        quota_rps=s.COGNITO_QUOTA_RPS,
        quota_max_wait=s.COGNITO_QUOTA_MAX_WAIT,
    )
