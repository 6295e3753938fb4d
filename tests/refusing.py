"""Put this process's Cognito guards in the state that refuses a submission."""

from __future__ import annotations

from accounts import cognito


def open_breaker() -> None:
    """Fail as many calls as it takes for the breaker to open."""
    _, breaker = cognito.guards()
    for _ in range(breaker.failure_threshold):
        call = breaker.before_call()
        assert call is not None
        breaker.after_call(call, ok=False)


def fill_bulkhead() -> None:
    """Take every place in the bulkhead."""
    bulkhead, _ = cognito.guards()
    while bulkhead.try_enter():
        pass
