"""Shedding past the CPU ceiling: the lag monitor's logic, then a real saturated server.

The pure part runs on a clock of its own. The server is the production gunicorn
(gunicorn.conf.py, gevent) in front of the Cognito stand-in, sent a burst of
submissions at once: far more work than one process's core can do.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlencode

import pytest

from accounts.cognito_errors import RETRY_JITTER
from accounts.shedding import RETRY_AFTER, LagMonitor, Shedder
from tests.test_serving import BUSY, PASSWORD, Site, _site


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.cpu = 5.0  # the process's CPU time

    def __call__(self) -> float:
        return self.now

    def used(self) -> float:
        return self.cpu


def _shedder(limit: float = 0.05) -> tuple[Shedder, Clock]:
    clock = Clock()
    shedder = Shedder(LagMonitor(interval=0.02, clock=clock, cpu=clock.used), limit=limit)
    shedder.running = True
    return shedder, clock


def _overdue(shedder: Shedder, clock: Clock, late: float, busy: float = 1.0) -> None:
    """The sampler is ``late`` past due; the process worked ``busy`` of that time."""
    clock.cpu += (shedder.monitor.due + late - clock.now) * busy
    clock.now = shedder.monitor.due + late


def _sample(shedder: Shedder, clock: Clock, late: float, busy: float = 1.0) -> None:
    """One sample: the sampler wakes ``late`` seconds after it was due."""
    _overdue(shedder, clock, late, busy)
    shedder.monitor.woke()


def test_a_loop_on_time_sheds_nothing() -> None:
    shedder, clock = _shedder()
    for _ in range(50):
        _sample(shedder, clock, 0.002)
        assert not shedder.saturated()


def test_one_pause_sheds_nothing_a_queue_does() -> None:
    shedder, clock = _shedder()
    _sample(shedder, clock, 0.002)
    _overdue(shedder, clock, 0.3)  # a pause: the sampler is overdue...
    assert not shedder.saturated()  # ...but only this once
    shedder.monitor.woke()
    assert not shedder.saturated()
    _sample(shedder, clock, 0.002)  # on time again
    assert not shedder.saturated()

    _sample(shedder, clock, 0.08)  # a queue: late once...
    _overdue(shedder, clock, 0.06)  # ...and the next sample overdue already
    assert shedder.saturated()
    shedder.monitor.woke()
    assert shedder.saturated()  # two late samples
    _sample(shedder, clock, 0.001)
    assert not shedder.saturated()  # the queue is gone: admit again


def test_a_loop_late_for_want_of_cpu_sheds_nothing() -> None:
    """Late because the machine runs other processes, not this one's work."""
    shedder, clock = _shedder()
    for _ in range(5):
        _sample(shedder, clock, 0.2, busy=0.05)
        assert not shedder.saturated()
    for _ in range(2):
        _sample(shedder, clock, 0.2, busy=0.6)  # its own queue, on 60% of a core
    assert shedder.saturated()


def test_the_limit_is_a_bound_and_zero_turns_it_off() -> None:
    shedder, clock = _shedder(limit=0.05)
    _sample(shedder, clock, 0.05)
    _sample(shedder, clock, 0.05)
    assert not shedder.saturated()  # at the limit, not past it
    _sample(shedder, clock, 0.051)
    _sample(shedder, clock, 0.051)
    assert shedder.saturated()
    shedder.limit = 0
    assert not shedder.saturated()
    shedder.limit, shedder.running = 0.05, False
    assert not shedder.saturated()  # no sampler (not under gevent): nothing is known


def test_a_monitor_needs_an_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        LagMonitor(interval=0)


# --- a real server, saturated -------------------------------------------------------

BURST = 400


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    # The bulkhead well above the burst, and no pacing: every "busy" here is the shedding's.
    yield from _site(tmp_path, COGNITO_MAX_IN_FLIGHT="2000", SHED_LAG="0.05", COGNITO_QUOTA_RPS="0")


def _request(site: Site, n: int) -> bytes:
    body = urlencode(
        {
            "csrfmiddlewaretoken": site.token,
            "username": f"burst{n}@example.com",
            "code": "123456",
            "new_password1": PASSWORD,
            "new_password2": PASSWORD,
        }
    )
    head = (
        f"POST /reset/ HTTP/1.1\r\nHost: 127.0.0.1:{site.server.port}\r\n"
        f"Cookie: {site.cookie}\r\nOrigin: http://127.0.0.1:{site.server.port}\r\n"
        f"X-Forwarded-For: 10.8.{n // 256}.{n % 256}\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return (head + body).encode()


def _burst(site: Site, count: int) -> list[str]:
    """``count`` submissions sent at once, each on its own connection; the answers."""
    sockets = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", site.server.port), timeout=60)
        sock.sendall(_request(site, n))
        sockets.append(sock)
    answers = []
    for sock in sockets:
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        sock.close()
        answers.append(b"".join(chunks).decode("utf-8", "replace"))
    return answers


def test_a_saturated_server_answers_busy_at_once_and_admits_again(site: Site) -> None:
    answers = _burst(site, BURST)
    statuses = [int(answer.split(" ", 2)[1]) for answer in answers]
    shed = [
        a for a, s in zip(answers, statuses, strict=True) if s == HTTPStatus.SERVICE_UNAVAILABLE
    ]
    assert set(statuses) == {HTTPStatus.FOUND, HTTPStatus.SERVICE_UNAVAILABLE}, set(statuses)
    assert all(BUSY in answer for answer in shed)
    waits = [int(re.findall(r"(?im)^Retry-After: (\d+)\r$", answer)[0]) for answer in shed]
    # A short wait with jitter, so that those shed together don't come back together.
    assert all(RETRY_AFTER <= wait <= RETRY_AFTER + RETRY_JITTER for wait in waits), waits
    log = site.server.log_text()
    assert log.count('"error_code": "Shed"') == len(shed)
    assert PASSWORD not in log

    # The burst is over: a submission is admitted again.
    deadline = time.monotonic() + 10
    while (status := site.submit(BURST + 1)[0]) != HTTPStatus.FOUND:
        assert status == HTTPStatus.SERVICE_UNAVAILABLE
        assert time.monotonic() < deadline, "still shedding 10 s after the burst"
        time.sleep(0.2)
