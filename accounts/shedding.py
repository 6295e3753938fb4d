"""Shedding past the CPU ceiling: how late the event loop runs, and whether to refuse.

Under the gevent worker every request is a greenlet, and a greenlet that is
ready to run waits until every one ahead of it has run to its next pause. When
a process has more work than its core can do, that wait (the loop's lag) grows
with the queue, and every request pays it at each of its pauses (reading the
body, the cache, the call to Cognito). A sampler greenlet sleeps a fixed
interval and measures how much longer it took: that is the lag. While it is
over SHED_LAG, new submissions are answered "busy" at once (cheaply), so that
the ones already admitted keep their pace, instead of everyone queueing.

The logic is pure (no Django, no gevent) and takes its clock; ``start`` runs
the sampler under gevent only. Elsewhere (tests, runserver) nothing is shed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SAMPLE_INTERVAL = 0.02  # seconds between samples: ~50 wake-ups a second, a few µs each
RETRY_AFTER = 2  # seconds: CPU load changes fast, so try again soon


class LagMonitor:
    """How late a loop runs, from a sampler that calls ``woke`` after each sleep."""

    def __init__(self, *, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        if interval <= 0:
            raise ValueError("the interval must be more than 0")
        self.interval = interval
        self._clock = clock
        self.last = 0.0  # the last sample's lag
        self.previous = 0.0  # the one before
        self.due = clock() + interval  # when the sampler's sleep should end

    def woke(self) -> None:
        """The sampler woke up (and sleeps again at once)."""
        now = self._clock()
        self.previous, self.last = self.last, max(0.0, now - self.due)
        self.due = now + self.interval

    def lag(self) -> float:
        """The lag that has lasted two samples, the second one perhaps still under way
        (how overdue the sampler is now). One pause (the OS, a garbage collection)
        delays one sample and sheds nothing; a queue delays them all, and is seen
        while the second sample is still overdue."""
        return min(self.last, max(self.previous, self._clock() - self.due))


class Shedder:
    """Whether to refuse new work: while the loop's lag is over ``limit`` seconds."""

    def __init__(self, monitor: LagMonitor, *, limit: float) -> None:
        self.monitor = monitor
        self.limit = limit
        self.running = False  # only a running sampler's lag means anything

    def saturated(self) -> bool:
        return self.running and self.limit > 0 and self.monitor.lag() > self.limit


_lock = threading.Lock()
_shedder: Shedder | None = None


def shedder(limit: float) -> Shedder:
    """This process's shedder; its sampler starts with the first call, under gevent."""
    global _shedder
    current = _shedder
    if current is not None and current.limit == limit:
        return current
    with _lock:
        if _shedder is None or _shedder.limit != limit:
            fresh = Shedder(LagMonitor(interval=SAMPLE_INTERVAL), limit=limit)
            if _shedder is not None:
                _shedder.running = False  # its sampler stops
            if limit > 0:
                _start(fresh)
            _shedder = fresh
        return _shedder


def _start(shedder: Shedder) -> None:
    try:
        from gevent import monkey, sleep, spawn
    except ImportError:
        return
    if not monkey.is_module_patched("socket"):
        return

    def sample() -> None:
        monitor = shedder.monitor
        monitor.due = time.monotonic() + monitor.interval
        while shedder.running:
            sleep(monitor.interval)
            monitor.woke()

    shedder.running = True
    spawn(sample)
