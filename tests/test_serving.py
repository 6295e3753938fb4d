"""The production server stays up when Cognito or the clients are slow.

A real gunicorn (gunicorn.conf.py, configured from the environment only) in
front of a Cognito stand-in (scripts/latency_stub.py) that can be told to hang.
The bounds are generous: they are about behaviour (nothing waits on a hung
Cognito that doesn't need it), not speed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlencode

import pytest
from latency_stub import StubProcess

from tests.servers import Instance, launch, wait_healthy

PASSWORD = "Fresh-Horse-Battery-42"
SUBMITTERS = 120
SLOW_CLIENTS = 100
BODY_TIMEOUT = 3

BUSY = "A lot of people are resetting their password right now"
UNKNOWN = "we can&#x27;t tell whether your password changed"
NOT_ANSWERING = "isn&#x27;t answering, so we didn&#x27;t send your request"


@dataclass
class Site:
    stub: StubProcess
    server: Instance
    cookie: str
    token: str

    def get(self, path: str, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status, time.monotonic() - started
        finally:
            conn.close()

    def submit(self, n: int, timeout: float = 30) -> tuple[int, str, float]:
        """One person's reset: their own username and address, so no limit of ours trips."""
        body = urlencode(
            {
                "csrfmiddlewaretoken": self.token,
                "username": f"person{n}@example.com",
                "code": "123456",
                "new_password1": PASSWORD,
                "new_password2": PASSWORD,
            }
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": self.cookie,
            "Origin": f"http://127.0.0.1:{self.server.port}",
            "X-Forwarded-For": f"10.9.{n // 256 % 256}.{n % 256}",
        }
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=timeout)
        try:
            conn.request("POST", "/reset/", body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            return response.status, text, time.monotonic() - started
        finally:
            conn.close()


def _site(tmp_path: Path, **env: str) -> Iterator[Site]:
    stub = StubProcess(latency_ms=20).start()
    server: Instance | None = None
    # No breach service here: a port held, never listening, so the check fails (fast)
    # and resets go on.
    no_service = socket.socket()
    no_service.bind(("127.0.0.1", 0))
    try:
        server = launch(
            "site",
            tmp_path,
            {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(tmp_path),
                "DJANGO_SECRET_KEY": "serving-test-" + "k3Jx9QmZ" * 6,
                "COGNITO_USER_POOL_ID": "us-east-1_serving",
                "COGNITO_CLIENT_ID": "servingclient0123",
                "COGNITO_CLIENT_SECRET": "serving-client-secret-0123",
                "COGNITO_ENDPOINT_URL": stub.url,
                "COGNITO_READ_POLICY": "true",
                "AWS_ACCESS_KEY_ID": "serving",
                "AWS_SECRET_ACCESS_KEY": "serving",
                "AWS_EC2_METADATA_DISABLED": "true",
                "TRUSTED_PROXIES": "127.0.0.1",
                "DJANGO_SECURE_COOKIES": "false",
                "PWNED_PASSWORDS_URL": f"http://127.0.0.1:{no_service.getsockname()[1]}/range/",
                **env,
            },
        )
        wait_healthy(server)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/reset/")
        page = conn.getresponse()
        html = page.read().decode()
        cookie = next(
            c.split(";", 1)[0] for c in page.msg.get_all("Set-Cookie") or [] if "csrftoken" in c
        )
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match
        conn.close()
        yield Site(stub, server, cookie, match.group(1))
    finally:
        if server is not None:
            server.stop()
        stub.stop()
        no_service.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path)


def _breaker_events(server: Instance) -> list[tuple[str, str]]:
    events = []
    for line in server.log_text().splitlines():
        if '"circuit_breaker"' in line:
            record = json.loads(line)
            events.append((record["state_from"], record["state_to"]))
    return events


def test_a_hung_cognito_takes_down_nothing_and_the_breaker_recovers(site: Site) -> None:
    assert site.submit(0)[0] == HTTPStatus.FOUND  # the stand-in answers: a reset works
    site.stub.configure(latency_ms=120_000)  # now it hangs

    with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
        answers = [pool.submit(site.submit, n) for n in range(1, SUBMITTERS + 1)]
        time.sleep(1.0)  # every submission is in flight, or already told "busy"
        probes = []
        for _ in range(6):
            probes.append(site.get("/healthz"))
            probes.append(site.get("/forgot/"))
            probes.append(site.get("/readyz"))
            time.sleep(0.4)
        results = [a.result() for a in answers]

    assert all(status == HTTPStatus.OK for status, _ in probes), probes
    assert max(took for _, took in probes) < 2.0, probes

    statuses = {status for status, _, _ in results}
    assert statuses == {HTTPStatus.SERVICE_UNAVAILABLE}, statuses
    assert max(took for _, _, took in results) < 15.0
    kinds = {
        "busy" if BUSY in text else "unknown" if UNKNOWN in text else "other"
        for _, text, _ in results
    }
    # Over the in-flight bound (100), people are told at once; the rest after the timeout.
    assert kinds == {"busy", "unknown"}, kinds
    assert PASSWORD not in "".join(text for _, text, _ in results)

    # Repeated timeouts opened the breaker: a new submission is answered at once.
    status, text, took = site.submit(SUBMITTERS + 1)
    assert status == HTTPStatus.SERVICE_UNAVAILABLE
    assert NOT_ANSWERING in text
    assert took < 2.0

    # Cognito answers again: within 30 s the probe goes through and a reset succeeds.
    site.stub.configure(latency_ms=20)
    recovered_at = time.monotonic()
    n = SUBMITTERS + 2
    while True:
        status, text, _ = site.submit(n)
        if status == HTTPStatus.FOUND:
            break
        assert NOT_ANSWERING in text
        assert time.monotonic() - recovered_at < 30, "no reset within 30 s of recovery"
        n += 1
        time.sleep(0.5)

    assert _breaker_events(site.server) == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    log = site.server.log_text()
    assert PASSWORD not in log
    assert "123456" not in log
    assert "Traceback" not in log


@pytest.fixture
def slow_site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path, REQUEST_BODY_TIMEOUT=str(BODY_TIMEOUT))


def _dribbler(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /reset/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 4000\r\n\r\nusername="
    )
    return sock


def test_clients_dribbling_a_body_dont_stop_the_site(slow_site: Site) -> None:
    site = slow_site
    dribblers = [_dribbler(site.server.port) for _ in range(SLOW_CLIENTS)]
    probes: list[tuple[int, float]] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            probes.append(site.get("/healthz"))
            probes.append(site.get("/reset/"))
            time.sleep(0.2)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < BODY_TIMEOUT + 1.5:
            for sock in dribblers:
                with contextlib.suppress(OSError):  # answered, and maybe closed
                    sock.send(b"a")
            time.sleep(0.5)
    finally:
        stop.set()
        prober.join()

    assert len(probes) >= 10
    assert all(status == HTTPStatus.OK for status, _ in probes), probes
    assert max(took for _, took in probes) < 2.0, max(probes, key=lambda p: p[1])

    # Each slow client got a 408 once its time was up, and costs the server nothing more.
    answers = []
    for sock in dribblers:
        sock.settimeout(10)
        try:
            answers.append(sock.recv(64).split(b"\r\n", 1)[0])
        finally:
            sock.close()
    assert set(answers) == {b"HTTP/1.1 408 Request Timeout"}, set(answers)


def test_a_client_dribbling_headers_is_cut_off(site: Site) -> None:
    sock = socket.create_connection(("127.0.0.1", site.server.port), timeout=15)
    started = time.monotonic()
    try:
        sock.sendall(b"GET /reset/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = False
        while time.monotonic() - started < 12:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
            sock.settimeout(0.5)
            try:
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed, "a client sending headers slowly kept its connection"
        # WEB_KEEPALIVE (5 s) is the time a client has for a request's headers.
        assert time.monotonic() - started < 8
    finally:
        sock.close()
