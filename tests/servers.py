"""Production servers in tests: gunicorn started as an operator would, and a browser.

The server is `gunicorn -c gunicorn.conf.py resetsite.wsgi:application`
configured from the environment only. The browser is one HTTP client with its
own loopback address and cookies, sending Origin on every POST.
"""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.nginx import UPSTREAM_HEADER

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_gunicorn(
    args: list[str], env: dict[str, str], port: int = 0, **popen: Any
) -> tuple[int, subprocess.Popen[Any]]:
    """gunicorn on a loopback port bound here and handed over (BIND=fd://N).

    A port found free, closed and then bound by the server could be taken in between
    by another process (other tests, other servers on the machine), and the test would
    then wait on, or talk to, someone else's server. A socket bound and listening before
    the server starts leaves no such gap. ``port``: a given port (a restart in place).
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1024)
        fd = sock.fileno()
        process = subprocess.Popen(
            [str(GUNICORN), *args], env={**env, "BIND": f"fd://{fd}"}, pass_fds=(fd,), **popen
        )
        return sock.getsockname()[1], process


def launch(name: str, workdir: Path, env: dict[str, str], port: int = 0) -> Instance:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        port, process = start_gunicorn(
            ["-c", "gunicorn.conf.py", "resetsite.wsgi:application"],
            env,
            port,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Instance(name, port, process, log)


def wait_healthy(instance: Instance, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if instance.process.poll() is not None:
            raise RuntimeError(f"{instance.name} exited:\n{instance.log_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == HTTPStatus.OK:
                conn.close()
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{instance.name} not healthy:\n{instance.log_text()[-3000:]}")
        time.sleep(0.05)


class Browser:
    """One browser: its own loopback address, its own cookies, Origin on every POST."""

    def __init__(self, base: str, address: str, timeout: float = 15) -> None:
        parts = urlsplit(base)
        self.timeout = timeout
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.origin = base
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout, source_address=(self.address, 0)
        )
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = self.origin
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            response = Response(
                raw.status,
                {k.lower(): v for k, v in raw.getheaders()},
                raw.read().decode("utf-8", errors="replace"),
            )
            for cookie in raw.msg.get_all("Set-Cookie") or []:
                name, _, rest = cookie.partition("=")
                value = rest.split(";", 1)[0]
                if value and "max-age=0" not in cookie.lower():
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
        finally:
            conn.close()
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str], **headers: str) -> Response:
        return self.request("POST", path, form, headers)

    def csrf_token(self, page: Response) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert match, "the form has no CSRF token"
        return match.group(1)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def upstream(self) -> str:
        return self.headers[UPSTREAM_HEADER.lower()]
