"""A Cognito stand-in that answers after a set latency, for benchmarks and tests.

One asyncio process serves hundreds of keep-alive connections at little CPU. It
answers ``ConfirmForgotPassword`` (``CodeMismatchException`` when the code starts
with ``bad``), ``ForgotPassword`` and ``DescribeUserPool`` (with ``POLICY``), each
after ``latency_ms`` plus a random ``0..jitter_ms``; with ``idle_close_ms`` it
closes a connection idle that long, as load balancers do. With ``quota_rps`` N,
ForgotPassword and ConfirmForgotPassword share a token bucket of N a second (burst
N), as Cognito's account-wide quota: past it they get ``TooManyRequestsException``.
With ``upstream`` the calls it lets through are answered by that emulator (moto).
``GET /__stats``: calls per operation (and how many carried a SecretHash and an
IpAddress), connections, and the quota's calls in each second; ``POST /__control``
with ``{"latency_ms": .., "jitter_ms": ..}`` changes the latency.

    python scripts/latency_stub.py --port 9100 --latency-ms 200
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

POLICY = {"MinimumLength": 10, "RequireUppercase": True, "RequireLowercase": True,
          "RequireNumbers": True, "RequireSymbols": True}  # fmt: skip
DELIVERY = {"Destination": "a***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
QUOTA_CALLS = ("ForgotPassword", "ConfirmForgotPassword")


class TokenBucket:
    """Cognito's account-wide quota: ``rate`` calls a second, a burst of ``rate``.
    Counts the calls that arrive (throttled or not) in each second since the first."""

    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.first, self.stamp = rate, rate, 0.0, 0.0
        self.arrived: Counter[int] = Counter()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if not self.arrived:
                self.first = self.stamp = now
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.arrived[int(now - self.first)] += 1
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True

    def per_second(self) -> list[int]:
        return [self.arrived[s] for s in range(max(self.arrived, default=-1) + 1)]


class Stub:
    def __init__(
        self, latency_ms: float, jitter_ms: float, idle_close_ms: float = 0,
        quota_rps: float = 0, upstream: str = "",
    ) -> None:  # fmt: skip
        self.latency_ms, self.jitter_ms, self.upstream = latency_ms, jitter_ms, upstream
        self.bucket = TokenBucket(quota_rps) if quota_rps > 0 else None
        self.idle_close_s = idle_close_ms / 1000 or None
        self.counts: Counter[str] = Counter()
        self.connections = self.open_connections = self.max_open_connections = 0

    def answer(self, target: str, body: bytes) -> tuple[int, bytes]:
        operation = target.rsplit(".", 1)[-1]
        self.counts[operation] += 1
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = None
        params = params if isinstance(params, dict) else {}
        if params.get("SecretHash"):
            self.counts["with_secret_hash"] += 1
        if "IpAddress" in (params.get("UserContextData") or {}):
            self.counts["with_ip_address"] += 1
        if operation == "ConfirmForgotPassword":
            if not str(params.get("ConfirmationCode", "")).startswith("bad"):
                return 200, b"{}"
            self.counts["code_mismatch"] += 1
            return 400, _error("CodeMismatchException", "Invalid code provided.")
        if operation == "ForgotPassword":
            return 200, json.dumps({"CodeDeliveryDetails": DELIVERY}).encode()
        if operation == "DescribeUserPool":
            pool = {"Id": params.get("UserPoolId"), "Policies": {"PasswordPolicy": POLICY}}
            return 200, json.dumps({"UserPool": pool}).encode()
        return 400, _error("InvalidParameterException", f"unsupported: {operation}")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self.max_open_connections = max(self.max_open_connections, self.open_connections)
        try:
            while await self.one_request(reader, writer):
                pass
        except (ConnectionError, EOFError, ValueError, TimeoutError, asyncio.LimitOverrunError):
            pass  # closed, garbled, or idle too long (idle_close_ms)
        except asyncio.CancelledError:  # shutting down with the connection open
            pass
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_close_s)
        first, *lines = head.decode("latin-1").split("\r\n")
        method, path = [*first.split(" "), ""][:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        body = await reader.readexactly(min(int(headers.get("content-length") or 0), 1 << 20))
        keep_alive = headers.get("connection", "").lower() != "close"
        status, ctype = 200, "application/json"
        if path == "/__control" and method == "POST":
            change = json.loads(body or b"{}")
            self.latency_ms = float(change.get("latency_ms", self.latency_ms))
            self.jitter_ms = float(change.get("jitter_ms", self.jitter_ms))
        if path in ("/__stats", "/__control"):
            payload = self.stats()
        else:
            target = headers.get("x-amz-target", "")
            quota = self.bucket if target.endswith(QUOTA_CALLS) else None
            throttled = quota is not None and not quota.take()
            await asyncio.sleep((self.latency_ms + random.uniform(0, self.jitter_ms)) / 1000)
            if throttled:  # counted as a call of its operation, as Cognito would
                self.counts[target.rsplit(".", 1)[-1]] += 1
                self.counts["throttled"] += 1
                status, payload = 400, _error("TooManyRequestsException", "Rate exceeded")
            elif self.upstream:
                forward = functools.partial(self.forward, path, headers, body)
                status, payload = await asyncio.get_running_loop().run_in_executor(None, forward)
            else:
                status, payload = self.answer(target, body)
            ctype = "application/x-amz-json-1.1"
        head_out = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Bad Request'}\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                    f"x-amzn-RequestId: latency-stub\r\n"
                    f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")  # fmt: skip
        writer.write(head_out.encode("latin-1") + payload)
        await writer.drain()
        return keep_alive

    def forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        keep = ("x-amz-target", "content-type", "authorization", "x-amz-date")
        sent = {k: v for k, v in headers.items() if k in keep}
        request = urllib.request.Request(self.upstream + path, body, sent, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status), bytes(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stats(self) -> bytes:
        names = (
            "latency_ms",
            "jitter_ms",
            "connections",
            "open_connections",
            "max_open_connections",
        )
        per_second = self.bucket.per_second() if self.bucket else []
        fields = {n: getattr(self, n) for n in names}
        return json.dumps({"counts": self.counts, **fields, "per_second": per_second}).encode()


def _error(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode()


async def serve(port: int, stub: Stub) -> None:
    server = await asyncio.start_server(stub.handle, "127.0.0.1", port, backlog=2048)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


class StubProcess:
    """The stand-in in a process of its own (it never competes for the caller's GIL)."""

    def __init__(
        self, latency_ms: float, jitter_ms: float = 0.0, port: int = 0, idle_close_ms: float = 0,
        quota_rps: float = 0, upstream: str = "",
    ) -> None:  # fmt: skip
        self.args = [sys.executable, str(Path(__file__).resolve()), "--port", str(port)]
        self.args += ["--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms)]
        self.args += ["--idle-close-ms", str(idle_close_ms), "--quota-rps", str(quota_rps)]
        self.args += ["--upstream", upstream] if upstream else []
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> StubProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True, env=env)
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
        urllib.request.urlopen(request, timeout=5).close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--idle-close-ms", type=float, default=0.0, help="0: never")
    parser.add_argument("--quota-rps", type=float, default=0, help="0: no quota")
    parser.add_argument("--upstream", default="", help="answer through this emulator")
    a = parser.parse_args()
    if a.quota_rps > 0:  # it counts calls a second: count them as they arrive, not when
        with contextlib.suppress(OSError):  # this process next gets a core
            os.nice(-10)
    stub = Stub(a.latency_ms, a.jitter_ms, a.idle_close_ms, a.quota_rps, a.upstream)
    asyncio.run(serve(a.port, stub))
