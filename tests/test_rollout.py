"""Stopping the production server cuts no one off (resetsite/worker.py).

Real gunicorn from gunicorn.conf.py in front of a Cognito stand-in that answers
every call after 1 s, stopped with SIGTERM as a rolling deploy stops it: with
resets in flight and idle keep-alive connections, under a flood of connections,
and while it boots. Every request the server accepted gets its whole answer: no
5xx, no connection closed or reset unanswered, no error line. Each test prints
its figures (pytest -s): in flight at SIGTERM, answered, dropped, error lines,
seconds to exit.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from pathlib import Path

import pytest
from latency_stub import StubProcess

from tests import rollout
from tests.nginx import Nginx
from tests.servers import launch, wait_healthy

IN_FLIGHT = 48
FLOOD = 300
BEHIND_NGINX = 40  # clients (nginx here has 256 connections, two per request)


@pytest.fixture(scope="module")
def stub() -> Iterator[StubProcess]:
    with StubProcess(latency_ms=1000) as slow:
        yield slow


def _report(name: str, load: rollout.Load, at_sigterm: int, errors: int, took: float) -> None:
    print(
        f"\n{name}: in flight at SIGTERM {at_sigterm}, answered {sum(load.answered.values())}"
        f" {dict(load.answered)}, dropped {len(load.dropped)}, refused after the close"
        f" {load.refused}, error lines {errors}, exit {took:.2f} s"
    )


def _idle_keepalive(port: int) -> socket.socket:
    """A connection that has had its answer and waits, kept alive, for a next request."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    response = http.client.HTTPResponse(sock)
    response.begin()
    assert response.status == HTTPStatus.OK
    assert not response.will_close
    response.read()
    return sock


def test_sigterm_answers_every_request_in_flight_and_closes_idle_connections(
    stub: StubProcess, tmp_path: Path
) -> None:
    # Idle connections would hold a stock worker for WEB_KEEPALIVE seconds: make it long.
    env = rollout.site_env(tmp_path, stub.url, WEB_KEEPALIVE="15")
    server = rollout.start("site", tmp_path, env)
    try:
        cookie, token = rollout.form_token(server.port)
        idle = [_idle_keepalive(server.port) for _ in range(3)]
        load = rollout.Load(server.port, cookie, token, IN_FLIGHT)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # One batch: each client sends one reset, then stops.
            load.start()
            load.wait_for_in_flight(IN_FLIGHT)
            load.stop_sending()
            time.sleep(0.3)  # every request is in, each waiting on Cognito
            at_sigterm = load.in_flight
            exited = pool.submit(rollout.stop_and_time, server)
            for sock in idle:
                sock.settimeout(5)
                assert sock.recv(1) == b"", "an idle connection got data or was reset"
                sock.close()
            took = exited.result()
        load.stop()
    finally:
        server.stop()

    errors = rollout.error_lines(server)
    _report("in flight", load, at_sigterm, len(errors), took)
    assert at_sigterm == IN_FLIGHT
    assert load.answered == {HTTPStatus.FOUND: IN_FLIGHT}, load.answered
    assert not load.dropped
    assert errors == []
    assert server.process.returncode == 0
    # Out once the last answer is sent (each waits 1 s on Cognito; more on a busy
    # machine), not after the idle connections' 15 s, nor the 20 s graceful timeout.
    assert took < 10, took


@pytest.mark.parametrize("connections", ["2000", "100"])
def test_sigterm_under_a_flood_of_connections_drops_none(
    stub: StubProcess, tmp_path: Path, connections: str
) -> None:
    """Half the clients send resets (1 s each), half ask /healthz: connections keep coming.

    With WEB_CONNECTIONS=2000 (the default) every connection is accepted at once,
    and some are accepted just as the worker stops: a stock worker logged an error
    for each and closed it unanswered. With 100, the rest wait in the listen
    backlog, which a stock worker's close reset.
    """
    env = rollout.site_env(tmp_path, stub.url, WEB_CONNECTIONS=connections)
    server = rollout.start("site", tmp_path, env)
    try:
        cookie, token = rollout.form_token(server.port)
        load = rollout.Load(server.port, cookie, token, FLOOD, quick_share=2).start()
        load.wait_for_in_flight(FLOOD * 9 // 10)
        time.sleep(1.0)  # resets finishing, new connections being accepted
        at_sigterm = load.in_flight
        took = rollout.stop_and_time(server)
        load.stop()
    finally:
        server.stop()

    errors = rollout.error_lines(server)
    _report(f"flood, WEB_CONNECTIONS={connections}", load, at_sigterm, len(errors), took)
    assert not load.dropped, f"{len(load.dropped)} dropped: {set(load.dropped)}"
    assert set(load.answered) <= {HTTPStatus.OK, HTTPStatus.FOUND}, load.answered
    assert sum(load.answered.values()) >= at_sigterm
    assert errors == []
    assert server.process.returncode == 0
    assert took < 20, took  # WEB_GRACEFUL_TIMEOUT


@pytest.mark.parametrize("after", [0.0, 0.5])
def test_sigterm_while_the_worker_boots_stops_within_seconds(tmp_path: Path, after: float) -> None:
    """Seconds after the master logs "Booting worker": monkey-patching, Django's set-up."""
    env = rollout.site_env(tmp_path, rollout.a_free_url(), WEB_GRACEFUL_TIMEOUT="30")
    server = launch("site", tmp_path, env)
    try:
        deadline = time.monotonic() + 30
        while "Booting worker" not in server.log_text():
            assert server.process.poll() is None, server.log_text()
            assert time.monotonic() < deadline, "the worker never booted"
            time.sleep(0.01)
        time.sleep(after)
        took = rollout.stop_and_time(server)
    finally:
        server.stop()
    print(f"\nSIGTERM {after} s into the worker's boot: exit {took:.2f} s")
    assert server.process.returncode == 0
    # The worker finishes booting (a second or two; more on a busy machine), then
    # stops; a lost signal would keep it for the graceful timeout, 30 s.
    assert took < 10, f"{took:.1f} s: the signal was lost and the graceful timeout waited out"


def test_two_instances_behind_nginx_restarted_one_at_a_time_fail_no_request(
    stub: StubProcess, tmp_path: Path
) -> None:
    """A rolling restart under load, with nginx retrying only what never reached a backend.

    nginx keeps sending each instance its share until it is gone (no readiness
    check takes it out first, the harder case). Three clients in four send
    resets, the others ask /healthz.
    """
    env = rollout.site_env(tmp_path, stub.url)
    instances = [launch(name, tmp_path, env) for name in ("a", "b")]
    nginx = Nginx(tmp_path / "nginx", [i.address for i in instances], retry_unsent=True)
    figures = []
    try:
        for instance in instances:
            wait_healthy(instance)
        nginx.start()
        cookie, token = rollout.form_token(nginx.port)
        load = rollout.Load(nginx.port, cookie, token, BEHIND_NGINX, quick_share=4).start()
        for n, old in enumerate(list(instances)):
            load.wait_for_in_flight(BEHIND_NGINX * 3 // 4)
            time.sleep(0.5)
            at_sigterm = load.in_flight
            took = rollout.stop_and_time(old)
            instances[n] = launch(f"{old.name}2", tmp_path, env, port=old.port)
            wait_healthy(instances[n])
            figures.append((old, at_sigterm, took))
        time.sleep(1.0)  # both new instances serve
        load.stop()
    finally:
        nginx.stop()
        for instance in instances:
            instance.stop()

    for old, at_sigterm, took in figures:
        print(f"\nrestart of {old.name}: {at_sigterm} in flight through nginx, exit {took:.2f} s")
    print(
        f"behind nginx: answered {sum(load.answered.values())} {dict(load.answered)}, "
        f"failed {load.failed}, retried by nginx {load.retried}"
    )
    assert load.failed == 0, (dict(load.answered), load.dropped[:5])
    assert set(load.answered) == {HTTPStatus.OK, HTTPStatus.FOUND}, load.answered
    assert load.refused == 0  # nginx itself never stopped
    assert load.retried > 0, "nginx never needed to retry: the restarts were not exercised"
    for old, _, _ in figures:
        assert old.process.returncode == 0
        assert rollout.error_lines(old) == []
