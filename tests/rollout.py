"""Parts for the rollout tests: a production site behind a slow Cognito, and a load.

The site is gunicorn from gunicorn.conf.py, configured from the environment,
in front of scripts/latency_stub.py answering every call after ``latency_ms``.
The load is one asyncio loop in a thread: ``clients`` connections, each sending
one reset after another (its own username and forwarded address, so no limit of
ours trips), and sorting every attempt into

- ``answered``: a whole response (counted by status);
- ``refused``: the connection was never accepted (nothing was sent: a load
  balancer may retry it elsewhere);
- ``dropped``: accepted, then closed or reset before a whole response came.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from emulator import free_port

from tests.servers import Instance, launch, wait_healthy

PASSWORD = "Fresh-Horse-Battery-42"
SOCKET_ERROR = "Socket error processing request"


def site_env(tmp_path: Path, cognito_url: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SECRET_KEY": "rollout-test-" + "R7vKp2Wd" * 6,
        "COGNITO_USER_POOL_ID": "us-east-1_rollout",
        "COGNITO_CLIENT_ID": "rolloutclient0123",
        "COGNITO_CLIENT_SECRET": "rollout-client-secret-0123",
        "COGNITO_ENDPOINT_URL": cognito_url,
        "COGNITO_READ_POLICY": "false",  # no 1 s policy read at each start
        "COGNITO_MAX_IN_FLIGHT": "1000",  # every submission waits on Cognito, none is "busy"
        # A flood past the CPU ceiling would be shed ("busy", 503): tested in test_shedding;
        # here every accepted request must get its full answer.
        "SHED_LAG": "0",
        "AWS_ACCESS_KEY_ID": "rollout",
        "AWS_SECRET_ACCESS_KEY": "rollout",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TRUSTED_PROXIES": "127.0.0.1",
        "DJANGO_SECURE_COOKIES": "false",
        "PWNED_PASSWORDS_URL": "",
        "WEB_ACCESS_LOG": "",
        **extra,
    }


def start(name: str, tmp_path: Path, env: dict[str, str]) -> Instance:
    instance = launch(name, tmp_path, env)
    try:
        wait_healthy(instance)
    except BaseException:
        instance.stop()
        raise
    return instance


def form_token(port: int) -> tuple[str, str]:
    """A CSRF cookie and token, good on any instance with the same secret key."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/reset/")
    page = conn.getresponse()
    html = page.read().decode()
    conn.close()
    cookie = next(c.split(";", 1)[0] for c in page.msg.get_all("Set-Cookie") or [] if "csrf" in c)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html[:500]
    return cookie, match.group(1)


def reset_request(port: int, cookie: str, token: str, n: int) -> bytes:
    body = urlencode(
        {
            "csrfmiddlewaretoken": token,
            "username": f"person{n}@example.com",
            "code": "123456",
            "new_password1": PASSWORD,
            "new_password2": PASSWORD,
        }
    ).encode()
    head = (
        "POST /reset/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
        f"Cookie: {cookie}\r\n"
        f"X-Forwarded-For: 10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


HEALTH_CHECK = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


@dataclass
class Load:
    port: int
    cookie: str
    token: str
    clients: int
    quick_share: int = 0  # every n-th client asks /healthz instead: many short connections
    answered: Counter[int] = field(default_factory=Counter)
    refused: int = 0
    dropped: list[str] = field(default_factory=list)
    in_flight: int = 0
    retried: int = 0  # answers after a load balancer tried more than one instance
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _sent: int = 0

    def start(self) -> Load:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def stop_sending(self) -> None:
        """Each client finishes the request it is on, and sends no more."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            assert not self._thread.is_alive(), "the load did not stop"

    def wait_for_in_flight(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.in_flight < count:
            assert time.monotonic() < deadline, f"only {self.in_flight} in flight"
            time.sleep(0.02)

    @property
    def failed(self) -> int:
        return len(self.dropped) + sum(n for status, n in self.answered.items() if status >= 500)

    async def _run(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.clients)))

    async def _client(self, i: int) -> None:
        quick = self.quick_share > 0 and i % self.quick_share == 0
        while not self._stop.is_set():
            self._sent += 1
            request = (
                HEALTH_CHECK
                if quick
                else reset_request(self.port, self.cookie, self.token, self._sent)
            )
            if await self._one(request) == "refused":
                await asyncio.sleep(0.05)

    async def _one(self, request: bytes) -> str:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), timeout=10
            )
        except (ConnectionRefusedError, TimeoutError):
            self.refused += 1
            return "refused"
        self.in_flight += 1
        try:
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=60)
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            self.answered[status] += 1
            upstream = re.search(rb"(?i)\r\nx-upstream: *([^\r]*)", head)
            self.retried += bool(upstream and b"," in upstream.group(1))
            return "answered"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            self.dropped.append(type(exc).__name__)
            return "dropped"
        finally:
            self.in_flight -= 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def stop_and_time(instance: Instance, timeout: float = 60) -> float:
    """SIGTERM, as a rolling deploy sends it; the seconds until the process is gone."""
    started = time.monotonic()
    instance.process.terminate()
    instance.process.wait(timeout=timeout)
    return time.monotonic() - started


def error_lines(instance: Instance) -> list[str]:
    return [
        line
        for line in instance.log_text().splitlines()
        if '"level": "error"' in line or "Traceback" in line or SOCKET_ERROR in line
    ]


def a_free_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
