"""Pacing calls to Cognito's account-wide quota: every caller waits its turn.

ForgotPassword and ConfirmForgotPassword share one quota of about 30 calls a
second for the whole AWS account and region; past it Cognito refuses calls
(TooManyRequestsException). The site keeps under a share of it
(COGNITO_QUOTA_RPS) with GCRA, the generic cell rate algorithm, used to
schedule rather than to refuse: each caller atomically reserves the next free
send time ("slot"), one interval after the previous caller's, and sleeps until
it. So callers are served in the order they arrived, and the calls leave evenly
spaced, never in bursts. A caller whose slot is more than ``max_wait`` away
reserves nothing and is refused at once, with an estimate of when its turn
would come: refused callers are promised successive slots after the queue, so
that they do not all come back at the same moment.

A process held up (no CPU for a moment) wakes its overdue callers all at once;
sent together they would be a burst. So each caller, once its slot has come,
also passes a second GCRA at the moment of sending: the same rate with a small
burst allowance (``tolerance``), which lets on-time callers straight through
and spreads late ones out. The quota then holds for any one-second window.

- ``reserve``: the pure step, on a state and a clock reading (tested alone).
- ``LocalPacer``: the step under a lock, for one process (the in-memory cache).
- ``RedisPacer``: the same step in one Lua script, atomic in Redis, for every
  instance sharing the cache; Redis's own clock, so the instances' clocks
  don't matter.
- ``FallbackPacer``: Redis while it answers; else the local pacer, logged once,
  and Redis tried again later. Pacing never fails a request.

No Django, no boto3. Waiting is ``time.sleep``: a greenlet's under gevent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# How far ahead refused callers are promised a turn: Retry-After stays under a minute.
HORIZON = 60.0


@dataclass(frozen=True)
class State:
    tat: float = 0.0  # the "theoretical arrival time": the next free slot
    promised: float = 0.0  # the last slot promised to a refused caller


@dataclass(frozen=True)
class Decision:
    admitted: bool
    wait: float  # admitted: seconds to sleep before sending; refused: seconds until its turn


def reserve(
    state: State,
    now: float,
    *,
    interval: float,
    max_wait: float,
    tolerance: float = 0.0,
    horizon: float = HORIZON,
) -> tuple[Decision, State]:
    """One caller asks for a slot at ``now``; the decision and the new state.
    ``tolerance``: how far ahead of the schedule a caller may go (a burst allowance)."""
    tat = max(state.tat, now)
    wait = max(0.0, tat - tolerance - now)
    if wait <= max_wait:
        return Decision(True, wait), State(tat + interval, state.promised)
    promised = min(max(state.promised + interval, tat), now + max(horizon, max_wait))
    return Decision(False, promised - now), State(state.tat, promised)


class Pacer(Protocol):
    def reserve(self) -> Decision: ...


class LocalPacer:
    """This process's callers only (the default in-memory cache: one process)."""

    def __init__(
        self,
        rate: float,
        max_wait: float,
        tolerance: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or max_wait < 0:
            raise ValueError("a pacer needs a rate above 0 and a max_wait of at least 0")
        self.interval = 1.0 / rate
        self.max_wait = max_wait
        self.tolerance = tolerance
        self._clock = clock
        self._state = State()
        self._lock = threading.Lock()

    def reserve(self) -> Decision:
        with self._lock:
            decision, self._state = reserve(
                self._state,
                self._clock(),
                interval=self.interval,
                max_wait=self.max_wait,
                tolerance=self.tolerance,
            )
        return decision


# The same step as reserve(), in microseconds, on Redis's clock (or ARGV[5], for tests).
# KEYS[1]: a hash {tat, promised}. ARGV: interval, max_wait, horizon, tolerance[, now].
# Returns {admitted (0 or 1), wait}.
LUA = """
local now
if ARGV[5] then now = tonumber(ARGV[5]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval, max_wait, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('HMGET', KEYS[1], 'tat', 'promised')
local tat = math.max(tonumber(stored[1]) or 0, now)
local promised = tonumber(stored[2]) or 0
local wait = math.max(0, tat - tonumber(ARGV[4]) - now)
local result
if wait <= max_wait then
  result = {1, wait}
  tat = tat + interval
else
  promised = math.min(math.max(promised + interval, tat), now + math.max(horizon, max_wait))
  result = {0, promised - now}
end
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat),
  'promised', string.format('%d', promised))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, promised) - now) / 1000) + 1000)
return result
"""
MICRO = 1_000_000


class RedisPacer:
    """Every instance that shares the Redis: one atomic script call per caller."""

    def __init__(
        self, client: Any, key: str, rate: float, max_wait: float, tolerance: float = 0.0
    ) -> None:
        if rate <= 0 or max_wait < 0:
            raise ValueError("a pacer needs a rate above 0 and a max_wait of at least 0")
        self.key = key
        self.args = [
            round(MICRO / rate),
            round(max_wait * MICRO),
            round(HORIZON * MICRO),
            round(tolerance * MICRO),
        ]
        self._script = client.register_script(LUA)

    def reserve(self, now: float | None = None) -> Decision:
        """``now`` (seconds) only in tests; otherwise Redis's clock decides."""
        extra = [] if now is None else [round(now * MICRO)]
        admitted, wait = self._script(keys=[self.key], args=[*self.args, *extra])
        return Decision(bool(admitted), int(wait) / MICRO)


class FallbackPacer:
    """The shared pacer while it answers; else this process's own, and the shared
    one tried again after ``retry_after`` seconds. Each switch is logged once."""

    def __init__(
        self,
        shared: Pacer,
        local: Pacer,
        *,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        quiet: bool = False,
    ) -> None:
        self.quiet = quiet  # another FallbackPacer on the same Redis says it
        self.shared = shared
        self.local = local
        self.retry_after = retry_after
        self._clock = clock
        self._down_until: float | None = None

    def reserve(self) -> Decision:
        down_until = self._down_until
        if down_until is None or self._clock() >= down_until:
            try:
                decision = self.shared.reserve()
            except Exception as exc:  # Redis down, slow or refusing: pace on our own
                if self._down_until is None and not self.quiet:
                    logger.warning(
                        "pacing_shared_unavailable",
                        extra={"error": type(exc).__name__, "fallback": "per_process"},
                    )
                self._down_until = self._clock() + self.retry_after
            else:
                if down_until is not None:
                    self._down_until = None
                    if not self.quiet:
                        logger.warning("pacing_shared_restored")
                return decision
        return self.local.reserve()


def redis_client(url: str, options: dict[str, Any]) -> Any:
    """A client for ``url`` (the cache's Redis), with the cache's timeouts."""
    import redis

    timeouts = {k: options[k] for k in ("socket_connect_timeout", "socket_timeout") if k in options}
    return redis.Redis.from_url(url, **timeouts)


# The send gate's burst allowance: a tenth of a second's calls ahead of the schedule.
GATE_TOLERANCE = 0.1


@dataclass(frozen=True)
class Pace:
    """The queue callers wait in for their turn, and the gate each passes to send."""

    queue: Pacer
    gate: Pacer

    def turn(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Decision:
        """Wait for this caller's turn, or be refused at once (``admitted`` False)."""
        started = clock()
        decision = self.queue.reserve()
        if not decision.admitted:
            return decision
        sleep(decision.wait)
        while True:  # through the gate: at once, unless this process was held up
            wait = self.gate.reserve().wait
            if wait <= 0:
                break
            due = clock() + wait
            sleep(wait)
            if clock() - due <= GATE_TOLERANCE:
                break  # woke when it should: send now; else ask the gate again
        return Decision(True, clock() - started)


def local_pace(rate: float, max_wait: float) -> Pace:
    return Pace(LocalPacer(rate, max_wait), LocalPacer(rate, HORIZON, GATE_TOLERANCE))


def shared_pace(client: Any, key: str, rate: float, max_wait: float) -> Pace:
    """Through Redis, falling back to this process's own pace while it is unreachable."""
    local = local_pace(rate, max_wait)
    queue = RedisPacer(client, key, rate, max_wait)
    gate = RedisPacer(client, key + ":gate", rate, HORIZON, GATE_TOLERANCE)
    return Pace(FallbackPacer(queue, local.queue), FallbackPacer(gate, local.gate, quiet=True))
