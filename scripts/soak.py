"""`make soak`: the production server under mixed load for a while, against a slow Cognito.

gunicorn as in production (one gevent process, the cache CACHE_URL names, else the
in-memory one) in front of the stand-in (scripts/latency_stub.py, 100-200 ms). For
``--duration`` seconds wrk runs a mix of page views, resets, wrong codes and code
requests (each with its own username and address), and beside it a hammer: one
username from ever new addresses, which our per-username limit must stop (429).
It passes when no request failed and the hammer was held to the limit, and reports
the worker's RSS every 10 s and its plateau over the last 10 minutes (or the last
half of a shorter run).

    .venv/bin/python scripts/soak.py [--duration 60] [--write-docs]
    CACHE_URL=redis://127.0.0.1:6379/0 .venv/bin/python scripts/soak.py --duration 1200
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bench
from latency_stub import StubProcess

OPERATIONS = bench.ROOT / "docs" / "operations.md"
START, END = "<!-- soak:start (written by scripts/soak.py) -->", "<!-- soak:end -->"
HAMMERED = "hammer%40example.com"
USER_LIMIT, USER_PERIOD = 20, 900  # RATELIMIT_CONFIRM_USER's default: 20 per 15 minutes
PLATEAU_S, FLAT_MB, REDIS_MB = 600, 5.0, 90.0  # the targets: flat within 5 MB, 90 MB at most
MIX_STATUSES, HAMMER_STATUSES = {200, 302, 400}, {302, 429}

# One cycle of ten requests: what people do, roughly in proportion.
MIX = """
local get, post = {}, {["Content-Type"] = "application/x-www-form-urlencoded",
                       ["Cookie"] = "COOKIE", ["Origin"] = "ORIGIN"}
local form = "csrfmiddlewaretoken=TOKEN&new_password1=PASSWORD&new_password2=PASSWORD"
function request()
  local kind = sent % 10
  local headers = kind <= 4 and get or post
  stamp(headers)
  headers["X-Forwarded-For"] = client_ip(sent)
  local user = urlencode(string.format("s%d-t%d-u%d@example.com", run, id, sent))
  if kind <= 2 then return wrk.format("GET", "/reset/", headers) end
  if kind == 3 then return wrk.format("GET", "/forgot/", headers) end
  if kind == 4 then  -- the emailed link: the code into the session, then /reset/
    return wrk.format("GET", "/reset/?username=" .. user .. "&code=123456", headers)
  end
  if kind <= 7 then
    return wrk.format("POST", "/reset/", headers, form .. "&username=" .. user .. "&code=123456")
  end
  if kind == 8 then
    return wrk.format("POST", "/reset/", headers, form .. "&username=" .. user .. "&code=bad000")
  end
  return wrk.format("POST", "/forgot/", headers, "csrfmiddlewaretoken=TOKEN&username=" .. user)
end
"""
HAMMER = """
local headers = {["Content-Type"] = "application/x-www-form-urlencoded",
                 ["Cookie"] = "COOKIE", ["Origin"] = "ORIGIN"}
function delay() return INTERVAL end
function request()
  stamp(headers)
  headers["X-Forwarded-For"] = client_ip(sent)  -- a new address each time
  return wrk.format("POST", "/reset/", headers, "csrfmiddlewaretoken=TOKEN&username=HAMMERED"
    .. "&code=123456&new_password1=PASSWORD&new_password2=PASSWORD")
end
"""


def count(result: dict[str, Any], test: Any) -> int:
    return sum(v["n"] for k, v in result["statuses"].items() if test(int(k)))


def sample(worker: int, started: float, stop: threading.Event, into: list[Any]) -> None:
    """Every 10 s: (seconds, worker RSS in MB, 1-min load average)."""
    while not stop.wait(10.0):
        try:
            into.append((time.monotonic() - started, bench.rss_mb(worker), os.getloadavg()[0]))
        except OSError:
            return  # the server is gone; the main thread reports it


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    soak: dict[str, Any] = {"failures": [], "samples": [], "cache": os.environ.get("CACHE_URL")}
    soak["connections"] = args.connections
    soak["started"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    env = {"CACHE_URL": soak["cache"]} if soak["cache"] else {}
    jitter = args.latency_max - args.latency_min
    with StubProcess(args.latency_min, jitter) as stub:
        server = bench.Server("site", stub, workdir, **env)
        try:
            csrf = bench.fetch_csrf(server.url)  # also renders the page once, before the load
            worker = server.worker()
            started, stop = time.monotonic(), threading.Event()
            soak["samples"].append((0.0, bench.rss_mb(worker), os.getloadavg()[0]))
            sampler = threading.Thread(target=sample, args=(worker, started, stop, soak["samples"]))
            sampler.start()
            window = math.floor(time.time() / USER_PERIOD)
            fill = {"COOKIE": csrf.cookie, "ORIGIN": csrf.origin, "TOKEN": csrf.token,
                    "PASSWORD": bench.PASSWORD, "HAMMERED": HAMMERED,
                    "INTERVAL": str(int(args.hammer_interval * 1000))}  # fmt: skip
            scripts = [MIX, HAMMER]
            for name, value in fill.items():
                scripts = [bench.LUA_COMMON + script.replace(name, value) for script in scripts]
            try:
                mix = bench.start_wrk(
                    server.url, scripts[0], args.connections, args.duration, 1, workdir
                )
                hammer = bench.start_wrk(server.url, scripts[1], 1, args.duration, 2, workdir)
                soak["mix"] = bench.finish_wrk(mix)
                soak["hammer"] = bench.finish_wrk(hammer)
            finally:
                stop.set()
                sampler.join(timeout=30)
            soak["windows"] = math.floor(time.time() / USER_PERIOD) - window + 1
            bench.settle(stub)
            soak["samples"].append(
                (time.monotonic() - started, bench.rss_mb(worker), os.getloadavg()[0])
            )
            soak["calls"] = stub.stats()["counts"]
        finally:
            server.stop()
        soak["errors_logged"] = server.errors()
    judge(soak, args.duration)
    return soak


def judge(soak: dict[str, Any], duration: float) -> None:
    mix, hammer, failures = soak["mix"], soak["hammer"], soak["failures"]
    for name, result, allowed in (("mix", mix, MIX_STATUSES), ("hammer", hammer, HAMMER_STATUSES)):
        if result["socket_errors"]:
            failures.append(f"{name}: {result['socket_errors']} socket errors")
        if unexpected := count(result, lambda s, allowed=allowed: s not in allowed):
            failures.append(f"{name}: {unexpected} answers with unexpected statuses")
    through = count(hammer, lambda s: s == 302)
    if through > USER_LIMIT * soak["windows"]:
        failures.append(f"hammer: {through} resets went through, limit {USER_LIMIT} per window")
    if not count(hammer, lambda s: s == 429):
        failures.append("hammer: never answered 429")
    if soak["errors_logged"]:
        failures.append(f"the server logged {soak['errors_logged']} errors")
    tail = [mb for at, mb, _ in soak["samples"] if at >= max(duration - PLATEAU_S, duration / 2)]
    span = PLATEAU_S if duration >= 2 * PLATEAU_S else duration / 2
    soak["plateau"] = (min(tail), max(tail), span)


def markdown(soak: dict[str, Any], command: str) -> str:
    mix, hammer, samples = soak["mix"], soak["hammer"], soak["samples"]
    low, high, span = soak["plateau"]
    redis = (soak["cache"] or "").startswith("redis")
    flat = "flat" if high - low <= FLAT_MB else "**not flat**"
    size = "met" if high <= REDIS_MB else "**not met**"
    size = f"; <= {REDIS_MB:g} MB with Redis: {size}" if redis else ""
    step = max(1, math.ceil(len(samples) / 24))
    verdict = "**pass**" if not soak["failures"] else "**FAIL**: " + "; ".join(soak["failures"])
    statuses = ", ".join(f"{k}: {v['n']}" for k, v in sorted(mix["statuses"].items()))
    calls = ", ".join(f"{k} {v}" for k, v in sorted(soak["calls"].items()))
    cache = "Redis (`CACHE_URL`)" if redis else "the in-memory cache (no `CACHE_URL`)"
    rows = [
        ("when, how long", f"{soak['started']}, {samples[-1][0]:.0f} s"),
        ("machine", f"{os.cpu_count()} CPUs shared with the load generator and other jobs; "
         f"1-min load average {min(s[2] for s in samples):.1f}–{max(s[2] for s in samples):.1f}"),
        ("verdict", verdict),
        ("mix: requests, rate", f"{mix['requests']} over {soak['connections']} connections, "
         f"{mix['rps']:.0f} req/s"),
        ("mix: statuses", f"{statuses} (400: the wrong codes)"),
        ("mix: latency", f"p50 {mix['p50']:.0f} ms, p99 {mix['p99']:.0f} ms"),
        ("errors", f"5xx: {count(mix, lambda s: s >= 500) + count(hammer, lambda s: s >= 500)}; "
         f"socket errors: {mix['socket_errors'] + hammer['socket_errors']}; errors logged: "
         f"{soak['errors_logged']}"),
        ("hammer: one username", f"{hammer['requests']} resets, {count(hammer, lambda s: s == 302)}"
         f" went through (limit {USER_LIMIT} per 15-min window, {soak['windows']} window(s)), "
         f"{count(hammer, lambda s: s == 429)} answered 429"),
        ("Cognito calls", calls),
        ("RSS worker", f"{samples[0][1]:.1f} MB before, peak {max(s[1] for s in samples):.1f} MB,"
         f" {samples[-1][1]:.1f} MB after"),
        ("worker plateau", f"{low:.1f}–{high:.1f} MB over the last {span / 60:.3g} min: {flat} "
         f"(within {FLAT_MB:g} MB{size})"),
    ]  # fmt: skip
    series = " ".join(f"{s[1]:.0f}" for s in samples[::step])
    return "\n".join([
        START, f"`{command}`, {cache}:", "", "| | |", "|---|---|",
        *(f"| {k} | {v} |" for k, v in rows), "",
        f"Worker RSS over the run (MB, every {10 * step} s): {series}.", END,
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (1200: 20 min)")
    parser.add_argument("--connections", type=int, default=24, help="of the mix")
    parser.add_argument("--latency-min", type=float, default=100.0, help="ms")
    parser.add_argument("--latency-max", type=float, default=200.0, help="ms")
    parser.add_argument("--hammer-interval", type=float, default=0.25, help="seconds")
    parser.add_argument("--write-docs", action="store_true", help="record in docs/operations.md")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        soak = run(args, Path(tmp))
    command = "make soak" + (f" ARGS='--duration {args.duration:g}'" if args.duration != 60 else "")
    if soak["cache"]:
        command = "CACHE_URL=... " + command
    text = markdown(soak, command)
    print(text)
    if args.write_docs:
        bench.write_section(OPERATIONS, START, END, text)
        print(f"recorded in {OPERATIONS.relative_to(bench.ROOT)}")
    return 1 if soak["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
