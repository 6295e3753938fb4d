"""A Cognito stand-in that forwards to moto or injects a fault, and records requests.

Modes: "pass", "ok" (an empty success for any call), "500", "throttle", "slow"
(then "pass", or "slow:<mode>"),
"hang", "reset", "malformed", "malformed_error", "unknown_error", "error:<Code>"
(any Cognito error code with status 400).

``throttle_next(n)``: the next ``n`` ForgotPassword or ConfirmForgotPassword calls
get TooManyRequestsException (the account's quota), whatever the mode; then the
mode again.

``model_invited_users(pool_id)`` adds what moto does not model: in "pass" mode,
ForgotPassword for a user whose status is FORCE_CHANGE_PASSWORD (invited, never
signed in) gets Cognito's NotAuthorizedException instead of a code.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "pass"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.invited_pool: str | None = None
        self.throttling = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK, 40 ms a call on loopback.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                target = self.headers.get("X-Amz-Target", "")
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {"_unparsable": body.decode("latin-1")}
                with proxy._lock:
                    proxy.requests.append(
                        {
                            "operation": target.rsplit(".", 1)[-1],
                            "body": parsed,
                            "headers": dict(self.headers),
                            "at": time.monotonic(),
                        }
                    )
                proxy.handle(self, target, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def set(self, mode: str, delay: float = 0.0) -> None:
        self.mode = mode
        self.delay = delay
        self._release.clear()

    def throttle_next(self, calls: int) -> None:
        self.throttling = calls

    def _throttled(self, target: str) -> bool:
        if not target.endswith((".ForgotPassword", ".ConfirmForgotPassword")):
            return False
        with self._lock:
            if self.throttling > 0:
                self.throttling -= 1
                return True
        return False

    def model_invited_users(self, user_pool_id: str) -> None:
        self.invited_pool = user_pool_id

    def _is_invited(self, body: bytes) -> bool:
        import boto3

        assert self.invited_pool
        username = json.loads(body or b"{}").get("Username", "")
        idp = boto3.client(
            "cognito-idp",
            region_name=self.invited_pool.split("_", 1)[0],
            endpoint_url=self.upstream,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        try:
            user = idp.admin_get_user(UserPoolId=self.invited_pool, Username=username)
        except idp.exceptions.UserNotFoundException:
            return False
        return user["UserStatus"] == "FORCE_CHANGE_PASSWORD"

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["operation"] == operation]

    # --- behaviours -------------------------------------------------------

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "application/x-amz-json-1.1",
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("x-amzn-RequestId", "fault-proxy")
        handler.end_headers()
        handler.wfile.write(body)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        body = json.dumps({"__type": code, "message": message}).encode()
        self._reply(handler, status, body)

    def handle(self, handler: BaseHTTPRequestHandler, target: str, body: bytes) -> None:
        mode = self.mode
        if self._throttled(target):
            mode = "throttle"
        if mode.startswith("slow"):  # "slow", or "slow:<mode>" for a slow <mode>
            time.sleep(self.delay)
            mode = mode.partition(":")[2] or "pass"
        if (
            mode == "pass"
            and self.invited_pool
            and target.endswith(".ForgotPassword")
            and self._is_invited(body)
        ):
            message = "User password cannot be reset in the current state."
            self._error(handler, 400, "NotAuthorizedException", message)
            return
        if mode == "pass":
            request = urllib.request.Request(
                self.upstream + handler.path,
                data=body,
                method="POST",
                headers={
                    k: v
                    for k, v in handler.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as upstream:
                    status, data = upstream.status, upstream.read()
                    headers = dict(upstream.headers)
            except urllib.error.HTTPError as exc:
                status, data, headers = exc.code, exc.read(), dict(exc.headers)
            handler.send_response(status)
            for name, value in headers.items():
                if name.lower() not in (
                    "content-length",
                    "connection",
                    "transfer-encoding",
                    "server",
                    "date",
                ):
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        elif mode == "ok":
            self._reply(handler, 200, b"{}")
        elif mode == "500":
            self._reply(handler, 500, b"<html>Internal Server Error</html>", "text/html")
        elif mode == "throttle":
            self._error(handler, 400, "TooManyRequestsException", "Rate exceeded")
        elif mode == "hang":
            self._release.wait(60)
            handler.close_connection = True
        elif mode == "reset":
            sock = handler.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            handler.close_connection = True
        elif mode == "malformed":
            self._reply(handler, 200, b'{"CodeDeliveryDetails": {"Destination": ')
        elif mode == "malformed_error":
            self._reply(handler, 400, b"{not json at all")
        elif mode == "unknown_error":
            self._error(handler, 400, "SomethingNewException", "A new error")
        elif mode.startswith("error:"):
            self._error(handler, 400, mode.split(":", 1)[1], "injected")
        else:  # pragma: no cover - a test asked for a mode that does not exist
            raise AssertionError(mode)
