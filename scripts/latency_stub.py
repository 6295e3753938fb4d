"""A Cognito stand-in that answers after a configurable latency, for benchmarks.

One asyncio process serves hundreds of concurrent keep-alive connections, so
the stand-in itself is never the bottleneck and costs little CPU. It answers
the three calls the site makes:

- ``ConfirmForgotPassword``: ``{}`` (success), or ``CodeMismatchException``
  when the code starts with ``bad`` (so a load test can exercise the error path);
- ``ForgotPassword``: a masked ``CodeDeliveryDetails``;
- ``DescribeUserPool``: a pool with ``POLICY`` as its password policy.

Each answer waits ``latency_ms`` plus a uniform random ``0..jitter_ms``. With
``--quota-rps N``, ForgotPassword and ConfirmForgotPassword share a token bucket of
N a second (burst N), as Cognito's account-wide quota: past it they get
``TooManyRequestsException``; the stats count the calls of each second. With
``--upstream URL`` the calls it lets through are answered by that emulator (moto)
instead, so a test can sign in with the passwords set through it.
Control endpoints (loopback only, like the server):

- ``GET /__stats``: JSON counts per operation, and how many calls carried a
  SecretHash and a UserContextData.IpAddress;
- ``POST /__control``: JSON ``{"latency_ms": .., "jitter_ms": ..}`` changes them.

Run: ``python scripts/latency_stub.py --port 9100 --latency-ms 200``. It prints
``listening on http://127.0.0.1:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

POLICY: dict[str, Any] = {
    "MinimumLength": 10,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
}
MAX_BODY = 1 << 20
JSON_TYPE = "application/x-amz-json-1.1"
QUOTA_CALLS = ("ForgotPassword", "ConfirmForgotPassword")


class TokenBucket:
    """Cognito's account-wide quota: ``rate`` calls a second, a burst of ``rate``.
    Counts the calls that arrive (throttled or not) in each second since the first."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.first = self.stamp = 0.0
        self.arrived: Counter[int] = Counter()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if not self.arrived:
                self.first = self.stamp = now
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            second = int(now - self.first)
            self.arrived[second] += 1
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False

    def per_second(self) -> list[int]:
        """Calls that arrived in each second since the first (throttled ones too)."""
        return [self.arrived[s] for s in range(max(self.arrived, default=-1) + 1)]


class Stub:
    def __init__(
        self, latency_ms: float, jitter_ms: float, quota_rps: float = 0, upstream: str = ""
    ) -> None:
        self.upstream = upstream
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.bucket = TokenBucket(quota_rps) if quota_rps > 0 else None
        self.counts: Counter[str] = Counter()
        self.open_connections = 0
        self.max_open_connections = 0

    def delay(self) -> float:
        extra = random.uniform(0, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        return (self.latency_ms + extra) / 1000.0

    def answer(self, target: str, body: bytes, throttled: bool = False) -> tuple[int, bytes]:
        operation = target.rsplit(".", 1)[-1]
        self.counts[operation] += 1
        if throttled:
            self.counts["throttled"] += 1
            return 400, _error("TooManyRequestsException", "Rate exceeded")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        if params.get("SecretHash"):
            self.counts["with_secret_hash"] += 1
        context = params.get("UserContextData")
        if isinstance(context, dict) and context.get("IpAddress"):
            self.counts["with_ip_address"] += 1
        if operation == "ConfirmForgotPassword":
            if str(params.get("ConfirmationCode", "")).startswith("bad"):
                self.counts["code_mismatch"] += 1
                return 400, _error("CodeMismatchException", "Invalid code provided.")
            return 200, b"{}"
        if operation == "ForgotPassword":
            details = {
                "Destination": "a***@e***",
                "DeliveryMedium": "EMAIL",
                "AttributeName": "email",
            }
            return 200, json.dumps({"CodeDeliveryDetails": details}).encode()
        if operation == "DescribeUserPool":
            pool = {
                "Id": params.get("UserPoolId", "us-east-1_bench"),
                "Policies": {"PasswordPolicy": POLICY},
            }
            return 200, json.dumps({"UserPool": pool}).encode()
        return 400, _error("InvalidParameterException", f"unsupported: {operation}")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # shutting down with the connection open
            pass
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or "0")
        if length > MAX_BODY:
            return False
        body = await reader.readexactly(length) if length else b""
        keep_alive = headers.get("connection", "").lower() != "close"

        if path == "/__stats":
            status, payload, ctype = 200, self.stats(), "application/json"
        elif path == "/__control" and method == "POST":
            change = json.loads(body or b"{}")
            self.latency_ms = float(change.get("latency_ms", self.latency_ms))
            self.jitter_ms = float(change.get("jitter_ms", self.jitter_ms))
            status, payload, ctype = 200, self.stats(), "application/json"
        else:
            target = headers.get("x-amz-target", "")
            bucket = self.bucket if target.endswith(QUOTA_CALLS) else None
            throttled = bucket is not None and not bucket.take()
            await asyncio.sleep(self.delay())
            if self.upstream and not throttled:
                forward = functools.partial(self.forward, path, headers, body)
                status, payload = await asyncio.get_running_loop().run_in_executor(None, forward)
            else:
                status, payload = self.answer(target, body, throttled)
            ctype = JSON_TYPE
        reason = "OK" if status == 200 else "Bad Request"
        writer.write(
            (
                f"HTTP/1.1 {status} {reason}\r\n"
                f"Content-Type: {ctype}\r\n"
                f"Content-Length: {len(payload)}\r\n"
                "x-amzn-RequestId: latency-stub\r\n"
                f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
            ).encode("latin-1")
            + payload
        )
        await writer.drain()
        return keep_alive

    def forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        keep = ("x-amz-target", "content-type", "authorization", "x-amz-date")
        request = urllib.request.Request(
            self.upstream + path,
            data=body,
            method="POST",
            headers={k: v for k, v in headers.items() if k in keep},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stats(self) -> bytes:
        return json.dumps(
            {
                "counts": dict(self.counts),
                "latency_ms": self.latency_ms,
                "jitter_ms": self.jitter_ms,
                "open_connections": self.open_connections,
                "max_open_connections": self.max_open_connections,
                "per_second": self.bucket.per_second() if self.bucket else [],
            }
        ).encode()


def _error(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode()


async def serve(
    port: int, latency_ms: float, jitter_ms: float, quota_rps: float = 0, upstream: str = ""
) -> None:
    stub = Stub(latency_ms, jitter_ms, quota_rps, upstream)
    server = await asyncio.start_server(stub.handle, "127.0.0.1", port, backlog=2048)
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


# --- used by the benchmark and the soak test ------------------------------------


class StubProcess:
    """The stand-in in its own process (so it never competes for our GIL)."""

    def __init__(
        self,
        latency_ms: float,
        jitter_ms: float = 0.0,
        port: int = 0,
        quota_rps: float = 0,
        upstream: str = "",
    ) -> None:
        self.args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--jitter-ms",
            str(jitter_ms),
            "--quota-rps",
            str(quota_rps),
            *(["--upstream", upstream] if upstream else []),
        ]
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> StubProcess:
        self.process = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"latency stub did not start within {timeout} s: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()
        return self

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/__stats", timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
        return data

    def count(self, operation: str) -> int:
        return int(self.stats()["counts"].get(operation, 0))

    def configure(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        body = json.dumps({"latency_ms": latency_ms, "jitter_ms": jitter_ms}).encode()
        request = urllib.request.Request(f"{self.url}/__control", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> StubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--quota-rps", type=float, default=0, help="0: no quota")
    parser.add_argument("--upstream", default="", help="answer through this emulator")
    args = parser.parse_args(argv)
    if args.quota_rps > 0:
        # It stands for a service on other machines and counts calls a second: on a busy
        # machine, count them as they arrive, not when this process next gets a core.
        with contextlib.suppress(OSError):
            os.nice(-10)
    asyncio.run(serve(args.port, args.latency_ms, args.jitter_ms, args.quota_rps, args.upstream))


if __name__ == "__main__":
    main()
