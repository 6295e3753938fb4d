"""Two guards around a dependency that may hang: a bulkhead and a circuit breaker.

Pure: no Django, no boto3. Both use ``threading`` locks, which are gevent's own
under the gevent worker, so they are safe between threads and greenlets alike.

- The bulkhead bounds the calls in flight; a call over the bound is refused at
  once instead of queueing behind calls that may never return.
- The breaker opens after ``failure_threshold`` calls in a row failed as the
  service's fault (a timeout, a 5xx, no connection). While open, calls are
  refused without being sent. After ``reset_timeout`` seconds exactly one call
  is let through as a probe (half-open): its success closes the breaker, its
  failure opens it again. Answers that prove the service is up, a wrong code
  included, count as successes.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable


class Bulkhead:
    """At most ``limit`` callers inside at once; the rest are refused, not queued."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs a limit of at least 1")
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    @property
    def full(self) -> bool:
        """Whether a caller would be refused now (read-only: for an early answer)."""
        return self.in_flight >= self.limit


class State(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


Listener = Callable[[State, State, int], None]  # (old, new, consecutive failures)


class Call(enum.Enum):
    """What the breaker let through: an ordinary call, or the one probe."""

    NORMAL = "normal"
    PROBE = "probe"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold >= 1 and reset_timeout > 0 are required")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def state(self) -> State:
        return self._state

    def retry_after(self) -> int:
        """Whole seconds until a probe may be sent (at least 1)."""
        remaining = self._opened_at + self.reset_timeout - self._clock()
        return max(1, int(remaining + 0.999))

    def refusing(self) -> bool:
        """Whether ``before_call`` would refuse a call now, without changing anything."""
        if self._state is State.CLOSED:
            return False
        if self._state is State.OPEN:
            return self._clock() < self._opened_at + self.reset_timeout
        return True  # half-open, the probe still out

    def before_call(self) -> Call | None:
        """Whether a call may be sent now: None means refuse it without sending."""
        with self._lock:
            if self._state is State.CLOSED:
                return Call.NORMAL
            if self._state is State.OPEN and self._clock() >= self._opened_at + self.reset_timeout:
                self._move(State.HALF_OPEN)
                return Call.PROBE
            return None  # open, or half-open with the probe still out

    def after_call(self, call: Call, *, ok: bool) -> None:
        """Record how a call that ``before_call`` let through ended."""
        with self._lock:
            if call is Call.PROBE:
                if ok:
                    self._failures = 0
                    self._move(State.CLOSED)
                else:
                    self._opened_at = self._clock()
                    self._move(State.OPEN)
            elif self._state is State.CLOSED:
                # Calls let through before the breaker opened don't change it after.
                if ok:
                    self._failures = 0
                else:
                    self._failures += 1
                    if self._failures >= self.failure_threshold:
                        self._opened_at = self._clock()
                        self._move(State.OPEN)

    def cancel(self, call: Call) -> None:
        """A call ``before_call`` let through was not sent after all: no verdict.
        A cancelled probe leaves the breaker open, due for the next probe at once."""
        with self._lock:
            if call is Call.PROBE and self._state is State.HALF_OPEN:
                self._move(State.OPEN)

    def _move(self, new: State) -> None:
        old, self._state = self._state, new
        if old is not new:
            for listener in self._listeners:
                listener(old, new, self._failures)
