"""Shedding past the CPU ceiling: how late the event loop runs, and whether to refuse.

Under the gevent worker every request is a greenlet, and a greenlet that is
ready to run waits until every one ahead of it has run to its next pause. When
a process has more work than its core can do, that wait (the loop's lag) grows
with the queue, and every request pays it at each of its pauses (reading the
body, the cache, the call to Cognito). A sampler greenlet sleeps a fixed
interval and measures how much longer it took: that is the lag. While it is
over SHED_LAG, new submissions are answered "busy" at once (cheaply), so that
the ones already admitted keep their pace, instead of everyone queueing.

Only the lag the process's own work explains counts: the CPU time it used
while the sampler slept, beyond the interval itself. A loop that is late
because the machine gives the process no CPU (other processes, a CPU limit
met by other work) is not helped by refusing its own few requests.

The logic is pure (no Django, no gevent) and takes its clocks; the sampler
runs under gevent only. Elsewhere (tests, runserver) nothing is shed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SAMPLE_INTERVAL = 0.02  # seconds between samples: ~50 wake-ups a second, a few µs each
RETRY_AFTER = 2  # seconds: CPU load changes fast, so try again soon


class LagMonitor:
    """How late a loop runs because of its own work, from a sampler that calls
    ``woke`` after each sleep. ``cpu`` is the process's CPU time."""

    def __init__(
        self,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        if interval <= 0:
            raise ValueError("the interval must be more than 0")
        self.interval = interval
        self._clock = clock
        self._cpu = cpu
        self.last = 0.0  # the last sample's lag
        self.previous = 0.0  # the one before
        self.due = clock() + interval  # when the sampler's sleep should end
        self.cpu_at = cpu()  # the CPU time when it began

    def _late(self, now: float) -> float:
        """How late the sampler is at ``now``, as far as this process's work explains it."""
        busy = self._cpu() - self.cpu_at - self.interval
        return max(0.0, min(now - self.due, busy))

    def woke(self) -> None:
        """The sampler woke up (and sleeps again at once)."""
        now = self._clock()
        self.previous, self.last = self.last, self._late(now)
        self.due, self.cpu_at = now + self.interval, self._cpu()

    def lag(self) -> float:
        """The lag that has lasted two samples, the second one perhaps still under way
        (how overdue the sampler is now). One pause (a garbage collection, one slow
        request) delays one sample and sheds nothing; a queue delays them all, and
        is seen while the second sample is still overdue."""
        return min(self.last, max(self.previous, self._late(self._clock())))


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
        monitor.due, monitor.cpu_at = time.monotonic() + monitor.interval, time.process_time()
        while shedder.running:
            sleep(monitor.interval)
            monitor.woke()

    shedder.running = True
    spawn(sample)
