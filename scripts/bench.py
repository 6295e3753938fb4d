"""`make bench`: every path beside its floor, side by side in one run.

Each scenario (SCENARIOS: a server, a request, connections, Cognito's latency, a
target) is one wrk run against gunicorn started as an operator would, in front of
the Cognito stand-in (scripts/latency_stub.py). docs/benchmarks.md says how; the
results go between its markers.

    .venv/bin/python scripts/bench.py [--duration 10] [--only REGEX] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from emulator import free_port
from latency_stub import StubProcess

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:start (written by scripts/bench.py) -->", "<!-- bench:end -->"
PASSWORD = "Fresh-Horse-Battery-42"
CLIENT_ID, CLIENT_SECRET = "benchclient0123456789", "bench-client-secret-0123456789"
LATENCY_MS, HANG_MS = 200.0, 600_000.0
P99_MS, BUSY_MS, CPU_X, WRONG_X = LATENCY_MS + 100, 100.0, 2.0, 1.3
LIMITED_USER, LIMITED_IP = "hammered@example.com", "10.254.0.1"
BASE_ENV = {  # production, configured as an operator would; wrk plays the load balancer
    "DJANGO_SECRET_KEY": "bench-only-" + "q7Vx2mK9pL4sT8wZ" * 4, "COGNITO_READ_POLICY": "true",
    "COGNITO_USER_POOL_ID": "us-east-1_bench", "COGNITO_CLIENT_ID": CLIENT_ID,
    "COGNITO_CLIENT_SECRET": CLIENT_SECRET, "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true",
    "TRUSTED_PROXIES": "127.0.0.1", "PWNED_PASSWORDS_URL": "",  # no other service's latency
    "COGNITO_QUOTA_RPS": "0",  # the stand-in has no quota here; the campaign paces
}  # fmt: skip
# The servers: a WSGI app and its environment. "floor" also serves the trivial page
# (scripts/bench_app), and holds its one Cognito slot with a hung call, so that every
# new submission is answered "busy".
SERVERS: dict[str, tuple[str, dict[str, str]]] = {
    "floor": ("resetsite.wsgi:application", {"DJANGO_SETTINGS_MODULE": "bench_app.settings",
              "COGNITO_MAX_IN_FLIGHT": "1", "COGNITO_READ_TIMEOUT": "900",
              "SHED_LAG": "0"}),  # each answer's own cost: wrk saturates it on purpose
    "site": ("resetsite.wsgi:application", {}),
}  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str
    method: str
    path: str
    expect: int  # the status every answer should have
    connections: int = 16
    code: str = "1"  # POST: the confirmation code ("bad..." makes a CodeMismatchException)
    csrf: bool = True
    limited: bool = False  # one username from one address, over its limit
    latency_ms: float = 0.0  # the stand-in's, when the scenario calls Cognito
    target: float = 0.0  # floor: req/s / the trivial page's; load: / min(ideal, CPU ceiling)


SCENARIOS = [
    Scenario("trivial page", "floor", "GET", "/bench/baseline/", 200),
    Scenario("GET /reset/", "floor", "GET", "/reset/", 200, target=0.6),
    Scenario("GET /forgot/", "floor", "GET", "/forgot/", 200, target=0.6),
    Scenario("rate-limited POST", "floor", "POST", "/reset/", 429, limited=True, target=0.6),
    Scenario("POST without CSRF", "floor", "POST", "/reset/", 403, csrf=False, target=0.6),
    Scenario("busy answer", "floor", "POST", "/reset/", 503, target=0.6),
    *(
        Scenario(f"{kind} x{c} site", "site", "POST", "/reset/", status, c, code,
                 latency_ms=LATENCY_MS, target=0.85 if c <= 64 else 0.0)
        for kind, code, status in (("success", "123456", 302), ("wrong", "bad123", 400))
        for c in (32, 64, 256, 1000)
    ),
]  # fmt: skip


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class Server:
    """gunicorn -c gunicorn.conf.py APP, configured by its environment only."""

    def __init__(self, name: str, stub: StubProcess, workdir: Path, **env: str) -> None:
        app, own = SERVERS[name]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}-{self.port}.log"
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
        self.env |= {"PYTHONPATH": f"{ROOT}:{SCRIPTS}", **BASE_ENV, **own, **env}
        self.env |= {"COGNITO_ENDPOINT_URL": stub.url, "BIND": f"127.0.0.1:{self.port}"}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(gunicorn), "-c", "gunicorn.conf.py", app],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                if http(self.url + "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{name} did not start:\n{self.log.read_text()[-2000:]}")

    def worker(self) -> int:
        pid = self.process.pid
        return int(Path(f"/proc/{pid}/task/{pid}/children").read_text().split()[0])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def errors(self) -> int:
        marks = ('"level": "error"', '"level": "critical"', "Traceback")
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if any(mark in line for mark in marks))


class Csrf(NamedTuple):
    cookie: str  # "name=value"
    token: str
    origin: str


def fetch_csrf(base: str) -> Csrf:
    _, headers, body = http(base + "/reset/")
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    name = next(n for n in jar if n.endswith("csrftoken"))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token, "no CSRF token on the form"
    return Csrf(f"{name}={jar[name].value}", token.group(1).decode(), base)


def settle(stub: StubProcess, timeout: float = 30.0) -> None:
    """Wait until no more calls reach the stand-in (what was in flight has ended)."""
    last, deadline = -1, time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = sum(stub.stats()["counts"].values())
        if count == last:
            return
        last = count
        time.sleep(0.5)


# wrk's script: every answer timed by its status (the request() is added per scenario).
LUA_COMMON = (SCRIPTS / "bench_app" / "timing.lua").read_text()


def lua_for(s: Scenario, csrf: Csrf) -> str:
    """wrk's request() for a scenario: a fresh username and address each time."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if s.method == "POST" else {}
    if s.csrf and s.method == "POST":
        headers |= {"Cookie": csrf.cookie, "Origin": csrf.origin}
    user = 'urlencode(string.format("r%d-t%d-u%d@example.com", run, id, sent))'
    form = f"csrfmiddlewaretoken={csrf.token if s.csrf else 'none'}&code={s.code}"
    form += f"&new_password1={PASSWORD}&new_password2={PASSWORD}&username="
    body = f'"{form}" .. ' + (f'"{quote(LIMITED_USER)}"' if s.limited else user)
    fields = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
    return LUA_COMMON + (
        f"local headers = {{{fields}}}\nfunction request()\n  stamp(headers)\n"
        f'  headers["X-Forwarded-For"] = {f"{LIMITED_IP!r}" if s.limited else "client_ip(sent)"}\n'
        f'  return wrk.format("{s.method}", "{s.path}", headers, '
        f"{body if s.method == 'POST' else 'nil'})\nend\n"
    )


def start_wrk(url: str, lua: str, conns: int, seconds: float, run: int, workdir: Path) -> Any:
    script = workdir / f"run{run}.lua"
    script.write_text(lua)
    wrk = shutil.which("wrk") or sys.exit("wrk is not installed: apt-get install -y wrk")
    options = f"-t1 -c{conns} -d{max(1, round(seconds))}s --timeout=10s -s {script}"
    command = [wrk, *options.split(), url, "--", str(run)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(process: subprocess.Popen[str], timeout: float = 3600) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if process.returncode or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {out}\n{err}")
    result: dict[str, Any] = json.loads(line.split(" ", 1)[1])
    result["rps"] = result["requests"] / result["duration_s"]
    return result


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir, self.runs = args, workdir, 0
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.extra: dict[str, Any] = {}

    def wrk(self, server: Server, s: Scenario, csrf: Csrf, seconds: float) -> dict[str, Any]:
        self.runs += 1
        lua = lua_for(s, csrf)
        return finish_wrk(
            start_wrk(server.url, lua, s.connections, seconds, self.runs, self.workdir)
        )

    def measure(self, server: Server, s: Scenario, csrf: Csrf, stub: StubProcess) -> None:
        worker = server.worker()
        before = cpu_seconds(worker)
        r = self.wrk(server, s, csrf, self.args.duration)
        answers = sum(v["n"] for v in r["statuses"].values()) or 1
        if server.worker() != worker:  # gunicorn replaced it (a heartbeat timeout): no CPU
            r |= {"cpu_ms": float("nan"), "rss": 0.0, "replaced": True}
        else:
            r |= {"cpu_ms": (cpu_seconds(worker) - before) * 1000 / answers, "rss": rss_mb(worker)}
        settle(stub)
        self.results.setdefault(s.name, []).append(r)
        print(f"{s.name}: {r['rps']:.0f} req/s, {r['cpu_ms']:.2f} ms CPU, {answers_of(r)}")

    def best(self, name: str) -> dict[str, Any]:
        """Rounds: the mean rate, the least disturbed CPU."""
        runs = self.results[name]
        rps, cpu = statistics.mean(r["rps"] for r in runs), min(r["cpu_ms"] for r in runs)
        return {**runs[0], "rps": rps, "cpu_ms": cpu}


def answers_of(r: dict[str, Any]) -> str:
    found = ", ".join(f"{k} x{v['n']} (p99 {v['p99']:.0f} ms)" for k, v in r["statuses"].items())
    return found + (" (the worker was replaced)" if r.get("replaced") else "")


def post_form(base: str, csrf: Csrf, user: str, ip: str) -> int:
    body = f"csrfmiddlewaretoken={csrf.token}&username={quote(user)}&code=1"
    body += f"&new_password1={PASSWORD}&new_password2={PASSWORD}"
    headers = {"Cookie": csrf.cookie, "Origin": csrf.origin, "X-Forwarded-For": ip}
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        return int(http(base + "/reset/", body.encode(), headers)[0])
    except OSError:
        return 0  # the held call: given up (or the server stopped)


def floor_section(run: Run, scenarios: list[Scenario]) -> None:
    """The trivial page and the cheap answers on one server, in interleaved rounds."""
    with StubProcess(LATENCY_MS) as stub:
        server = Server("floor", stub, run.workdir)
        try:
            csrf = fetch_csrf(server.url)
            for _ in range(40):  # over the limit first, while Cognito answers
                if post_form(server.url, csrf, LIMITED_USER, LIMITED_IP) == 429:
                    break
            stub.configure(HANG_MS)  # then the one Cognito slot is held by a hung call
            held = (server.url, csrf, "held@example.com", "10.253.0.1")
            threading.Thread(target=post_form, args=held, daemon=True).start()
            time.sleep(1.0)
            for s in scenarios:
                run.wrk(server, s, csrf, run.args.warmup)
            for _ in range(run.args.rounds):
                for s in scenarios:
                    run.measure(server, s, csrf, stub)
        finally:
            server.stop()
        run.extra["errors"] = {"floor": server.errors()}


def load_section(run: Run, scenarios: list[Scenario]) -> None:
    """POSTs with Cognito's latency, each on a fresh server (nothing left from the last
    run: calls in flight, an open breaker), warmed up first."""
    with StubProcess(LATENCY_MS) as stub:
        for s in scenarios:
            stub.configure(s.latency_ms)
            server = Server(s.server, stub, run.workdir)
            try:
                csrf = fetch_csrf(server.url)
                run.wrk(
                    server, replace(s, connections=min(s.connections, 32)), csrf, run.args.warmup
                )
                settle(stub)
                run.measure(server, s, csrf, stub)
            finally:
                server.stop()
            errors = run.extra.setdefault("errors", {})
            errors[s.server] = errors.get(s.server, 0) + server.errors()
        run.extra["bare"] = bare_call(stub.url, run.args.bare_calls)


def bare_call(url: str, n: int) -> dict[str, float]:
    """CPU ms per call of the same call from a bare boto3 client (scripts/bench_app/bare.py)."""
    bare = SCRIPTS / "bench_app" / "bare.py"
    args = [sys.executable, str(bare), url, str(n), CLIENT_ID, CLIENT_SECRET, PASSWORD]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    if done.returncode:
        raise RuntimeError(f"the bare call failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def campaign() -> dict[str, Any]:
    """The busy-day campaign (issue 18's benchmark): scripts/campaign.py's JSON."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "campaign.json"
        command = [sys.executable, str(SCRIPTS / "campaign.py"), "--json", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800, cwd=ROOT)
        if out.exists():
            return {**json.loads(out.read_text()), "exit": done.returncode}
    return {"exit": done.returncode, "error": done.stderr.strip()[-300:]}


Row = tuple[str, str, str, bool | None]  # target, measured, bound, met (None: not measured)


def of(r: dict[str, Any], *codes: int) -> tuple[int, float]:
    """How many answers had these statuses, and the worst of their p99s."""
    mine = [v for k, v in r["statuses"].items() if int(k) in codes]
    return sum(v["n"] for v in mine), max((v["p99"] for v in mine), default=-1.0)


def floor_rows(run: Run) -> list[Row]:
    rows: list[Row] = []
    trivial = run.best("trivial page")["rps"] if "trivial page" in run.results else 0
    for s in (s for s in SCENARIOS if s.server == "floor" and s.target and s.name in run.results):
        r = run.best(s.name)
        ratio = r["rps"] / trivial if trivial else 0.0
        other = of(r, s.expect)[0] < sum(v["n"] for v in r["statuses"].values())
        measured = f"{ratio:.2f}" + (" (other answers)" if other else "")
        rows.append((f"{s.name}: req/s / the trivial page's", measured, f">= {s.target}",
                     not other and ratio >= s.target))  # fmt: skip
    return rows


def load_rows(run: Run) -> list[Row]:
    rows: list[Row] = []
    if {"success x32 site", "wrong x32 site"} <= run.results.keys() and "bare" in run.extra:
        success, wrong = (run.best(f"{k} x32 site")["cpu_ms"] for k in ("success", "wrong"))
        bare = run.extra["bare"]["success, validation off"]
        rows.append(("CPU per successful reset / the bare boto3 call", f"{success / bare:.2f}x",
                     f"<= {CPU_X:g}x", success / bare <= CPU_X))  # fmt: skip
        rows.append(("CPU of a wrong code / a success", f"{wrong / success:.2f}x",
                     f"<= {WRONG_X:g}x", wrong / success <= WRONG_X))  # fmt: skip
    for s in (s for s in SCENARIOS if s.server == "site" and s.name in run.results):
        r, first = run.best(s.name), s.name.split()[0] + " x32 site"
        if s.connections > 64:  # past the CPU ceiling: admitted fast, the rest "busy" at once
            (n, p99), (busy, busy_p99) = of(r, s.expect), of(r, 503)
            rows.append((f"{s.name}: p99 of the {n} admitted", f"{p99:.0f} ms",
                         f"<= {P99_MS:.0f} ms", 0 <= p99 <= P99_MS))  # fmt: skip
            fast = 0 <= busy_p99 <= BUSY_MS if busy else None
            rows.append((f"{s.name}: p99 of the {busy} answered busy", f"{busy_p99:.0f} ms",
                         f"<= {BUSY_MS:.0f} ms", fast))  # fmt: skip
            continue
        ideal = s.connections / (LATENCY_MS / 1000)
        ceiling = min(ideal, 1000 / run.best(first)["cpu_ms"]) if first in run.results else ideal
        fraction = of(r, s.expect)[0] / r["duration_s"] / ceiling
        which = "ideal" if ceiling == ideal else "CPU ceiling"
        rows.append((f"{s.name}: req/s / the {which} ({ceiling:.0f})", f"{fraction:.2f}",
                     f">= {s.target}", fraction >= s.target))  # fmt: skip
        rows.append((f"{s.name}: p99", f"{r['p99']:.0f} ms", f"<= {P99_MS:.0f} ms",
                     r["p99"] <= P99_MS))  # fmt: skip
    found = run.extra.get("campaign")
    if found and "slowest_s" in found:  # issue 18's targets: 2x the ideal, a median under 8 s
        ideal, slowest, median = found["ideal_s"], found["slowest_s"] or 1e9, found["median_s"]
        who = f"campaign, {found['people']} people on {found['scenario']['instances']} instances"
        rows.append((f"{who}: the slowest done", f"{slowest} s", f"<= {2 * ideal:.0f} s",
                     found["finished"] == found["people"] and slowest <= 2 * ideal))  # fmt: skip
        rows.append((f"{who}: the median wait", f"{median} s", "< 8 s", median < 8))
        rows.append((f"{who}: the most calls Cognito saw in a second",
                     str(found["max_calls_in_a_second"]), f"<= {found['scenario']['quota']:.0f}",
                     found["max_calls_in_a_second"] <= found["scenario"]["quota"]))  # fmt: skip
    return rows


def write_section(path: Path, start: str, end: str, text: str) -> None:
    """Replace what is between the markers in ``path`` (appended if missing)."""
    doc, pattern = path.read_text(), re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: text, doc) if start in doc else f"{doc}\n{text}\n")


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows])


def report(run: Run, load: list[str], commit: str) -> str:
    import boto3
    import django
    import gevent

    met = {True: "yes", False: "**no**", None: "—"}
    rows = [[t, m, b, met[ok]] for t, m, b, ok in floor_rows(run) + load_rows(run)]
    every = [
        [s.name, s.connections, f"{s.latency_ms:.0f} ms" if s.latency_ms else "—",
         f"{r['rps']:.0f}", f"{r['cpu_ms']:.2f}", f"{r['p50']:.0f} / {r['p99']:.0f} ms",
         answers_of(r), f"{r['socket_errors']} ({r['timeouts']})", f"{r['rss']:.0f} MB"]
        for s in SCENARIOS if s.name in run.results for r in [run.best(s.name)]
    ]  # fmt: skip
    bare = ", ".join(f"{k} {v:.2f}" for k, v in run.extra.get("bare", {}).items())
    versions = f"Python {platform.python_version()}, Django {django.get_version()}, "
    versions += f"gevent {gevent.__version__}, boto3 {boto3.__version__}"
    return "\n\n".join([
        START,
        f"Last run: {run.extra['started']}, commit {commit}; {run.args.duration:g} s per wrk "
        f"run, {run.args.rounds} interleaved rounds on the floor server; {os.cpu_count()} "
        f"CPUs shared with wrk, the stand-in and other jobs (1-min load average {load[0]} "
        f"before, {load[1]} after); {versions}.",
        table(["target", "measured", "bound", "met"], rows),
        "Every scenario (req/s: all answers; CPU: the worker's, per answer; p50 / p99: "
        "wrk's, of all answers; by status: from its script); `site` is the production server:",
        table(["scenario", "conns", "Cognito", "req/s", "CPU ms", "p50 / p99", "answers",
               "socket errors (timeouts)", "worker RSS"], every),
        f"The bare boto3 call, CPU ms per call: {bare or 'not run'}.",
        f"Error lines the servers logged: {run.extra.get('errors', {})}.",
        f"The campaign: {json.dumps(run.extra.get('campaign'))}.",
        END,
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved floor rounds")
    parser.add_argument("--bare-calls", type=int, default=640, help="per bare-call run")
    parser.add_argument("--only", default="", help="the scenarios whose name matches REGEX")
    parser.add_argument("--no-campaign", action="store_true", help="skip the busy-day campaign")
    parser.add_argument("--no-write", action="store_true", help="leave docs/ alone")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # 1,000 connections and more
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # servers stop as on Ctrl-C
    chosen = [s for s in SCENARIOS if re.search(args.only, s.name)]
    load = [Path("/proc/loadavg").read_text().split()[0]]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        run = Run(args, Path(tmp))
        run.extra["started"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if floor := [s for s in chosen if s.server == "floor"]:
            floor_section(run, floor)
        if rest := [s for s in chosen if s.server != "floor"]:
            load_section(run, rest)
        if not args.no_campaign:
            run.extra["campaign"] = campaign()
    load.append(Path("/proc/loadavg").read_text().split()[0])
    git = ["git", "log", "-1", "--format=%h"]
    commit = subprocess.run(git, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    section = report(run, load, commit)
    print(section)
    if not args.no_write:
        write_section(DOC, START, END, section)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
