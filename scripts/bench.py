"""`make bench`: the site's servers under load, against a Cognito stand-in.

Starts each server as an operator would (configuration from the environment
only) in front of ``scripts/latency_stub.py`` (a Cognito stand-in that answers
after a fixed latency, or hangs when told to), drives it with wrk and plain
sockets, and measures:

1. the server choice, side by side: gunicorn's gevent worker (production,
   gunicorn.conf.py as is), the old gthread worker (32 threads), granian (WSGI)
   and uvicorn (Django's ASGI handler), each through a Cognito brownout, 100
   clients dribbling a POST body, and successful POSTs at 256 connections;
2. every path beside its floor, on gevent and on gthread: CPU per request of a
   successful reset, a wrong code, a rate-limited POST and GET /reset/, beside
   the bare boto3 call, a trivial view and gunicorn alone; GET /reset/
   throughput beside the trivial view;
3. POST (success and wrong code) with 200 ms Cognito latency at 32, 64, 256 and
   1,000 connections, against the ideal or the CPU ceiling;
4. worker memory with 1,000 idle keep-alive connections open;
5. cold start: launch to the first 200 on /healthz and on /reset/.

Every POST carries its own username and X-Forwarded-For address (the server
trusts 127.0.0.1 as a proxy), so the site's rate limits trip only where meant.
The results, the machine and the command go to docs/benchmarks.md.

    .venv/bin/python scripts/bench.py [--duration 10] [--no-write] [--strict]
    .venv/bin/python scripts/bench.py --duration 2 --servers gevent,gthread --no-write
    .venv/bin/python scripts/bench.py --app bench_app.hello:application --no-write

It exits 0 even when a target is missed (the numbers on a shared machine are
noisy); ``--strict`` makes a missed target exit 1.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import operator
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote

from emulator import free_port
from latency_stub import StubProcess

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "benchmarks.md"
COMMAND = "make bench  # = .venv/bin/python scripts/bench.py"
PRODUCT_APP = "resetsite.wsgi:application"

CLIENT_ID = "benchclient0123456789"
CLIENT_SECRET = "bench-client-secret-0123456789"  # a stand-in's, not a real secret
PASSWORD = "Fresh-Horse-Battery-42"
LATENCY_MS = 200.0
HANG_MS = 120_000.0  # the stand-in "hangs": longer than any timeout of ours
THROUGHPUT_CONNECTIONS = (32, 64, 256, 1000)
COMPARE_CONNECTIONS = 256
SUBMITTERS = 120
SLOW_CLIENTS = 100
SLOW_SECONDS = 6.0
IDLE_CONNECTIONS = 1000
PROBE_EVERY_S = 0.3
PROBE_TIMEOUT_S = 5.0

# The production environment, as an operator would set it, pointed at the stand-in.
BASE_ENV = {
    "DJANGO_SECRET_KEY": "bench-only-" + "q7Vx2mK9pL4sT8wZ" * 4,
    "COGNITO_USER_POOL_ID": "us-east-1_bench",
    "COGNITO_CLIENT_ID": CLIENT_ID,
    "COGNITO_CLIENT_SECRET": CLIENT_SECRET,
    # Read the policy from the pool (the stand-in answers DescribeUserPool) and
    # keep it cached, as production does.
    "COGNITO_READ_POLICY": "true",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    # wrk stands in for the load balancer: its X-Forwarded-For is the client IP.
    "TRUSTED_PROXIES": "127.0.0.1",
    # No call to the real Pwned Passwords API from a benchmark.
    "PWNED_PASSWORDS_URL": "",
}

TARGETS = {
    "healthz_s": 2.0,  # the bounds of tests/test_serving.py, for the production server
    "submitter_s": 15.0,
    "get_ratio": 0.6,
    "post_fraction": 0.85,
    "post_p99_slack_ms": 100.0,
    "cpu_ratio": 2.0,
    "wrong_ratio": 1.5,
    "idle_rss_mb": 150.0,
    "cold_start_s": 2.0,
}


# --- the servers ------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One way of serving the site: a command line, with {app} and {port} filled in."""

    label: str
    command: str  # its first word is a script in the venv's bin/
    app: str | None = None  # a fixed app (ASGI), whatever --app says


_GUNICORN = "gunicorn -c gunicorn.conf.py"
KINDS = {
    "gevent": Kind("gunicorn gevent (production)", f"{_GUNICORN} {{app}}"),
    "gthread": Kind(
        "gunicorn gthread, 32 threads (old)",
        f"{_GUNICORN} --worker-class gthread --threads 32 {{app}}",
    ),
    "granian": Kind(
        "granian WSGI, 32 blocking threads",
        "granian --interface wsgi --blocking-threads 32 --host 127.0.0.1 --port {port}"
        " --access-log {app}",
    ),
    "uvicorn": Kind(
        "uvicorn, Django ASGI",
        "uvicorn --host 127.0.0.1 --port {port} --lifespan off {app}",
        app="bench_app.asgi:application",
    ),
}
PATH_KINDS = ("gevent", "gthread")  # sections 2 to 5: the new server and the old

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:"))


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]
    except OSError:  # kernels without CONFIG_PROC_CHILDREN: scan /proc
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
        return found


def http_get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Server:
    """One server process of a ``Kind``, configured by its environment only."""

    def __init__(
        self,
        name: str,
        *,
        stub_url: str,
        workdir: Path,
        kind: Kind = KINDS["gevent"],
        connections: int | None = None,  # soak.py's --worker-connections: WEB_CONNECTIONS
        settings_module: str | None = None,
        app: str = PRODUCT_APP,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.app = kind.app or app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}-{self.port}.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            **BASE_ENV,
            "COGNITO_ENDPOINT_URL": stub_url,
            "BIND": f"127.0.0.1:{self.port}",
            **({"WEB_CONNECTIONS": str(connections)} if connections else {}),
            **(env or {}),
        }
        if settings_module:
            self.env["DJANGO_SETTINGS_MODULE"] = settings_module
        if settings_module or self.app != PRODUCT_APP or not kind.command.startswith("gunicorn"):
            self.env["PYTHONPATH"] = f"{ROOT}:{SCRIPTS}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.stop_s = 0.0
        self.killed = False

    def launch(self) -> None:
        program, *rest = self.kind.command.format(app=self.app, port=self.port).split()
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [str(BIN / program), *rest],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_for(self, path: str, timeout: float = 30.0) -> float:
        """Seconds from launch until ``path`` first answers 200."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                tail = "\n".join(self.log_text().splitlines()[-15:])
                raise RuntimeError(f"{self.name} exited:\n{tail}")
            try:
                status, _, _ = http_get(self.url + path, timeout=2)
                if status == 200:
                    return time.monotonic() - self.started_at
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: {path} not 200 within {timeout} s")
            time.sleep(0.005)

    def start(self) -> Server:
        self.launch()
        self.wait_for("/healthz")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pid(self) -> int:
        """The one process serving requests: the only child, or the server itself."""
        workers = children(self.pid)
        if len(workers) > 1:
            raise RuntimeError(f"{self.name}: expected one worker, found {workers}")
        return workers[0] if workers else self.pid

    def stop(self, timeout: float = 25.0) -> None:
        """SIGTERM; SIGKILL if still running after ``timeout`` (gunicorn's grace is 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.process.kill()
            self.process.wait(timeout=10)
        self.stop_s = time.monotonic() - started

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def errors_logged(self) -> list[str]:
        marks = ('"level": "error"', '"level": "critical"', "Traceback", "[ERROR]", "ERROR:")
        return [x for x in self.log_text().splitlines() if any(m in x for m in marks)]


def in_threads(n: int, target: Callable[[], None], timeout: float = 600.0) -> None:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server.start()
    finally:
        server.stop()


def first_wave(server: Server, n: int) -> list[float]:
    """``n`` browsers open /reset/ at once, right after /healthz first answered.

    Returns, for each, the seconds from launch until its page arrived.
    """
    barrier = threading.Barrier(n)
    done: list[float] = []
    failures: list[str] = []

    def one() -> None:
        barrier.wait(timeout=30)
        status, _, _ = http_get(server.url + "/reset/", timeout=30)
        if status != 200:
            failures.append(str(status))
        done.append(time.monotonic() - server.started_at)

    in_threads(n, one, timeout=60)
    if failures or len(done) != n:
        raise RuntimeError(f"first wave: {len(done)} of {n} answered, failures {failures}")
    return done


# --- requests: what each path sends and answers -----------------------------------


@dataclass(frozen=True)
class Csrf:
    cookie: str  # "name=value"
    token: str
    origin: str


NO_CSRF = Csrf("csrftoken=unused", "unused", "http://127.0.0.1")  # for the WSGI floor


def fetch_csrf(base: str, path: str = "/reset/") -> Csrf:
    status, headers, body = http_get(base + path)
    if status != 200:
        raise RuntimeError(f"GET {path}: {status}")
    jar: SimpleCookie = SimpleCookie()
    for name, value in headers.items():
        if name.lower() == "set-cookie":
            jar.load(value)
    names = [n for n in jar if n.endswith("csrftoken")]
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not names or match is None:
        raise RuntimeError("no CSRF cookie or token on the form")
    return Csrf(f"{names[0]}={jar[names[0]].value}", match.group(1).decode(), base)


@dataclass(frozen=True)
class Req:
    """One path of the site: what a request sends and the one status it must get."""

    label: str
    method: str
    path: str
    status: int
    code: str = ""  # POST: the confirmation code ("bad…": the stand-in's CodeMismatch)
    calls: int = 0  # Cognito calls per request
    one_user: bool = False  # one username from one address, hammered: rate-limited
    server: str = "site"  # site, baseline (the trivial view) or hello (no framework)


LIMITED_USER = "hammered@example.com"
LIMITED_IP = "10.254.0.1"
REQS = {
    "success": Req("successful reset (POST, 302)", "POST", "/reset/", 302, "123456", 1),
    "wrong": Req("wrong code (POST, form again, 400)", "POST", "/reset/", 400, "bad123", 1),
    "limited": Req("rate-limited (POST, our 429 page)", "POST", "/reset/", 429, "123456", 0, True),
    "get": Req("GET /reset/ (first visit)", "GET", "/reset/", 200),
    "trivial": Req("floor: trivial view (GET)", "GET", "/bench/baseline/", 200, server="baseline"),
    "hello": Req("floor: gunicorn alone (POST)", "POST", "/reset/", 302, server="hello"),
}
SERVER_VARIANTS: dict[str, dict[str, str]] = {
    "site": {},
    "baseline": {"settings_module": "bench_app.settings"},
    "hello": {"app": "bench_app.hello:application"},
}


def form_body(csrf: Csrf, username: str, code: str) -> str:
    return (
        f"csrfmiddlewaretoken={csrf.token}&username={quote(username, safe='')}"
        f"&code={code}&new_password1={PASSWORD}&new_password2={PASSWORD}"
    )


def post_headers(csrf: Csrf, address: str) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": csrf.cookie,
        "Origin": csrf.origin,
        "X-Forwarded-For": address,
    }


def send(conn: http.client.HTTPConnection, req: Req, csrf: Csrf, user: str, ip: str) -> int:
    if req.one_user:
        user, ip = LIMITED_USER, LIMITED_IP
    if req.method == "GET":
        conn.request("GET", req.path, headers={"X-Forwarded-For": ip})
    else:
        body = form_body(csrf, user, req.code)
        conn.request("POST", req.path, body=body, headers=post_headers(csrf, ip))
    response = conn.getresponse()
    response.read()
    return response.status


# --- wrk ------------------------------------------------------------------------

LUA_COMMON = r"""
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  sent = 0
  run = tonumber(args[1]) or 1
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
    .. '"statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, table.concat(parts, ", ")))
end

-- Helpers for request scripts: a fresh username and client IP per request.
function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function client_ip(n)
  return string.format("10.%d.%d.%d", run % 256, (id * 37 + math.floor(n / 256)) % 256, n % 256)
end
"""


def lua_script(req: Req, csrf: Csrf = NO_CSRF) -> str:
    """wrk's request(): ``req`` with a fresh username and X-Forwarded-For each time."""
    if req.method == "GET":
        return LUA_COMMON + (
            "function request()\n  sent = sent + 1\n"
            '  return wrk.format("GET", nil, {["X-Forwarded-For"] = client_ip(sent)})\nend\n'
        )
    user = (
        f'"{quote(LIMITED_USER, safe="")}"'
        if req.one_user
        else 'urlencode(string.format("r%d-t%d-u%d@example.com", run, id, sent))'
    )
    ip = f'"{LIMITED_IP}"' if req.one_user else "client_ip(sent)"
    headers = ", ".join(f'["{k}"] = "{v}"' for k, v in post_headers(csrf, "").items() if v)
    return LUA_COMMON + (
        f"local headers = {{{headers}}}\nfunction request()\n  sent = sent + 1\n"
        f'  headers["X-Forwarded-For"] = {ip}\n'
        f'  local body = "csrfmiddlewaretoken={csrf.token}&username=" .. {user}\n'
        f'    .. "&code={req.code}&new_password1={PASSWORD}&new_password2={PASSWORD}"\n'
        '  return wrk.format("POST", nil, headers, body)\nend\n'
    )


@dataclass
class WrkResult:
    connections: int
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    statuses: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    def count(self, predicate: Callable[[int], bool]) -> int:
        return sum(n for s, n in self.statuses.items() if predicate(int(s)))

    def other(self, status: int) -> str:
        """Answers other than ``status``, by status, e.g. "503 x12"; "0" when none."""
        rest = {s: n for s, n in sorted(self.statuses.items()) if int(s) != status}
        return ", ".join(f"{s} x{n}" for s, n in rest.items()) or "0"


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return found


def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    duration: float,
    workdir: Path,
    run_id: int,
    threads: int = 1,
    timeout_s: float = 10.0,
) -> WrkResult:
    lua = workdir / f"run{run_id}.lua"
    lua.write_text(script)
    seconds = max(1, round(duration))
    options = f"-t{threads} -c{connections} -d{seconds}s --timeout={timeout_s:g}s -s {lua}"
    command = [wrk_binary(), *options.split(), url, "--", str(run_id)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    return parse_wrk(done.returncode, done.stdout, done.stderr, connections)


def parse_wrk(returncode: int, stdout: str, stderr: str, connections: int) -> WrkResult:
    """The WRK_JSON line our Lua script prints at the end of a run."""
    line = next((x for x in stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({returncode}): {stdout}\n{stderr}")
    data = json.loads(line.split(" ", 1)[1])
    return WrkResult(
        connections=connections,
        requests=int(data["requests"]),
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors={k: int(v) for k, v in data["errors"].items()},
        statuses={str(k): int(v) for k, v in data["statuses"].items()},
    )


_warm_ids = itertools.count(201)  # addresses 10.201.x.y…: apart from the measured runs
_tags = itertools.count(120)  # addresses of fixed_requests: 10.120.x.y…


def warm(url: str, script: str, args: argparse.Namespace, workdir: Path) -> None:
    """A short unmeasured run first: connections open, caches filled, code paths loaded."""
    if args.warmup > 0:
        run_id = next(_warm_ids)
        run_wrk(url, script, connections=16, duration=args.warmup, workdir=workdir, run_id=run_id)


def settle(stub: StubProcess, timeout: float = 15.0, *, strict: bool = True) -> None:
    """Wait until no more calls reach the stand-in (requests left in flight are done)."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        count = sum(stub.stats()["counts"].values())
        if count == last:
            return
        last = count
        time.sleep(0.5)
    if strict:
        raise RuntimeError("the server kept calling the stand-in after the load stopped")


# --- a fixed number of requests (for CPU per request) ----------------------------


def fixed_requests(base: str, req: Req, csrf: Csrf, *, n: int, concurrency: int) -> Counter[int]:
    """Send exactly ``n`` of ``req`` over ``concurrency`` keep-alive connections."""
    host, port = base.removeprefix("http://").split(":")
    tag = next(_tags) % 256
    counter = itertools.count()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            while (i := next(counter)) < n:
                ip = f"10.{tag}.{(i // 256) % 256}.{i % 256}"
                status = send(conn, req, csrf, f"f{tag}-u{i}@example.com", ip)
                with lock:
                    statuses[status] += 1
        except BaseException as exc:  # report, don't hang the benchmark
            failures.append(exc)
        finally:
            conn.close()

    in_threads(concurrency, worker)
    if failures:
        raise RuntimeError(f"load client failed: {failures[0]!r}")
    return statuses


def cpu_per_request(
    server: Server, req: Req, csrf: Csrf, *, n: int, stub: StubProcess | None = None
) -> float:
    """Milliseconds of worker CPU (utime + stime) per request, over ``n`` of ``req``."""
    worker = server.worker_pid()
    calls_before = stub.count("ConfirmForgotPassword") if stub else 0
    before = cpu_seconds(worker)
    statuses = fixed_requests(server.url, req, csrf, n=n, concurrency=32)
    used = cpu_seconds(worker) - before
    calls = (stub.count("ConfirmForgotPassword") - calls_before) if stub else n * req.calls
    if statuses != {req.status: n} or calls != n * req.calls:
        raise RuntimeError(f"{server.name} {req.label}: statuses {statuses}, calls {calls}")
    return used * 1000 / n


def secret_hash(username: str) -> str:
    digest = hmac.new(
        CLIENT_SECRET.encode(), (username + CLIENT_ID).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def bare_call(endpoint: str, n: int, concurrency: int, repeats: int) -> list[float]:
    """The same ConfirmForgotPassword the site makes, from a bare boto3 script.

    Same client configuration as accounts/cognito.py (unsigned, one attempt,
    keep-alive pool), same parameters (SecretHash, UserContextData.IpAddress),
    same concurrency; CPU time read from /proc/self/stat like the server's.
    """
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    client = boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=Config(
            connect_timeout=2.0,
            read_timeout=5.0,
            max_pool_connections=concurrency,
            retries={"mode": "standard", "total_max_attempts": 1},
            tcp_keepalive=True,
            signature_version=UNSIGNED,
        ),
    )
    counter = itertools.count()

    def calls(limit: int) -> None:
        while (i := next(counter)) < limit:
            username = f"bare-u{i}@example.com"
            client.confirm_forgot_password(
                ClientId=CLIENT_ID,
                Username=username,
                SecretHash=secret_hash(username),
                ConfirmationCode="123456",
                Password=PASSWORD,
                UserContextData={"IpAddress": f"10.251.{(i // 256) % 256}.{i % 256}"},
            )

    def burst(limit: int) -> None:
        in_threads(concurrency, lambda: calls(limit))

    burst(2 * concurrency)  # warm up: connections open, code paths loaded
    runs = []
    for _ in range(repeats):
        counter = itertools.count()
        before = cpu_seconds(os.getpid())
        burst(n)
        runs.append((cpu_seconds(os.getpid()) - before) * 1000 / n)
    return runs


# --- section 1: a brownout and slow clients -----------------------------------------


@dataclass
class Probes:
    """GETs made every PROBE_EVERY_S while something else goes on: (path, seconds, status)."""

    samples: list[tuple[str, float, int]] = field(default_factory=list)

    def worst(self, path: str) -> float:
        return max((s for p, s, _ in self.samples if p == path), default=0.0)

    def failed(self, path: str) -> str:
        mine = [status for p, _, status in self.samples if p == path]
        return f"{sum(1 for s in mine if s != 200)} of {len(mine)}"

    def show(self, path: str) -> str:
        worst = self.worst(path)
        return (
            f"≥ {PROBE_TIMEOUT_S:g} s (timeout)" if worst >= PROBE_TIMEOUT_S else f"{worst:.2f} s"
        )


def probe_loop(base: str, paths: Sequence[str], stop: threading.Event, into: Probes) -> None:
    while not stop.is_set():
        for path in paths:
            started = time.monotonic()
            try:
                status = http_get(base + path, timeout=PROBE_TIMEOUT_S)[0]
            except OSError:  # a timeout, or no answer
                status = 0
            took = PROBE_TIMEOUT_S if status == 0 else time.monotonic() - started
            into.samples.append((path, took, status))
        stop.wait(PROBE_EVERY_S)


@contextmanager
def probing(base: str, *paths: str) -> Iterator[Probes]:
    probes, stop = Probes(), threading.Event()
    prober = threading.Thread(target=probe_loop, args=(base, paths, stop, probes), daemon=True)
    prober.start()
    try:
        yield probes
    finally:
        stop.set()
        prober.join(timeout=PROBE_TIMEOUT_S * len(paths) + 5)


def submit(server: Server, csrf: Csrf, n: int, timeout: float = 60.0) -> tuple[int, float]:
    """One person's reset, on a connection of its own: (status or 0, seconds waited)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        status = send(conn, REQS["success"], csrf, f"b{n}@example.com", f"10.9.0.{n}")
    except OSError:
        status = 0
    finally:
        conn.close()
    return status, time.monotonic() - started


@dataclass
class Brownout:
    probes: Probes
    answers: list[tuple[int, float]]

    def slowest(self) -> float:
        return max(took for _, took in self.answers)

    def statuses(self) -> str:
        counts = Counter("no answer" if s == 0 else str(s) for s, _ in self.answers)
        return ", ".join(f"{s} x{n}" for s, n in sorted(counts.items()))


def brownout(server: Server, stub: StubProcess, csrf: Csrf) -> Brownout:
    """SUBMITTERS people submit while Cognito hangs; /healthz is probed meanwhile."""
    stub.configure(HANG_MS)
    try:
        with probing(server.url, "/healthz") as probes, ThreadPoolExecutor(SUBMITTERS) as pool:
            answers = list(pool.map(lambda n: submit(server, csrf, n), range(SUBMITTERS)))
    finally:
        stub.configure(LATENCY_MS)
    return Brownout(probes, answers)


def slow_clients(server: Server) -> Probes:
    """SLOW_CLIENTS clients send a POST body a byte at a time; two pages are probed."""
    socks: list[socket.socket] = []
    head = (
        "POST /reset/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n"
    )
    try:
        for _ in range(SLOW_CLIENTS):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            socks[-1].sendall(head.encode() + b"username=")
        with probing(server.url, "/healthz", "/reset/") as probes:
            started = time.monotonic()
            while time.monotonic() - started < SLOW_SECONDS:
                for sock in socks:
                    with contextlib.suppress(OSError):  # answered, and maybe closed
                        sock.send(b"a")
                time.sleep(0.5)
    finally:
        for sock in socks:
            sock.close()
    return probes


# --- the measurements -------------------------------------------------------------


@dataclass
class Results:
    started: str = ""
    duration: float = 0.0
    extra_env: dict[str, str] = field(default_factory=dict)
    commit: str = ""
    machine: dict[str, str] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)
    brownouts: dict[str, Brownout] = field(default_factory=dict)
    slow: dict[str, Probes] = field(default_factory=dict)
    compare: dict[str, WrkResult] = field(default_factory=dict)
    compare_rss: dict[str, float] = field(default_factory=dict)
    cpu: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (kind, req)
    cpu_bare_runs: list[float] = field(default_factory=list)
    cpu_requests: int = 0
    gets: dict[tuple[str, str], list[WrkResult]] = field(default_factory=dict)  # (kind, req)
    throughput: dict[tuple[str, int], WrkResult] = field(default_factory=dict)  # (req, conns)
    throughput_rss: dict[tuple[str, int], float] = field(default_factory=dict)
    idle: dict[str, float] = field(default_factory=dict)
    rss_after: dict[str, float] = field(default_factory=dict)
    cold_health_s: list[float] = field(default_factory=list)
    cold_reset_s: list[float] = field(default_factory=list)
    first_wave_s: list[float] = field(default_factory=list)
    stub_counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)  # server name -> lines
    stops: dict[str, str] = field(default_factory=dict)  # server name -> how it stopped
    load_after: str = ""

    def cpu_ms(self, kind: str, req: str) -> float:
        return min(self.cpu[(kind, req)])  # the least disturbed run, as timeit does

    @property
    def cpu_bare_ms(self) -> float:
        return min(self.cpu_bare_runs)

    def get_ratio(self, kind: str) -> float:
        def mean(req: str) -> float:
            return statistics.mean(r.rps for r in self.gets[(kind, req)])

        return mean("get") / mean("trivial")

    def ceiling(self, req: str, connections: int) -> tuple[float, str]:
        """The throughput a row should reach: the ideal, or one process's CPU ceiling."""
        ideal = connections / (LATENCY_MS / 1000)
        cpu = 1000 / self.cpu_ms("gevent", req)
        return (ideal, "ideal") if ideal <= cpu else (cpu, "CPU")


def machine() -> dict[str, str]:
    import boto3
    import django
    import gevent
    import gunicorn

    cpuinfo, meminfo = (Path(f"/proc/{f}").read_text().splitlines() for f in ("cpuinfo", "meminfo"))
    info = {k.strip(): v.strip() for k, _, v in (x.partition(":") for x in cpuinfo)}
    mem_kb = next(int(x.split()[1]) for x in meminfo if x.startswith("MemTotal:"))
    versions = {"gevent": gevent.__version__}
    for name in ("granian", "uvicorn"):
        with contextlib.suppress(ImportError):
            versions[name] = __import__(name).__version__
    wrk = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": info.get("model name", "unknown"),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "boto3": boto3.__version__,
        "servers": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "wrk": wrk.stdout.split("\n", 1)[0].split(" Copyright")[0].strip(),
        "load_before": Path("/proc/loadavg").read_text().split(" ", 3)[0],
    }


def measure(args: argparse.Namespace, workdir: Path) -> Results:
    extra = dict(item.split("=", 1) for item in args.env)
    git = ["git", "log", "-1", "--format=%h"]
    r = Results(
        started=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        duration=args.duration,
        extra_env=extra,
        commit=subprocess.run(git, capture_output=True, text=True, cwd=ROOT).stdout.strip(),
        machine=machine(),
        kinds=args.servers,
    )
    run_ids, servers = itertools.count(1), []

    def server(name: str, kind: str, stub: StubProcess, **kwargs: Any) -> Server:
        env = {**extra, **kwargs.pop("env", {})}
        kwargs.setdefault("app", args.app)
        servers.append(
            Server(name, stub_url=stub.url, workdir=workdir, kind=KINDS[kind], env=env, **kwargs)
        )
        return servers[-1]

    def wrk(
        target: Server, req: Req, csrf: Csrf, connections: int, warmup: bool = True
    ) -> WrkResult:
        url, script = target.url + req.path, lua_script(req, csrf)
        if warmup:
            warm(url, script, args, workdir)
            settle(stub)
        result = run_wrk(url, script, connections=connections, duration=args.duration,
                         workdir=workdir, run_id=next(run_ids))  # fmt: skip
        settle(stub, 30, strict=False)  # what is still in flight ends before the server stops
        return result

    with StubProcess(LATENCY_MS) as stub, StubProcess(LATENCY_MS) as hung:
        # (1) The server choice: a brownout, slow clients, POSTs at 256 connections.
        for kind in args.servers:
            with running(server(f"{kind}-brownout", kind, hung)) as one:
                csrf = fetch_csrf(one.url)
                fixed_requests(one.url, REQS["success"], csrf, n=20, concurrency=4)
                r.brownouts[kind] = brownout(one, hung, csrf)
            bulk = {"COGNITO_MAX_IN_FLIGHT": str(COMPARE_CONNECTIONS)}
            with running(server(f"{kind}-slow", kind, stub, env=bulk)) as one:
                fetch_csrf(one.url)  # the page rendered once before the probes
                r.slow[kind] = slow_clients(one)
                r.compare[kind] = wrk(
                    one, REQS["success"], fetch_csrf(one.url), COMPARE_CONNECTIONS
                )
                r.compare_rss[kind] = rss_mb(one.worker_pid())
            print(kind, *(f"{label}: {fn(kind)};" for label, fn in compare_rows(r)), flush=True)

        # (2) Every path beside its floor, CPU per request; GET /reset/ beside the trivial view.
        for kind in PATH_KINDS:
            made = {v: server(f"{kind}-{v}", kind, stub, **kw) for v, kw in SERVER_VARIANTS.items()}
            with running(made["site"]), running(made["baseline"]), running(made["hello"]):
                for i, name in itertools.product(range(args.rounds), ("get", "trivial")):
                    result = wrk(
                        made[REQS[name].server], REQS[name], NO_CSRF, args.get_connections, i == 0
                    )
                    if result.count(lambda s: s != 200) or result.socket_errors:
                        raise RuntimeError(f"{kind} {name}: {result.statuses} {result.errors}")
                    r.gets.setdefault((kind, name), []).append(result)
                csrf = fetch_csrf(made["site"].url)
                for name, req in REQS.items():
                    target, use = made[req.server], csrf if req.server == "site" else NO_CSRF
                    fixed_requests(target.url, req, use, n=100, concurrency=32)  # warm
                    r.cpu[(kind, name)] = []
                    for _ in range(args.cpu_repeats):
                        settle(stub)
                        r.cpu[(kind, name)].append(
                            cpu_per_request(target, req, use, n=args.cpu_requests, stub=stub)
                        )
                r.rss_after[kind] = rss_mb(made["site"].worker_pid())
            print(kind, "CPU ms", {n: round(r.cpu_ms(kind, n), 2) for n in REQS}, flush=True)
        r.cpu_requests = args.cpu_requests
        sizes = ["--cpu-requests", str(args.cpu_requests), "--cpu-repeats", str(args.cpu_repeats)]
        bare = [sys.executable, __file__, "--bare-call", stub.url, *sizes]
        out = subprocess.run(
            bare, capture_output=True, text=True, timeout=600, check=True, cwd=ROOT
        )
        r.cpu_bare_runs = json.loads(out.stdout.strip().splitlines()[-1])

        # (3) POST at 32…1000 connections, COGNITO_MAX_IN_FLIGHT = connections.
        for name, c in itertools.product(("success", "wrong"), THROUGHPUT_CONNECTIONS):
            bulk = {"COGNITO_MAX_IN_FLIGHT": str(c)}
            with running(server(f"post-{name}-{c}", "gevent", stub, env=bulk)) as one:
                r.throughput[(name, c)] = wrk(one, REQS[name], fetch_csrf(one.url), c)
                r.throughput_rss[(name, c)] = rss_mb(one.worker_pid())
            x = r.throughput[(name, c)]
            print(f"POST {name} x{c}: {x.rps:.0f} req/s, p99 {x.p99_ms:.0f} ms", flush=True)

        # (4) Memory with IDLE_CONNECTIONS idle keep-alive connections, each after a GET.
        idle = {"WEB_KEEPALIVE": "60"}  # idle connections must outlive the measurement
        with running(server("idle", "gevent", stub, env=idle)) as one:
            r.idle = idle_memory(one)
        print("idle connections:", r.idle, flush=True)

        # (5) Cold start: launch to the first 200s, and a first wave of browsers.
        for i in range(args.cold_starts):
            cold = server(f"cold{i}", "gevent", stub)
            try:
                cold.launch()
                r.cold_health_s.append(cold.wait_for("/healthz"))
                wave = first_wave(cold, args.get_connections)
                r.cold_reset_s.append(min(wave))
                r.first_wave_s.append(max(wave))
            finally:
                cold.stop()
        r.stub_counts = stub.stats()["counts"]

    r.load_after = Path("/proc/loadavg").read_text().split(" ", 1)[0]
    for one in servers:
        if lines := one.errors_logged():
            r.errors[one.name] = lines
        if one.killed or one.stop_s > 5:
            r.stops[one.name] = f"{'killed after ' if one.killed else ''}{one.stop_s:.1f} s"
    return r


def idle_memory(server: Server) -> dict[str, float]:
    """Worker RSS before and after IDLE_CONNECTIONS connections each make a GET and stay."""
    fixed_requests(server.url, REQS["get"], NO_CSRF, n=200, concurrency=16)  # warm
    worker, conns = server.worker_pid(), []
    found = {"before": rss_mb(worker)}

    def open_idle(i: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conns.append(conn)
        return send(conn, REQS["get"], NO_CSRF, "", f"10.253.{i // 256}.{i % 256}")

    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = Counter(pool.map(open_idle, range(IDLE_CONNECTIONS)))
        time.sleep(1.0)
        found |= {
            "after": rss_mb(worker),
            "sockets": open_sockets(worker),
            "master": rss_mb(server.pid),
        }
    finally:
        for conn in conns:
            conn.close()
    if statuses != {200: IDLE_CONNECTIONS}:
        raise RuntimeError(f"idle connections: {statuses}")
    return found


# --- the report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    metric: str
    measured: str
    target: str
    met: bool


OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
}


def check(key: str, metric: str, value: float, op: str, target: float, unit: str = "") -> Row:
    shown = f"{value:.0f}{unit}" if unit in (" ms", " MB") else f"{value:.2f}{unit}"
    return Row(key, metric, shown, f"{op} {target:g}{unit}", OPS[op](value, target))


def verdicts(r: Results) -> list[Row]:
    t, rows = TARGETS, []
    if "gevent" in r.brownouts:
        b, s = r.brownouts["gevent"], r.slow["gevent"]
        slow = max(s.worst("/healthz"), s.worst("/reset/"))
        rows += [
            check("healthz", "1. brownout: worst /healthz (gevent)", b.probes.worst("/healthz"),
                  "<", t["healthz_s"], " s"),
            check("submitter", "1. brownout: slowest submitter waited (gevent)", b.slowest(),
                  "<", t["submitter_s"], " s"),
            check("slow", "1. slow clients: worst /healthz or GET /reset/ (gevent)", slow,
                  "<", t["healthz_s"], " s"),
        ]  # fmt: skip
    success = r.cpu_ms("gevent", "success")
    rows += [
        check("get_ratio", "2. GET /reset/ req/s / the trivial view's (gevent)",
              r.get_ratio("gevent"), ">=", t["get_ratio"]),
        check("cpu_ratio", "2. CPU per confirm / the bare boto3 call (gevent)",
              success / r.cpu_bare_ms, "<=", t["cpu_ratio"], "x"),
        check("wrong_ratio", "2. CPU of a wrong-code POST / a successful one (gevent)",
              r.cpu_ms("gevent", "wrong") / success, "<=", t["wrong_ratio"], "x"),
    ]  # fmt: skip
    for (name, c), res in r.throughput.items():
        ceiling, which = r.ceiling(name, c)
        rows += [
            check("post", f"3. POST {name} x{c}: req/s / the {which} ceiling",
                  res.rps / ceiling, ">=", t["post_fraction"]),
            check("post", f"3. POST {name} x{c}: p99", res.p99_ms,
                  "<=", LATENCY_MS + t["post_p99_slack_ms"], " ms"),
        ]  # fmt: skip
    rows += [
        check("idle_rss", f"4. worker RSS with {IDLE_CONNECTIONS} idle connections",
              r.idle["after"], "<=", t["idle_rss_mb"], " MB"),
        check("cold_start", "5. cold start to the first /reset/ 200 (worst)",
              max(r.cold_reset_s), "<", t["cold_start_s"], " s"),
    ]  # fmt: skip
    return rows


def error_summary(r: Results) -> str:
    """The servers' error lines, counted by what they say, e.g. "Service Unavailable x480"."""
    counts: Counter[str] = Counter()
    for lines in r.errors.values():
        for line in lines:
            with contextlib.suppress(ValueError):
                line = json.loads(line).get("event", line)
            counts[str(line)[:80]] += 1
    return "; ".join(f"`{event}` x{n}" for event, n in counts.most_common(5)) or "none"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(map(str, row)) + " |" for row in rows)])


def compare_rows(r: Results) -> list[tuple[str, Callable[[str], str]]]:
    """Section 1's table: one row per figure, one column per server."""
    b, s, c, n = r.brownouts, r.slow, r.compare, COMPARE_CONNECTIONS
    return [
        ("brownout: worst /healthz", lambda k: b[k].probes.show("/healthz")),
        ("brownout: /healthz probes failed", lambda k: b[k].probes.failed("/healthz")),
        ("brownout: slowest submitter waited", lambda k: f"{b[k].slowest():.1f} s"),
        ("brownout: submitters' answers", lambda k: b[k].statuses()),
        ("slow clients: worst /healthz", lambda k: s[k].show("/healthz")),
        ("slow clients: worst GET /reset/", lambda k: s[k].show("/reset/")),
        ("slow clients: /healthz probes failed", lambda k: s[k].failed("/healthz")),
        ("slow clients: GET /reset/ probes failed", lambda k: s[k].failed("/reset/")),
        (f"POST x{n}: req/s (ideal {n / (LATENCY_MS / 1000):.0f})", lambda k: f"{c[k].rps:.0f}"),
        (f"POST x{n}: p50 / p99", lambda k: f"{c[k].p50_ms:.0f} / {c[k].p99_ms:.0f} ms"),
        (f"POST x{n}: answers not 302", lambda k: c[k].other(302)),
        (f"POST x{n}: socket errors (timeouts)", lambda k: f"{c[k].socket_errors} "
                                                 f"({c[k].errors['timeout']})"),
        ("worker RSS after", lambda k: f"{r.compare_rss[k]:.0f} MB"),
    ]  # fmt: skip


def render(r: Results) -> str:
    m, rows = r.machine, verdicts(r)
    kinds = [k for k in r.kinds if k in r.brownouts]
    extra = "".join(f" --env {k}={v}" for k, v in r.extra_env.items())
    causes: dict[str, list[Row]] = {}
    for x in rows:
        if not x.met:
            causes.setdefault(x.key, []).append(x)
    missed = [
        "- " + ("; ".join(f"{x.metric}: {x.measured} ({x.target})" for x in xs) if len(xs) < 4
                else f"{len(xs)} rows of section {xs[0].metric.split('.')[0]}: "
                + ", ".join(x.measured for x in xs)) + f".\n  {CAUSES.get(key, '')}"
        for key, xs in causes.items()
    ]  # fmt: skip
    cpu = {(k, n): f"{r.cpu_ms(k, n):.2f}" for k, n in r.cpu}
    success, wrong = r.cpu_ms("gevent", "success"), r.cpu_ms("gevent", "wrong")
    i, gets = r.idle, next(iter(r.gets.values()))[0].connections
    values = {
        "command": COMMAND + extra,
        "run": f"{r.started}, commit {r.commit}, {r.duration:g} s per measured wrk run"
        + (f", extra environment `{extra.strip()}`" if extra else ""),
        "machine": _table(["", ""], [
            ("CPUs (`nproc`)", f"{m['nproc']} ({m['cpu']})"), ("memory", m["memory"]),
            ("kernel", m["kernel"]), ("Python / Django / gunicorn / boto3",
             f"{m['python']} / {m['django']} / {m['gunicorn']} / {m['boto3']}"),
            ("other servers", m["servers"]), ("load generator", f"{m['wrk']}, one thread"),
            ("1-min load average before / after the run", f"{m['load_before']} / {r.load_after}"),
        ]),
        "results": _table(["metric", "measured", "target", "met"],
                          [(x.metric, x.measured, x.target, _met(x.met)) for x in rows]),
        "missed": ("Missed targets, the gap and its cause:\n\n" + "\n".join(missed))
        if missed else "Every target met.",
        "commands": "\n".join(
            f"- **{k}**: `{KINDS[k].command.format(app=KINDS[k].app or PRODUCT_APP, port='PORT')}`"
            for k in kinds),
        "compare": _table(["", *(KINDS[k].label for k in kinds)],
                          [(label, *(fn(k) for k in kinds)) for label, fn in compare_rows(r)]),
        "paths": _table(["path", *(f"{k}: CPU ms" for k in PATH_KINDS), "gevent: runs"], [
            *((req.label, *(cpu[(k, n)] for k in PATH_KINDS),
               ", ".join(f"{v:.2f}" for v in r.cpu[("gevent", n)])) for n, req in REQS.items()),
            ("floor: the bare boto3 call", f"{r.cpu_bare_ms:.2f}", "",
             ", ".join(f"{v:.2f}" for v in r.cpu_bare_runs)),
        ]),
        "gets": _table(["server", "page", "req/s", "p50", "p99"], [
            (k, REQS[n].label, f"{x.rps:.0f}", f"{x.p50_ms:.1f} ms", f"{x.p99_ms:.1f} ms")
            for (k, n), runs in r.gets.items() for x in runs]),
        "get_ratios": ", ".join(f"{k} **{r.get_ratio(k):.2f}**" for k in PATH_KINDS),
        "throughput": _table(
            ["path", "conns", "req/s", "ideal", "CPU ceiling", "fraction", "p50", "p99", "max",
             "other answers", "socket errors", "worker RSS"],
            [(n, c, f"{x.rps:.0f}", f"{c / (LATENCY_MS / 1000):.0f}",
              f"{1000 / r.cpu_ms('gevent', n):.0f}",
              f"{x.rps / r.ceiling(n, c)[0]:.2f} of {r.ceiling(n, c)[1]}", f"{x.p50_ms:.0f} ms",
              f"{x.p99_ms:.0f} ms", f"{x.max_ms:.0f} ms", x.other(REQS[n].status),
              x.socket_errors, f"{r.throughput_rss[(n, c)]:.0f} MB")
             for (n, c), x in r.throughput.items()]),
        "memory": _table(["", "RSS"], [
            ("gevent worker, warm, before", f"{i['before']:.1f} MB"),
            (f"gevent worker, {i['sockets']:.0f} sockets open", f"{i['after']:.1f} MB "
             f"({(i['after'] - i['before']) * 1024 / IDLE_CONNECTIONS:.0f} KB per connection)"),
            ("gevent master", f"{i['master']:.1f} MB"),
            *((f"{k} worker after section 2", f"{v:.1f} MB") for k, v in r.rss_after.items()),
        ]),
        "cold": _table(["", "median", "worst"], [
            (name, f"{statistics.median(v):.2f} s", f"{max(v):.2f} s") for name, v in (
                ("/healthz", r.cold_health_s), ("first /reset/", r.cold_reset_s),
                ("last of the first wave of /reset/", r.first_wave_s))]),
        "errors": error_summary(r),
        "stops": ", ".join(f"{k} ({v})" for k, v in r.stops.items()) or "none",
        "stub_counts": json.dumps(r.stub_counts, sort_keys=True),
        "cpu_runs": len(r.cpu[("gevent", "success")]), "cpu_requests": r.cpu_requests,
        "confirm_x": f"{success / r.cpu_bare_ms:.2f}", "wrong_x": f"{wrong / success:.2f}",
        "overhead_x": f"{(success - r.cpu_bare_ms) / r.cpu_bare_ms:.2f}",
        "max_resets": f"{1000 / success:.0f}", "max_wrong": f"{1000 / wrong:.0f}",
        "get_conns": gets, "cold_starts": len(r.cold_health_s),
        "latency": f"{LATENCY_MS:.0f}", "hang": f"{HANG_MS / 1000:.0f}", "n": COMPARE_CONNECTIONS,
        "submitters": SUBMITTERS, "slow_clients": SLOW_CLIENTS, "slow_s": f"{SLOW_SECONDS:g}",
        "every": f"{PROBE_EVERY_S:g}", "timeout": f"{PROBE_TIMEOUT_S:g}", "idle": IDLE_CONNECTIONS,
        "duration": f"{r.duration:g}",
    }  # fmt: skip
    return PAGE.format(**values, choice=choice(r), sizing=SIZING)


PAGE = """\
# Benchmarks

Measured by `scripts/bench.py`, which writes this page. Re-run with:

```sh
{command}
```

Last run: {run}.

## Machine

{machine}

wrk, the server and the Cognito stand-in share these cores (and, on a shared
machine, so do other jobs), so absolute numbers are a floor; the targets are
set on ratios against a baseline measured in the same run, or against a ceiling.

## Results

{results}

{missed}

## 1. The server, side by side

Each server runs the same site, settings and environment, in one process:

{commands}

- **Brownout**: a fresh server; once it is warm the stand-in hangs ({hang} s) and
  {submitters} people submit a reset at once, each on a connection of their own;
  `/healthz` is probed every {every} s (timeout {timeout} s) until the last of them
  has an answer. Production defaults: `COGNITO_MAX_IN_FLIGHT=100`,
  `COGNITO_READ_TIMEOUT=5`, the breaker opens after 5 faults in a row.
- **Slow clients**: {slow_clients} clients send a POST's headers (`Content-Length: 4000`),
  then one byte of body each per 0.5 s for {slow_s} s, while `/healthz` and
  `GET /reset/` are probed as above.
- **POST x{n}**: successful resets with {latency} ms Cognito latency, wrk for
  {duration} s at {n} connections, with `COGNITO_MAX_IN_FLIGHT={n}`.

{compare}

{choice}

## 2. Every path beside its floor

CPU: worker utime + stime (`/proc/<pid>/stat`) over {cpu_runs} runs of {cpu_requests}
requests on 32 keep-alive connections; the least disturbed run counts. Every answer
must be the path's status, and each successful or wrong-code (`bad123`:
`CodeMismatchException`) POST one Cognito call. The rate-limited POST repeats one
username from one address. The floors: a four-line template behind the same
middleware (`scripts/bench_app`), a WSGI app that does nothing, and the same
`confirm_forgot_password` from a bare boto3 script with 32 threads.

{paths}

A confirm costs {confirm_x}x the bare call (our own overhead, site - bare call, is
{overhead_x}x); a wrong code costs {wrong_x}x a success. So one process completes at
most ~{max_resets} resets or ~{max_wrong} wrong codes per second on one of these cores.

Throughput of GET /reset/ beside the trivial view on the same server: wrk,
{get_conns} connections, rounds interleaved, warmed up first. Every request is a
first visit (no cookies), so the page makes a new CSRF token each time.

{gets}

Ratio of the means: {get_ratios}.

## 3. POST with {latency} ms Cognito latency (gevent)

A fresh production server per row, warmed up, with `COGNITO_MAX_IN_FLIGHT` =
connections (at the default 100, rows above it would get the bulkhead's fast 503s).
Ideal = connections / latency; CPU ceiling = 1000 / the path's CPU ms (section 2),
one process on one core; a row's target is the lower. wrk's timeout is 10 s.

{throughput}

## 4. Memory

The production server, warmed up with 200 GETs; then {idle} connections, each
making one `GET /reset/` and then staying open and idle (`WEB_KEEPALIVE=60` for
this run only, so that none is closed before the reading). RSS from
`/proc/<pid>/status` one second after the last answer.

{memory}

## 5. Cold start

From `Popen` of gunicorn (gevent) to the first 200; this includes importing Django
and boto3 and the start-up read of the password policy (one `DescribeUserPool` at
{latency} ms). Right after /healthz first answers, {get_conns} browsers open /reset/
at once. {cold_starts} launches:

{cold}

{sizing}

## Method

- Every server is configured only by environment variables: `COGNITO_ENDPOINT_URL`
  at the stand-in (`scripts/latency_stub.py`, {latency} ms, one asyncio process; the
  brownouts use a second one), `COGNITO_READ_POLICY=true`, an app client secret,
  `TRUSTED_PROXIES=127.0.0.1` (wrk plays the load balancer), `PWNED_PASSWORDS_URL`
  empty (no breached-password lookup: another service's latency), access log on.
- Errors logged by the servers: {errors}. (Django logs every 503 it answers, such
  as the bulkhead's "busy" and the open breaker's, as an error of `django.request`.)
  Servers that took over 5 s to stop: {stops}.
- Calls the stand-in answered: {stub_counts}.
"""

CAUSES = {
    "get_ratio": "Cause (py-spy, GET /reset/ under wrk): rendering the full page (base.html,"
    " blocks, `{% trans %}`, `{% url %}`, `{% static %}`, the form's widget templates) is about"
    " a third of the worker's samples, and every first visit makes a new CSRF token; the"
    " trivial view renders four lines behind the same middleware.",
    "cpu_ratio": "Cause (py-spy, successful POSTs): no single hot spot. On top of the same"
    " botocore work, each confirm pays gunicorn's parsing and writing (the 'gunicorn alone'"
    " row), Django's middleware (sessions, CSRF, WhiteNoise, metrics, headers), the form, the"
    " rate-limit counters and two JSON log records; socket sends alone are ~12% of samples.",
    "wrong_ratio": "Cause (py-spy, wrong-code POSTs): the form page is rendered again (~19%"
    " of samples, like a GET /reset/), and botocore parses the error answer and raises a"
    " ClientError through its event hooks, work a success does not do.",
    "post": "Cause (strace and py-spy of the worker): (1) requests move in lockstep. Just"
    " before sending to Cognito each greenlet yields to gevent's hub (urllib3's"
    " dropped-connection check calls `select.poll(0)`, which gevent patches), so it sends"
    " only after every other ready greenlet has run; the CPU work stops overlapping the"
    " wait and the worker idles part of the time even below its ceiling (throughput ~ N /"
    " (N x CPU ms + latency)); with that check on the unpatched `select`, an experiment"
    " gained ~20% at 32 connections. (2) Past the ceiling requests queue for the one core,"
    " which on this shared machine the worker doesn't get in full, and a greenlet runs"
    " until it blocks, so some connections wait far longer than others: p99s of seconds.",
}


def choice(r: Results) -> str:
    kinds = [k for k in r.kinds if k in r.brownouts]
    up = [
        k
        for k in kinds
        if max(r.brownouts[k].probes.worst("/healthz"), r.slow[k].worst("/healthz"),
               r.slow[k].worst("/reset/")) < TARGETS["healthz_s"]
    ]  # fmt: skip
    rps = ", ".join(f"{k} {r.compare[k].rps:.0f}" for k in kinds)
    return f"""\
Kept `/healthz` (and, with slow clients, `GET /reset/`) under {TARGETS["healthz_s"]:g} s through
both scenarios: **{", ".join(up) or "none"}**. POSTs/s at {COMPARE_CONNECTIONS} connections: {rps}.

**The choice: gunicorn's gevent worker** (`gunicorn.conf.py`, one line to run).

- A server that counts capacity in threads (gthread; granian's blocking threads
  for WSGI) gives every request waiting on Cognito a thread; once they are all
  held, no page answers, `/healthz` included, until Cognito's read timeout frees
  them. gthread also gives a slow client's body a thread; granian reads the body
  before the app sees it. The bulkhead (100 calls) can't help: it is above the
  thread count.
- uvicorn with Django's ASGI handler survives both: Django runs the site's sync
  middleware and views in a new thread per request (asgiref's
  `ThreadSensitiveContext`), so there is no fixed pool to exhaust, but there is
  also no bound on threads, and it was the slowest under load.
- gevent: a waiting request or a slow client costs a greenlet and a little memory
  (section 4); the bulkhead bounds the Cognito calls in flight; boto3, urllib3 and
  redis-py work under its monkey-patching (`make test`); the production command,
  config file, logging and metrics stay gunicorn's. Its cost is throughput under
  load: see section 3."""


SIZING = """\
## Sizing

- Connections per process are capped by `WEB_CONNECTIONS` (default 2000); an idle
  one costs memory only (section 4), and a client gets `WEB_KEEPALIVE` seconds for
  each request's headers and `REQUEST_BODY_TIMEOUT` for its body.
- Cognito calls in flight per process are capped by `COGNITO_MAX_IN_FLIGHT`
  (default 100): above it people are told "busy" at once. At a latency L, one
  process needs about arrival rate x L in flight.
- CPU is the limit before either: one process runs on one core, so it completes
  at most the section 2 ceiling in resets per second, less when greenlets move in
  lockstep (section 3). Past that, add processes (`WEB_CONCURRENCY`) or instances,
  with a shared `CACHE_URL` (Redis).
- Cognito's own quota for the account-recovery calls is about 30 requests per
  second per account and region: one process is far above it, so instances are
  for availability, not for throughput."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    for flag, default, note in (
        ("--duration", 10.0, "seconds per measured wrk run"),
        ("--warmup", 2.0, "seconds of unmeasured wrk before each"),
        ("--rounds", 2, "GET rounds (interleaved)"),
        ("--get-connections", 16, "connections of the GET runs and the cold start's wave"),
        ("--cpu-requests", 600, "requests per CPU run"),
        ("--cpu-repeats", 3, "CPU runs (the least is kept)"),
        ("--cold-starts", 3, "launches"),
    ):
        parser.add_argument(flag, type=type(default), default=default, help=note)
    parser.add_argument(
        "--servers",
        default=",".join(KINDS),
        help=f"section 1's servers, comma-separated (default: {','.join(KINDS)})",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for every server (repeatable), e.g. MALLOC_ARENA_MAX=2",
    )
    parser.add_argument(
        "--app",
        default=PRODUCT_APP,
        help="WSGI app of the site's servers, e.g. bench_app.hello:application",
    )
    parser.add_argument("--logs", metavar="DIR", help="keep the servers' logs in DIR")
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--bare-call", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.env):
        parser.error("--env takes NAME=VALUE")
    args.servers = [s for s in args.servers.split(",") if s]
    if unknown := set(args.servers) - set(KINDS):
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")

    if args.bare_call:
        print(json.dumps(bare_call(args.bare_call, args.cpu_requests, 32, args.cpu_repeats)))
        return 0

    # wrk and the idle connections need a descriptor each; servers inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    # A SIGTERM unwinds like Ctrl-C, so every server and the stand-in are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(args.logs or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = measure(args, workdir)
    rows = verdicts(results)
    print(f"\nmeasured in {(time.monotonic() - started) / 60:.1f} min")
    for row in rows:
        print(f"{'ok    ' if row.met else 'MISSED'} {row.metric}: {row.measured} ({row.target})")
    for name, lines in results.errors.items():
        print(f"errors logged by {name}: {len(lines)}, e.g. {lines[0][:300]}")
    for name, how in results.stops.items():
        print(f"slow to stop: {name} ({how})")
    if not args.no_write and args.app != PRODUCT_APP:
        print("not writing the docs: they describe the product, not --app")
    elif not args.no_write:
        DOC.write_text(render(results))
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    else:
        (Path(tempfile.gettempdir()) / "benchmarks-preview.md").write_text(render(results))
    return 1 if any(not row.met for row in rows) and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
