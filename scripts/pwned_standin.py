"""A local stand-in for the Pwned Passwords range API, for the demo and tests.

It answers ``GET <base>/range/<5 hex>`` the way the real service does: one
``SUFFIX:COUNT`` line per known hash with that prefix, and, when asked with
``Add-Padding: true``, several hundred rows with a count of 0. It knows only
the passwords it is given.

Modes, for tests: "ok" (the default), "slow" (answer after ``delay`` seconds),
"500", "garbage" (an HTML page with status 200), "empty" (200, no body),
"drip" (the answer a byte at a time, ``delay`` seconds apart).

This is development tooling, not part of the site.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Breached in the stand-in's little world, and acceptable to the demo pool's policy
# (10+ characters, upper, lower, digit, symbol) and to Django's common-password list:
# only the breach check refuses them.
DEMO_BREACHED = {
    "Correct-Horse-Battery-1": 51_203,
    "Welcome-to-the-Jungle-7": 1_384,
    "Tr0ub4dor&3-Classic": 97,
}
_PATH = re.compile(r"/range/([0-9A-Fa-f]{5})")


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class RangeStandIn:
    def __init__(self, breached: dict[str, int] | Iterable[str] = DEMO_BREACHED) -> None:
        counts = breached if isinstance(breached, dict) else dict.fromkeys(breached, 1)
        self.hashes = {sha1(password): count for password, count in counts.items()}
        self.mode = "ok"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK, 40 ms a call on loopback.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with standin._lock:
                    standin.requests.append({"path": self.path, "headers": dict(self.headers)})
                standin.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.base}/range/"  # PWNED_PASSWORDS_URL
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> RangeStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, mode: str, delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay

    def range_body(self, prefix: str, padding: bool) -> bytes:
        rows = [
            f"{digest[5:]}:{count}" for digest, count in self.hashes.items() if digest[:5] == prefix
        ]
        if padding:
            rng = random.Random(prefix)
            rows += [f"{rng.getrandbits(140):035X}:0" for _ in range(rng.randint(800, 1000))]
            rng.shuffle(rows)
        return "".join(f"{row}\r\n" for row in rows).encode()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        mode = self.mode
        if mode == "slow":
            time.sleep(self.delay)
        match = _PATH.fullmatch(handler.path)
        if match is None:
            self._send(handler, 404, b"Not found", "text/plain")
            return
        if mode == "500":
            self._send(handler, 500, b"Internal Server Error", "text/plain")
            return
        if mode == "garbage":
            self._send(handler, 200, b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html")
            return
        if mode == "empty":
            self._send(handler, 200, b"", "text/plain")
            return
        padding = handler.headers.get("Add-Padding", "").lower() == "true"
        body = self.range_body(match[1].upper(), padding)
        if mode == "drip":
            handler.send_response(200)
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            try:
                for byte in body:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(self.delay)
            except OSError:
                pass
            return
        self._send(handler, 200, body, "text/plain")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(body)
