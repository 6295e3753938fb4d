"""The bulkhead and the circuit breaker around Cognito.

Unit tests of accounts/resilience.py on a fake clock, then the site end to end
(Django test client → fault proxy → moto): what opens the breaker, what never
does, what an open breaker and a full bulkhead tell the user.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts import cognito
from accounts.resilience import Bulkhead, Call, CircuitBreaker, State
from tests.conftest import NEW_PASSWORD, FormClient
from tests.faultproxy import FaultProxy
from tests.servers import launch
from tests.test_metrics import sample

NOT_ANSWERING = "isn&#x27;t answering, so we didn&#x27;t send your request"
BUSY = "A lot of people are resetting their password right now"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: Clock, changes: list[tuple[State, State]]) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    breaker.add_listener(lambda old, new, _n: changes.append((old, new)))
    return breaker


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        call = breaker.before_call()
        assert call is Call.NORMAL
        breaker.after_call(call, ok=False)


def test_breaker_opens_after_consecutive_failures_only() -> None:
    clock, changes = Clock(), list[tuple[State, State]]()
    breaker = _breaker(clock, changes)
    _fail(breaker, 2)
    breaker.after_call(Call.NORMAL, ok=True)  # an answer in between: the count starts again
    _fail(breaker, 2)
    assert breaker.state is State.CLOSED
    _fail(breaker, 1)
    assert breaker.state is State.OPEN  # type: ignore[comparison-overlap]
    assert breaker.before_call() is None
    assert breaker.retry_after() == 10
    assert changes == [(State.CLOSED, State.OPEN)]


def test_breaker_lets_exactly_one_probe_through_and_closes_on_its_success() -> None:
    clock, changes = Clock(), list[tuple[State, State]]()
    breaker = _breaker(clock, changes)
    _fail(breaker, 3)
    clock.now += 9.9
    assert breaker.before_call() is None
    clock.now += 0.1
    probe = breaker.before_call()
    assert probe is Call.PROBE
    assert breaker.before_call() is None  # the probe is still out: the others wait
    breaker.after_call(probe, ok=True)
    assert breaker.state is State.CLOSED
    assert breaker.before_call() is Call.NORMAL
    assert changes == [
        (State.CLOSED, State.OPEN),
        (State.OPEN, State.HALF_OPEN),
        (State.HALF_OPEN, State.CLOSED),
    ]


def test_a_failed_probe_opens_the_breaker_for_another_period() -> None:
    clock, changes = Clock(), list[tuple[State, State]]()
    breaker = _breaker(clock, changes)
    _fail(breaker, 3)
    clock.now += 10
    probe = breaker.before_call()
    assert probe is Call.PROBE
    clock.now += 4  # the probe timed out
    breaker.after_call(probe, ok=False)
    assert breaker.state is State.OPEN
    clock.now += 9
    assert breaker.before_call() is None
    clock.now += 1
    assert breaker.before_call() is Call.PROBE


def test_calls_sent_before_the_breaker_opened_dont_move_it_after() -> None:
    clock, changes = Clock(), list[tuple[State, State]]()
    breaker = _breaker(clock, changes)
    late = [breaker.before_call() for _ in range(5)]
    _fail(breaker, 3)
    for call in late:  # they time out after it opened, or come back fine
        assert call is not None
        breaker.after_call(call, ok=call is late[0])
    assert breaker.state is State.OPEN
    assert changes == [(State.CLOSED, State.OPEN)]


def test_bulkhead_refuses_over_its_bound_and_frees_slots() -> None:
    bulkhead = Bulkhead(2)
    assert bulkhead.try_enter()
    assert bulkhead.try_enter()
    assert not bulkhead.try_enter()
    assert bulkhead.in_flight == 2
    bulkhead.leave()
    assert bulkhead.try_enter()
    with pytest.raises(ValueError, match="at least 1"):
        Bulkhead(0)


# --- the site ------------------------------------------------------------------


def _submit(client: Client, n: int, code: str = "123456") -> Any:
    # Each attempt its own username, so our own per-username limit never trips.
    return client.post(
        "/reset/",
        {
            "username": f"guard{n}@example.com",
            "code": code,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


@pytest.mark.parametrize(
    "mode",
    [
        "error:CodeMismatchException",
        "error:ExpiredCodeException",
        "error:InvalidPasswordException",
        "error:PasswordHistoryPolicyViolationException",
        "error:LimitExceededException",
        "error:TooManyFailedAttemptsException",
        "error:UserNotFoundException",
        "throttle",
    ],
)
def test_the_users_own_mistakes_and_throttling_never_open_the_breaker(
    client: Client, site: Any, proxy: FaultProxy, mode: str
) -> None:
    proxy.set(mode)
    for n in range(8):  # more than COGNITO_BREAKER_FAILURES (5)
        response = _submit(client, n)
        assert response.status_code in (
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.TOO_MANY_REQUESTS,
            HTTPStatus.SERVICE_UNAVAILABLE,  # throttled: busy for everyone
        )
    weak = client.post(
        "/reset/",
        {"username": "w@example.com", "code": "1", "new_password1": "a", "new_password2": "a"},
    )
    assert weak.status_code == HTTPStatus.BAD_REQUEST
    assert cognito.guards()[1].state is State.CLOSED
    calls = len(proxy.calls("ConfirmForgotPassword"))
    proxy.set("ok")
    assert _submit(client, 99).status_code == HTTPStatus.FOUND
    assert len(proxy.calls("ConfirmForgotPassword")) == calls + 1


@pytest.mark.parametrize("mode", ["500", "hang", "reset", "error:InternalErrorException"])
def test_service_faults_open_the_breaker_and_nothing_is_sent_while_open(
    client: Client, site: Any, proxy: FaultProxy, mode: str, settings: Any
) -> None:
    settings.COGNITO_READ_TIMEOUT = 0.3  # "hang": a timeout, quickly
    settings.FORGOT_MIN_DURATION = 1.5  # the production floor: not for what was never sent
    proxy.set(mode)
    for n in range(5):
        assert _submit(client, n).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert cognito.guards()[1].state is State.OPEN
    assert sample("resetsite_cognito_breaker_state", state="open") == 1
    assert sample("resetsite_cognito_breaker_state", state="closed") == 0
    sent = len(proxy.requests)

    started = time.monotonic()
    response = _submit(client, 5, code="654321")
    html = response.content.decode()
    assert time.monotonic() - started < 1
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert NOT_ANSWERING in html
    assert 0 < int(response["Retry-After"]) <= 15
    assert 'value="guard5@example.com"' in html
    assert 'value="654321"' in html
    assert NEW_PASSWORD not in html

    started = time.monotonic()
    forgot = client.post("/forgot/", {"username": "someone"})
    assert time.monotonic() - started < 1
    assert forgot.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "so we couldn&#x27;t send a code" in forgot.content.decode()
    assert 'value="someone"' in forgot.content.decode()
    assert len(proxy.requests) == sent  # nothing reached Cognito
    assert client.get("/reset/").status_code == HTTPStatus.OK
    assert client.get("/healthz").status_code == HTTPStatus.OK


def test_after_the_reset_timeout_a_probe_closes_the_breaker(
    client: Client, site: Any, proxy: FaultProxy, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The breaker's own clock, moved by the test: with real time, a request slower
    # than the reset timeout (a busy machine) would find the breaker half-open already.
    settings.COGNITO_BREAKER_RESET = 30
    clock = Clock()
    monkeypatch.setattr(cognito.guards()[1], "_clock", clock)
    proxy.set("500")
    for n in range(5):
        _submit(client, n)
    assert cognito.guards()[1].state is State.OPEN
    proxy.set("ok")
    clock.now += 29.9
    assert NOT_ANSWERING in _submit(client, 6).content.decode()
    clock.now += 0.1
    assert _submit(client, 7).status_code == HTTPStatus.FOUND  # the probe
    assert cognito.guards()[1].state is State.CLOSED
    assert sample("resetsite_cognito_breaker_state", state="closed") == 1
    assert _submit(client, 8).status_code == HTTPStatus.FOUND


def test_over_the_in_flight_bound_people_are_told_busy_at_once(
    site: Any, proxy: FaultProxy, settings: Any
) -> None:
    settings.COGNITO_MAX_IN_FLIGHT = 1
    settings.COGNITO_READ_TIMEOUT = 5.0
    proxy.set("slow:ok", delay=1.5)
    first: list[Any] = []
    waiting = threading.Thread(target=lambda: first.append(_submit(FormClient(), 1)))
    waiting.start()
    deadline = time.monotonic() + 5
    while not proxy.calls("ConfirmForgotPassword") and time.monotonic() < deadline:
        time.sleep(0.01)
    client = FormClient()
    started = time.monotonic()
    response = _submit(client, 2, code="777777")
    took = time.monotonic() - started
    html = response.content.decode()
    waiting.join()
    assert took < 1
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    low = cognito.BUSY_RETRY_AFTER  # a few seconds, jittered: not everyone at once
    assert low <= int(response["Retry-After"]) <= low + cognito.RETRY_JITTER + 1
    assert BUSY in html
    assert 'value="guard2@example.com"' in html
    assert 'value="777777"' in html
    assert NEW_PASSWORD not in html
    assert "Try again in 1 minute" not in html  # not one person's limit
    assert f"Wait {response['Retry-After']} seconds, then press" in html
    assert len(proxy.calls("ConfirmForgotPassword")) == 1  # the busy one was never sent
    assert first[0].status_code == HTTPStatus.FOUND
    assert cognito.guards()[0].in_flight == 0
    assert cognito.guards()[1].state is State.CLOSED  # being busy is not a fault


def test_readiness_says_starting_until_warm_and_never_asks_cognito(
    client: Client, site: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accounts import middleware

    proxy.set("hang")
    monkeypatch.setattr(middleware, "READY", False)
    starting = client.get("/readyz", HTTP_HOST="10.1.2.3")  # a probe uses the pod IP
    assert starting.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert starting["Cache-Control"] == "no-store"
    monkeypatch.setattr(middleware, "READY", True)
    assert client.get("/readyz", HTTP_HOST="10.1.2.3").status_code == HTTPStatus.OK
    assert client.get("/healthz", HTTP_HOST="10.1.2.3").status_code == HTTPStatus.OK
    assert proxy.requests == []


def _probe(port: int, path: str) -> int | None:
    """A readiness probe as a kubelet sends it (1 s timeout): the status, or None."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:  # no answer within the probe's timeout: not ready either
        return None
    finally:
        conn.close()


@pytest.mark.e2e
def test_a_real_process_is_not_ready_until_warm(
    pool: Any, proxy: FaultProxy, tmp_path: Path
) -> None:
    # Warm-up reads the pool's policy; Cognito takes 3 s to answer it.
    proxy.set("slow", delay=3)
    env = {**pool.env(), "COGNITO_ENDPOINT_URL": proxy.url, "COGNITO_READ_TIMEOUT": "15"}
    env |= {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DJANGO_SECRET_KEY": "w" * 50}
    server = launch("site", tmp_path, env)
    try:
        deadline = time.monotonic() + 30
        while not proxy.calls("DescribeUserPool"):  # the worker has begun its warm-up
            assert time.monotonic() < deadline, server.log_text()[-2000:]
            time.sleep(0.02)
        assert _probe(server.port, "/readyz") in (HTTPStatus.SERVICE_UNAVAILABLE, None)
        while _probe(server.port, "/readyz") != HTTPStatus.OK:
            assert time.monotonic() < deadline + 15, server.log_text()[-2000:]
            time.sleep(0.1)
        assert _probe(server.port, "/healthz") == HTTPStatus.OK
    finally:
        server.stop()


def test_planned_503s_are_not_logged_as_errors(
    client: Client, site: Any, proxy: FaultProxy, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from accounts.logs import OnlyFailures

    proxy.set("500")
    with caplog.at_level(logging.INFO):
        for n in range(6):  # "unavailable", then the open breaker's answer
            assert _submit(client, n).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert any(r.name == "accounts.attempts" for r in caplog.records)  # each attempt, once
    assert not [r for r in caplog.records if r.name == "django.request"]
    crash = logging.LogRecord("django.request", logging.ERROR, "", 0, "boom", None, None)
    crash.status_code = 500
    assert OnlyFailures().filter(crash)  # a real failure stays
