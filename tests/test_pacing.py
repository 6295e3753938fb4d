"""Pacing the calls to Cognito's account-wide quota (accounts/pacing.py).

The pure step on a fake clock; the same step as a Lua script in a real
redis-server, checked against the pure one; the fallback when Redis goes away;
then the calls the site sends through the fault proxy: evenly spaced, in the
order people arrived, and "busy" at once past the longest wait.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts import cognito, pacing
from accounts.cognito import CognitoError, Kind
from accounts.pacing import Decision, LocalPacer, State, reserve
from accounts.resilience import Call, CircuitBreaker
from accounts.resilience import State as BreakerState
from tests.faultproxy import FaultProxy
from tests.redis_server import RedisServer

INTERVAL = 0.05  # 20 a second


def _run(times: list[float], max_wait: float = 0.2) -> list[Decision]:
    state, decisions = State(), []
    for now in times:
        decision, state = reserve(state, now, interval=INTERVAL, max_wait=max_wait)
        decisions.append(decision)
    return decisions


def test_callers_at_once_get_successive_slots_up_to_the_longest_wait() -> None:
    decisions = _run([100.0] * 7)
    assert [d.admitted for d in decisions] == [True] * 5 + [False] * 2
    assert [round(d.wait, 3) for d in decisions[:5]] == [0, 0.05, 0.1, 0.15, 0.2]
    # The refused are promised successive turns after the queue, not all the same one.
    assert [round(d.wait, 3) for d in decisions[5:]] == [0.25, 0.3]


def test_spaced_callers_never_wait_and_a_quiet_spell_leaves_no_credit() -> None:
    assert all(d.wait == 0 for d in _run([100.0 + i * INTERVAL for i in range(10)]))
    # After a pause, a burst is still spaced: no saved-up burst allowance.
    decisions = _run([100.0, 200.0, 200.0, 200.0])
    assert [round(d.wait, 3) for d in decisions] == [0, 0, 0.05, 0.1]


def test_a_refusal_takes_no_slot_and_the_queue_drains_with_time() -> None:
    decisions = _run([100.0] * 6 + [100.1])
    assert not decisions[5].admitted
    # 0.1 s later two slots have passed: the next caller waits 0.15 s, as the 4th would.
    assert decisions[6].admitted
    assert round(decisions[6].wait, 3) == 0.15


def test_promises_stay_within_the_horizon() -> None:
    state = State()
    for _ in range(5000):
        decision, state = reserve(state, 100.0, interval=INTERVAL, max_wait=1.0, horizon=5.0)
    assert not decision.admitted
    assert decision.wait == pytest.approx(5.0)


def test_callers_woken_late_are_spread_out_at_the_gate() -> None:
    """A process held up for a second wakes ten overdue callers at once: the gate lets
    a quarter second's worth through, then one per interval."""
    gate, waits = State(), []
    for _ in range(10):
        decision, gate = reserve(gate, 101.0, interval=INTERVAL, max_wait=60, tolerance=0.25)
        waits.append(round(decision.wait, 3))
    assert waits == [0] * 6 + [0.05, 0.1, 0.15, 0.2]
    # Callers on time pass straight through: the gate adds nothing to the schedule.
    gate = State()
    for k in range(20):
        decision, gate = reserve(
            gate, 200 + k * INTERVAL, interval=INTERVAL, max_wait=60, tolerance=0.25
        )
        assert decision.wait == 0


def test_a_caller_held_up_past_its_gate_time_asks_the_gate_again() -> None:
    now = [100.0]
    queue = LocalPacer(rate=20, max_wait=10, clock=lambda: now[0])
    gate = LocalPacer(rate=20, max_wait=60, tolerance=0.1, clock=lambda: now[0])
    for _ in range(5):
        gate.reserve()  # others just went through: the gate is 0.25 s ahead
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the process is held up 1 s in its gate wait
        slept.append(round(seconds, 3))
        now[0] += 1.0 if len(slept) == 2 else seconds

    asked: list[float] = []

    class Counted:
        def reserve(self) -> Decision:
            asked.append(now[0])
            return gate.reserve()

    decision = pacing.Pace(queue, Counted()).turn(sleep=sleep, clock=lambda: now[0])
    assert decision.admitted
    # Its queue turn at once; 0.15 s at the gate, but it woke 0.85 s late: rather than
    # send with whoever else woke late, it asked the gate again (and went at once).
    assert slept == [0, 0.15]
    assert asked == [100.0, 101.0]
    assert decision.wait == pytest.approx(1.0)


def test_local_pacer_serves_threads_in_arrival_order() -> None:
    pacer = LocalPacer(rate=20, max_wait=10, clock=lambda: 100.0)  # all arrive at once
    order: list[tuple[int, float]] = []
    lock = threading.Lock()

    def arrive(n: int) -> None:
        with lock:  # the order they reach the pacer in
            order.append((n, pacer.reserve().wait))

    threads = [threading.Thread(target=arrive, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The k-th to arrive sends k intervals after the first, whichever thread it was.
    assert [round(wait, 6) for _, wait in order] == [round(k * INTERVAL, 6) for k in range(20)]


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        LocalPacer(rate=0, max_wait=1)


# --- the same step in Redis -------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("pacing-redis")).start()
    yield server.url
    server.stop()


def _redis_pacer(url: str, key: str, rate: float = 20, max_wait: float = 0.2, **kw: Any) -> Any:
    client = pacing.redis_client(url, {"socket_timeout": 0.5, "socket_connect_timeout": 0.5})
    return pacing.RedisPacer(client, key, rate, max_wait, **kw)


@pytest.mark.parametrize("tolerance", [0, 0.25])
def test_the_lua_script_makes_the_same_decisions_as_the_pure_step(
    redis_url: str, tolerance: float
) -> None:
    shared = _redis_pacer(redis_url, f"pace:same:{tolerance}", max_wait=0.2, tolerance=tolerance)
    rng = random.Random(18)
    now, state = 1_700_000_000.0, State()
    for _ in range(300):
        now += rng.choice([0, 0, 0.001, 0.02, 0.05, 0.3])
        expected, state = reserve(state, now, interval=INTERVAL, max_wait=0.2, tolerance=tolerance)
        got = shared.reserve(now=now)
        assert got.admitted == expected.admitted
        assert got.wait == pytest.approx(expected.wait, abs=2e-6)


def test_instances_sharing_redis_share_one_queue_on_redis_clock(redis_url: str) -> None:
    a = _redis_pacer(redis_url, "pace:shared", max_wait=10)
    b = _redis_pacer(redis_url, "pace:shared", max_wait=10)
    waits = [(a if n % 2 else b).reserve().wait for n in range(10)]
    # One queue: each reservation is one interval after the last, whichever instance.
    gaps = [later - earlier for earlier, later in itertools.pairwise(waits)]
    assert all(0.03 < gap <= INTERVAL + 1e-6 for gap in gaps), waits


def test_without_redis_it_paces_on_its_own_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path).start()
    clock = [0.0]
    fallback = pacing.FallbackPacer(
        _redis_pacer(server.url, "pace:down"),
        LocalPacer(rate=20, max_wait=0.2, clock=lambda: clock[0]),
        retry_after=30,
        clock=lambda: clock[0],
    )
    assert fallback.reserve().admitted
    server.stop()
    with caplog.at_level(logging.WARNING, logger="accounts.pacing"):
        started = time.monotonic()
        local = [fallback.reserve() for _ in range(7)]
        assert time.monotonic() - started < 2  # one failed try, then none for 30 s
    assert [d.admitted for d in local] == [True] * 5 + [False] * 2
    events = [r.getMessage() for r in caplog.records]
    assert events == ["pacing_shared_unavailable"]
    server.start()
    clock[0] += 31  # time to try Redis again: it answers
    with caplog.at_level(logging.WARNING, logger="accounts.pacing"):
        assert fallback.reserve().admitted
    assert [r.getMessage() for r in caplog.records][-1] == "pacing_shared_restored"
    server.stop()


# --- the site's calls ----------------------------------------------------------------


def _confirm(n: int) -> CognitoError | None:
    try:
        cognito.confirm_forgot_password(username=f"p{n}", code="123456", password="Pw-123456!")
    except CognitoError as error:
        return error
    return None


def _arrivals(proxy: FaultProxy) -> list[float]:
    return [r["at"] for r in proxy.requests if r["operation"] == "ConfirmForgotPassword"]


def test_calls_leave_evenly_spaced_and_past_the_longest_wait_are_busy_at_once(
    site: Any, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_QUOTA_RPS = 10
    settings.COGNITO_QUOTA_MAX_WAIT = 0.75
    proxy.set("ok")
    results: dict[int, tuple[CognitoError | None, float]] = {}

    together = threading.Barrier(12)

    def person(n: int) -> None:
        together.wait()
        started = time.monotonic()
        results[n] = (_confirm(n), time.monotonic() - started)

    threads = [threading.Thread(target=person, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sorted(_arrivals(proxy))
    busy = [(error, took) for error, took in results.values() if error]
    # Slots at 0, 0.1, ..., 0.7 s: within the longest wait. One more if a busy machine
    # woke the last threads more than 0.05 s late: their own wait for 0.8 is then short
    # enough. Never all twelve, and never fewer than the eight the window holds.
    assert len(sent) in (8, 9), sent
    assert sent[-1] - sent[0] <= 0.8 + 0.05, sent
    # Spaced as the rate says (the gate lets a late call catch up by 0.25 s at most;
    # 0.05 s for the proxy's own timing on a busy machine).
    for i, earlier in enumerate(sent):
        for j in range(i + 1, len(sent)):
            assert sent[j] - earlier >= (j - i) * 0.1 - pacing.GATE_TOLERANCE - 0.05, sent
    assert len(busy) == 12 - len(sent)
    for error, took in busy:
        assert error is not None
        assert error.kind is Kind.BUSY
        assert error.code == "PacedOut"
        assert took < 0.5  # told at once, not after waiting
        assert error.retry_after is not None
        assert 1 <= error.retry_after <= 5


def test_a_probe_that_is_paced_out_gives_no_verdict() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.01)
    breaker.after_call(Call.NORMAL, ok=False)
    time.sleep(0.02)
    probe = breaker.before_call()
    assert probe is Call.PROBE
    breaker.cancel(probe)  # never sent
    assert breaker.state is BreakerState.OPEN
    assert breaker.before_call() is Call.PROBE  # the next caller probes at once


def test_pacing_off_with_a_rate_of_zero(site: Any, proxy: FaultProxy, settings: Any) -> None:
    settings.COGNITO_QUOTA_RPS = 0
    assert cognito.pacer() is None
    proxy.set("ok")
    assert _confirm(1) is None
