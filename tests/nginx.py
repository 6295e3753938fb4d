"""Run a real nginx in the foreground as a round-robin load balancer, all files in a temp dir.

Every path nginx would write (pid, logs, temp folders) lives in ``workdir``, so
it runs as root or not without touching /var, and it listens on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

# Each response names the backend that served it, so tests can see the balancing.
UPSTREAM_HEADER = "X-Upstream"
NO_RETRY = """\
            # One answer per request: never replay a POST on the other backend.
            proxy_next_upstream off;"""
# As docs/operations.md ("Rollout") recommends: another backend gets a request
# only when this one never received it (refused, or not connected in time). nginx
# never resends a POST that reached a backend unless told "non_idempotent".
RETRY_UNSENT = """\
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;"""


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if found is None:
        raise RuntimeError(
            "nginx is not installed: run `make system-deps` (or apt-get install nginx)"
        )
    return found


class Nginx:
    def __init__(
        self,
        workdir: Path,
        upstreams: list[str],
        listen: str = "127.0.0.1",
        retry_unsent: bool = False,
    ) -> None:
        self.binary = nginx_binary()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        # Bound and listening here, then handed to nginx (which takes sockets listed in
        # the NGINX environment variable): no other process can take the port between
        # choosing it and nginx's start, as it could a port found free and closed.
        self._socket = socket.socket()
        self._socket.bind((listen, 0))
        self._socket.listen(511)
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{listen}:{self.port}"
        self.conf = workdir / "nginx.conf"
        self.error_log = workdir / "error.log"
        self.access_log = workdir / "access.log"
        self.process: subprocess.Popen[bytes] | None = None
        servers = "\n".join(f"        server {u} max_fails=0;" for u in upstreams)
        # As root, nginx would hand its workers to "nobody", who cannot enter a
        # private temp dir: keep them as the current user.
        user = "user root;" if os.geteuid() == 0 else ""
        temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        self.conf.write_text(
            f"""{user}
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {self.error_log} warn;
events {{ worker_connections 256; }}
http {{
    access_log {self.access_log};
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    upstream site {{
{servers}
    }}
    server {{
        listen {listen}:{self.port};
        location / {{
            proxy_pass http://site;
            # $http_host keeps the port, which the browser's Origin header carries
            # too (on 443 in production it is the same as $host).
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
{RETRY_UNSENT if retry_unsent else NO_RETRY}
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""
        )

    def start(self, timeout: float = 10.0) -> Nginx:
        fd = self._socket.fileno()
        self.process = subprocess.Popen(
            [
                self.binary,
                "-p",
                str(self.workdir),
                "-e",
                str(self.error_log),
                "-c",
                str(self.conf),
                "-g",
                "daemon off;",
            ],
            env={**os.environ, "NGINX": f"{fd};"},
            pass_fds=(fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._socket.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"nginx exited ({self.process.returncode}): {stderr}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not listen within {timeout} s") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        workers = _children(self.process.pid)
        self.process.terminate()  # SIGTERM: fast shutdown, workers included
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            for pid in workers:  # orphaned by the kill: ours, so end them too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if self.process.stderr:
            self.process.stderr.close()
