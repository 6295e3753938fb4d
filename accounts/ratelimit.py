"""Our own rate limits, counted in Django's cache (shared by every worker when
CACHE_URL points at Redis; in-process otherwise, which is correct for the
default single gunicorn process).

Fixed windows: a key may make ``limit`` attempts per ``period`` seconds, the
window aligned to the epoch. Usernames are trimmed and case-folded, so changing
letter case does not dodge the limit. Cognito itself compares usernames that way
only when the pool's UsernameConfiguration.CaseSensitive is false (the API's
default is true); folding anyway only makes the limits stricter. Keys are
hashed, so the cache never holds a username or an IP.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import caches

from . import metrics
from .rates import Rate, normalize_username

logger = logging.getLogger(__name__)
_now = time.time  # the clock, replaceable in tests


def _cache_key(scope: str, key: str, window: int) -> str:
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window}"


def hit(scope: str, key: str, rate: Rate) -> int | None:
    """Count one attempt; return seconds until the window ends if over the limit, else None."""
    now = _now()
    window = int(now // rate.period)
    retry_after = max(1, math.ceil((window + 1) * rate.period - now))
    cache_key = _cache_key(scope, key, window)
    cache = caches[settings.RATELIMIT_CACHE]
    try:
        cache.add(cache_key, 0, timeout=rate.period + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=rate.period + 5)
            count = 1
    except Exception as exc:  # the shared cache is down
        logger.error(
            "ratelimit_cache_unavailable",
            extra={
                "scope": scope,
                "error": type(exc).__name__,
                "fail_open": settings.RATELIMIT_FAIL_OPEN,
            },
        )
        return None if settings.RATELIMIT_FAIL_OPEN else retry_after
    return retry_after if count > rate.limit else None


def check(action: str, *, username: str, client_ip: str | None) -> int | None:
    """Apply the limits of ``action`` ('confirm' or 'forgot'); the longest wait if over any.

    With a ``user_ip`` rate (confirm), the tight limit is per username *and*
    client IP, so strangers elsewhere cannot lock a user out; ``user`` is then a
    looser ceiling per username across all IPs, counting only attempts that
    the per-IP limits let through: otherwise one IP could still use up the
    ceiling by trying on after its own limit refused it.

    Without one (forgot), the ``user`` and ``ip`` counters both advance on
    every attempt, so neither can be dodged by rotating the other.
    """
    limits = settings.RATELIMITS[action]
    user = normalize_username(username)
    ip = client_ip or "unknown"
    waits = {"ip": hit(f"{action}:ip", ip, limits["ip"])}
    tight = limits.get("user_ip")
    if tight is not None:
        waits["user_ip"] = hit(f"{action}:user_ip", f"{user}\x00{ip}", tight)
    if tight is None or all(wait is None for wait in waits.values()):
        waits["user"] = hit(f"{action}:user", user, limits["user"])
    over = {scope: wait for scope, wait in waits.items() if wait is not None}
    if not over:
        return None
    # One refusal per attempt, counted against the limit that holds it longest.
    scope = max(over, key=over.__getitem__)
    metrics.ratelimit_refused(action, scope)
    return over[scope]


def peek(action: str, username: str, client_ip: str | None) -> int | None:
    """Whether ``check`` would refuse this attempt now: the longest wait, else None.

    Read-only (one get_many of the current windows' counters), so that a refused
    attempt can be answered before any form work; ``check`` still counts.
    """
    over = peek_scope(action, username, client_ip)
    return over[1] if over else None


def peek_scope(action: str, username: str, client_ip: str | None) -> tuple[str, int] | None:
    """``peek``, with the limit that holds the attempt longest: (scope, seconds)."""
    limits = settings.RATELIMITS[action]
    user = normalize_username(username)
    ip = client_ip or "unknown"
    keys = {"ip": ip, "user_ip": f"{user}\x00{ip}", "user": user}
    now = _now()
    wanted = {}
    for scope, key in keys.items():
        rate = limits.get(scope)
        if rate is not None:
            window = int(now // rate.period)
            wait = max(1, math.ceil((window + 1) * rate.period - now))
            wanted[_cache_key(f"{action}:{scope}", key, window)] = (scope, rate.limit, wait)
    try:
        counts = caches[settings.RATELIMIT_CACHE].get_many(list(wanted))
    except Exception:  # the shared cache is down: check decides, and logs it
        return None
    over = {
        scope: wait
        for cache_key, (scope, limit, wait) in wanted.items()
        if int(counts.get(cache_key) or 0) >= limit
    }
    if "user_ip" in limits and over.keys() & {"ip", "user_ip"}:
        over.pop("user", None)  # as check: the ceiling is not reached past the per-IP limits
    if not over:
        return None
    scope = max(over, key=over.__getitem__)
    return scope, over[scope]
