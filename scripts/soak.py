"""`make soak`: the production server under mixed load for a while, against a slow Cognito.

gunicorn with the production configuration (defaults: one gevent process, 2,000
connections)
in front of the Cognito stand-in (``scripts/latency_stub.py``) answering after
100-200 ms. Two wrk processes run side by side for ``--duration`` seconds:

- the mix, ``--connections`` connections: page views (GET /reset/, GET /forgot/,
  the emailed link), successful resets, resets with a wrong code (Cognito says
  CodeMismatchException) and code requests, each with its own username and
  X-Forwarded-For address, so none of our limits applies;
- the hammer, one connection, every ``--hammer-interval`` seconds a reset for
  one and the same username, from ever new addresses: after
  RATELIMIT_CONFIRM_USER (20 per 15 minutes from all addresses together) our
  limit must answer 429.

It passes when no request failed (no 5xx, no socket error or timeout, only the
statuses each kind of request may have) and the hammer was held to the limit.
It reports p50/p99, the 429s, the Cognito calls, and the memory of each process
before, during and after.

    .venv/bin/python scripts/soak.py [--duration 60] [--write-docs]
    .venv/bin/python scripts/soak.py --duration 600 --write-docs   # the 10-minute run
"""

from __future__ import annotations

import argparse
import datetime
import math
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import (
    LUA_COMMON,
    ROOT,
    Csrf,
    Server,
    WrkResult,
    fetch_csrf,
    machine,
    parse_wrk,
    rss_mb,
    settle,
    wrk_binary,
)
from latency_stub import StubProcess

OPERATIONS = ROOT / "docs" / "operations.md"
HEADING = "## Soak test"
PASSWORD = "Fresh-Horse-Battery-42"
HAMMERED = "hammer@example.com"
USER_LIMIT = 20  # RATELIMIT_CONFIRM_USER's default, 20/15m: the ceiling across addresses
USER_PERIOD = 900

# What each kind of request may answer (anything else is a failure).
MIX_STATUSES = {200, 302, 400}
HAMMER_STATUSES = {302, 429}


def lua_mix(csrf: Csrf) -> str:
    form = f"csrfmiddlewaretoken={csrf.token}&new_password1={PASSWORD}&new_password2={PASSWORD}"
    return (
        LUA_COMMON
        + f"""
local headers = {{
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = "{csrf.cookie}",
  ["Origin"] = "{csrf.origin}",
}}
local get_headers = {{}}
local form = "{form}"
local token = "{csrf.token}"

-- One cycle of ten requests: what people do, roughly in proportion.
function request()
  sent = sent + 1
  local ip = client_ip(sent)
  local user = urlencode(string.format("s%d-t%d-u%d@example.com", run, id, sent))
  local kind = sent % 10
  if kind <= 2 then
    get_headers["X-Forwarded-For"] = ip
    return wrk.format("GET", "/reset/", get_headers)
  elseif kind == 3 then
    get_headers["X-Forwarded-For"] = ip
    return wrk.format("GET", "/forgot/", get_headers)
  elseif kind == 4 then
    -- the emailed link: moves the code into the session, redirects to /reset/
    get_headers["X-Forwarded-For"] = ip
    return wrk.format("GET", "/reset/?username=" .. user .. "&code=123456", get_headers)
  elseif kind <= 7 then
    headers["X-Forwarded-For"] = ip
    return wrk.format("POST", "/reset/", headers,
      form .. "&username=" .. user .. "&code=123456")
  elseif kind == 8 then
    headers["X-Forwarded-For"] = ip
    return wrk.format("POST", "/reset/", headers,
      form .. "&username=" .. user .. "&code=bad000")
  else
    headers["X-Forwarded-For"] = ip
    return wrk.format("POST", "/forgot/", headers,
      "csrfmiddlewaretoken=" .. token .. "&username=" .. user)
  end
end
"""
    )


def lua_hammer(csrf: Csrf, interval_ms: int) -> str:
    return (
        LUA_COMMON
        + f"""
local headers = {{
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = "{csrf.cookie}",
  ["Origin"] = "{csrf.origin}",
}}
local body = "csrfmiddlewaretoken={csrf.token}&username={HAMMERED.replace("@", "%40")}"
  .. "&code=123456&new_password1={PASSWORD}&new_password2={PASSWORD}"

function delay()
  return {interval_ms}
end

function request()
  sent = sent + 1
  headers["X-Forwarded-For"] = client_ip(sent)  -- a new address each time
  return wrk.format("POST", "/reset/", headers, body)
end
"""
    )


def start_wrk(
    url: str, script: str, *, connections: int, duration: float, workdir: Path, name: str, run: int
) -> subprocess.Popen[str]:
    lua = workdir / f"{name}.lua"
    lua.write_text(script)
    return subprocess.Popen(
        [
            wrk_binary(),
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout=5s",
            "-s",
            str(lua),
            url,
            "--",
            str(run),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_wrk(process: subprocess.Popen[str], connections: int, timeout: float) -> WrkResult:
    stdout, stderr = process.communicate(timeout=timeout)
    return parse_wrk(process.returncode, stdout, stderr, connections)


@dataclass
class Sample:
    at_s: float
    master_mb: float
    worker_mb: float
    load1: float


@dataclass
class Soak:
    started: str
    duration: float
    connections: int
    worker_connections: str
    latency: str
    machine: dict[str, str]
    mix: WrkResult | None = None
    hammer: WrkResult | None = None
    samples: list[Sample] = field(default_factory=list)
    windows: int = 1
    stub_counts: dict[str, int] = field(default_factory=dict)
    errors_logged: int = 0
    failures: list[str] = field(default_factory=list)


def sample_memory(
    master: int, worker: int, started: float, stop: threading.Event, into: list[Sample]
) -> None:
    while not stop.wait(10.0):
        try:
            load = float(Path("/proc/loadavg").read_text().split()[0])
            into.append(Sample(time.monotonic() - started, rss_mb(master), rss_mb(worker), load))
        except (OSError, RuntimeError):
            return  # the server is gone; the main thread reports it


def run(args: argparse.Namespace, workdir: Path) -> Soak:
    soak = Soak(
        started=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        duration=args.duration,
        connections=args.connections,
        worker_connections=(
            str(args.worker_connections) if args.worker_connections else "2000, the default"
        ),
        latency=f"{args.latency_min:g}–{args.latency_max:g} ms",
        machine=machine(),
    )
    jitter = args.latency_max - args.latency_min
    with StubProcess(args.latency_min, jitter) as stub:
        server = Server(
            "soak", stub_url=stub.url, workdir=workdir, connections=args.worker_connections
        )
        try:
            server.start()
            csrf = fetch_csrf(server.url)  # also renders the page once, before the load
            master, worker = server.pid, server.worker_pid()
            started = time.monotonic()
            load = float(Path("/proc/loadavg").read_text().split()[0])
            soak.samples.append(Sample(0.0, rss_mb(master), rss_mb(worker), load))
            stop = threading.Event()
            sampler = threading.Thread(
                target=sample_memory, args=(master, worker, started, stop, soak.samples)
            )
            sampler.start()
            window_start = math.floor(time.time() / USER_PERIOD)
            try:
                mix = start_wrk(
                    server.url + "/",
                    lua_mix(csrf),
                    connections=args.connections,
                    duration=args.duration,
                    workdir=workdir,
                    name="mix",
                    run=1,
                )
                hammer = start_wrk(
                    server.url + "/",
                    lua_hammer(csrf, int(args.hammer_interval * 1000)),
                    connections=1,
                    duration=args.duration,
                    workdir=workdir,
                    name="hammer",
                    run=2,
                )
                soak.mix = finish_wrk(mix, args.connections, args.duration + 120)
                soak.hammer = finish_wrk(hammer, 1, 60)
            finally:
                stop.set()
                sampler.join(timeout=30)
            soak.windows = math.floor(time.time() / USER_PERIOD) - window_start + 1
            settle(stub)
            soak.samples.append(
                Sample(
                    time.monotonic() - started,
                    rss_mb(master),
                    rss_mb(worker),
                    float(Path("/proc/loadavg").read_text().split()[0]),
                )
            )
            soak.stub_counts = stub.stats()["counts"]
        finally:
            server.stop()
        soak.errors_logged = sum(
            1
            for line in server.log_text().splitlines()
            if '"level": "error"' in line or '"level": "critical"' in line or "Traceback" in line
        )
    judge(soak)
    return soak


def judge(soak: Soak) -> None:
    mix, hammer = soak.mix, soak.hammer
    assert mix is not None
    assert hammer is not None
    for name, result, allowed in (
        ("mix", mix, MIX_STATUSES),
        ("hammer", hammer, HAMMER_STATUSES),
    ):
        if result.socket_errors:
            soak.failures.append(f"{name}: socket errors {result.errors}")
        unexpected = {s: n for s, n in result.statuses.items() if int(s) not in allowed}
        if unexpected:
            soak.failures.append(f"{name}: unexpected statuses {unexpected}")
        if result.count(lambda s: s >= 500):
            soak.failures.append(f"{name}: {result.count(lambda s: s >= 500)} server errors")
    allowed_through = hammer.count(lambda s: s == 302)
    if allowed_through > USER_LIMIT * soak.windows:
        soak.failures.append(
            f"hammer: {allowed_through} resets went through, limit {USER_LIMIT} "
            f"per window x {soak.windows} windows"
        )
    if hammer.count(lambda s: s == 429) == 0:
        soak.failures.append("hammer: never answered 429")
    if mix.count(lambda s: s == 429):
        soak.failures.append("mix: a request of the mix was rate-limited")
    if soak.errors_logged:
        soak.failures.append(f"the server logged {soak.errors_logged} errors")


def markdown(soak: Soak, command: str) -> str:
    mix, hammer = soak.mix, soak.hammer
    assert mix is not None
    assert hammer is not None
    first, last = soak.samples[0], soak.samples[-1]
    peak_worker = max(s.worker_mb for s in soak.samples)
    step = max(1, math.ceil(len(soak.samples) / 20))
    verdict = "**pass**" if not soak.failures else "**FAIL**: " + "; ".join(soak.failures)
    loads = [s.load1 for s in soak.samples]
    calls = ", ".join(f"{k} {v}" for k, v in sorted(soak.stub_counts.items()))
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(mix.statuses.items()))
    m = soak.machine
    return "\n".join(
        [
            HEADING,
            "",
            f"`{command}` runs the production server (one gevent process,",
            f"`WEB_CONNECTIONS` {soak.worker_connections}; access log on) against a Cognito",
            "stand-in",
            f"answering after {soak.latency}, under a mix of page views, resets (good and wrong",
            "codes) and code requests from ever new usernames and addresses, while one",
            "connection hammers a single username. Result of the last run:",
            "",
            "| | |",
            "|---|---|",
            f"| when, how long | {soak.started}, {soak.duration:g} s |",
            f"| machine | {m['nproc']} CPUs ({m['cpu']}), shared with the load generator; "
            f"1-min load average {min(loads):.1f}–{max(loads):.1f} |",
            f"| verdict | {verdict} |",
            f"| mix: requests, rate | {mix.requests} over {mix.connections} connections, "
            f"{mix.rps:.0f} req/s |",
            f"| mix: statuses | {statuses} (400: the wrong codes) |",
            f"| mix: latency | p50 {mix.p50_ms:.0f} ms, p99 {mix.p99_ms:.0f} ms, "
            f"max {mix.max_ms:.0f} ms |",
            f"| errors | 5xx: {mix.count(lambda s: s >= 500) + hammer.count(lambda s: s >= 500)};"
            f" socket errors and timeouts: {mix.socket_errors + hammer.socket_errors};"
            f" errors logged: {soak.errors_logged} |",
            f"| hammer: one username | {hammer.requests} resets, "
            f"{hammer.count(lambda s: s == 302)} went through (limit {USER_LIMIT} per 15-min "
            f"window, {soak.windows} window(s)), {hammer.count(lambda s: s == 429)} answered "
            f"429; p99 {hammer.p99_ms:.0f} ms |",
            f"| Cognito calls | {calls} |",
            f"| RSS master | {first.master_mb:.1f} MB before, {last.master_mb:.1f} MB after |",
            f"| RSS worker | {first.worker_mb:.1f} MB before, peak {peak_worker:.1f} MB, "
            f"{last.worker_mb:.1f} MB after |",
            "",
            f"Worker RSS over the run (MB, every {10 * step} s): "
            + " ".join(f"{s.worker_mb:.0f}" for s in soak.samples[::step])
            + ".",
            "",
            "Each code request (`POST /forgot/`) answers no sooner than `FORGOT_MIN_DURATION`",
            "(1.5 s, so that known and unknown accounts take as long), and the mix's 24",
            "connections wait for it: that floor is the mix's p99, and it lowers the rate.",
            "",
        ]
    )


def write_section(text: str) -> None:
    """Replace the soak section of docs/operations.md (or append it); nothing else."""
    doc = OPERATIONS.read_text()
    start = doc.find("\n" + HEADING + "\n")
    if start == -1:
        OPERATIONS.write_text(doc.rstrip("\n") + "\n\n" + text)
        return
    end = doc.find("\n## ", start + 1)
    after = doc[end + 1 :] if end != -1 else ""
    OPERATIONS.write_text(doc[: start + 1] + text + ("\n" + after if after else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--connections", type=int, default=24, help="of the mix")
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=None,
        help="WEB_CONNECTIONS: connections per gevent worker (default 2000)",
    )
    parser.add_argument("--latency-min", type=float, default=100.0, help="ms")
    parser.add_argument("--latency-max", type=float, default=200.0, help="ms")
    parser.add_argument("--hammer-interval", type=float, default=0.25, help="seconds")
    parser.add_argument(
        "--write-docs", action="store_true", help="record the result in docs/operations.md"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        soak = run(args, Path(tmp))
    command = "make soak" + (f" ARGS='--duration {args.duration:g}'" if args.duration != 60 else "")
    text = markdown(soak, command)
    print(text)
    if args.write_docs:
        write_section(text)
        print(f"recorded in {OPERATIONS.relative_to(ROOT)}")
    return 1 if soak.failures else 0


if __name__ == "__main__":
    sys.exit(main())
