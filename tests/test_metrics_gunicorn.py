"""Metrics from several real gunicorn worker processes add up (multiprocess mode).

The production server (gunicorn.conf.py) with two workers, once with gthread
and once with gevent, against moto. Requests land on whichever worker accepts
them, so one worker is stopped half-way: then at least two processes, one of
them gone, have counted, and every scrape, whichever worker answers it, must
report the total. The dead worker's counts stay; its live gauges go.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator import Pool
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import ROOT, Browser, Instance, start_gunicorn, wait_healthy

pytestmark = pytest.mark.e2e

REQUESTS_PER_PHASE = 6


def _workers(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def _wait_for_workers(master: int, count: int, not_in: set[int], timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        workers = _workers(master)
        if len(workers) == count and not workers & not_in:
            return workers
        assert time.monotonic() < deadline, f"workers now: {workers}"
        time.sleep(0.05)


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _pids(metrics_dir: Path, prefix: str) -> set[int]:
    return {
        int(Path(f).stem.rsplit("_", 1)[1]) for f in glob.glob(str(metrics_dir / f"{prefix}_*.db"))
    }


def _scrape(browser: Browser) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = browser.get("/metrics")
    assert response.status == 200, response.body[:500]
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.body)
        for s in family.samples
    }


def _code_requests(browser: Browser, first: int) -> None:
    for i in range(first, first + REQUESTS_PER_PHASE):
        page = browser.get("/forgot/")
        answer = browser.post(
            "/forgot/", {"csrfmiddlewaretoken": browser.csrf_token(page), "username": f"u{i}"}
        )
        assert answer.status == 302, answer.body[:500]
        browser.cookies.clear()  # a new visitor each time


@pytest.fixture(params=["gthread", "gevent"])
def server(
    request: pytest.FixtureRequest, pool: Pool, tmp_path: Path
) -> Iterator[tuple[Instance, Path]]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # Left by an earlier run: the master must clear it before any worker counts.
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        **pool.env(),
        "DJANGO_SECRET_KEY": "metrics-" + "Qw8pLz3V" * 6,
        "WEB_CONCURRENCY": "2",
        "WEB_ACCESS_LOG": "",
        # A gevent worker told to stop while it is still booting waits this out.
        "WEB_GRACEFUL_TIMEOUT": "5",
        "METRICS_ALLOWED_IPS": "127.0.0.1/32",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "RATELIMIT_FORGOT_IP": "1000/h",
    }
    instance = _launch(request.param, tmp_path, env)
    try:
        wait_healthy(instance)
        yield instance, metrics_dir
    finally:
        instance.stop()


def _launch(worker_class: str, workdir: Path, env: dict[str, str]) -> Instance:
    """The production command, with the worker class given on the command line."""
    log = workdir / f"{worker_class}.log"
    command = ["-c", "gunicorn.conf.py", "-k", worker_class]
    if worker_class == "gthread":
        command += ["--threads", "4"]
    with log.open("wb") as out:
        port, process = start_gunicorn(
            [*command, "resetsite.wsgi:application"],
            env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Instance(worker_class, port, process, log)


def test_every_scrape_reports_the_sum_of_all_workers(server: tuple[Instance, Path]) -> None:
    instance, metrics_dir = server
    assert not (metrics_dir / "counter_999999.db").exists()
    master = instance.process.pid
    first = _wait_for_workers(master, 2, set())
    browser = Browser(f"http://{instance.address}", "127.0.0.1")

    _code_requests(browser, 0)
    counted = _pids(metrics_dir, "counter") & first
    assert counted, "no worker counted anything"
    # Stop a worker that has counted; the master starts another in its place.
    stopped = min(counted)
    os.kill(stopped, signal.SIGTERM)
    (replacement,) = _wait_for_workers(master, 2, {stopped}) - first
    _code_requests(browser, REQUESTS_PER_PHASE)

    total = 2 * REQUESTS_PER_PHASE
    assert len(_pids(metrics_dir, "counter")) >= 2
    for _ in range(8):
        browser.cookies.clear()
        values = _scrape(browser)

        def value(name: str, values: dict[Any, float] = values, **labels: str) -> float:
            return values.get((name, tuple(sorted(labels.items()))), 0.0)

        assert value("resetsite_attempts_total", action="forgot", outcome="sent") == total
        count = "resetsite_cognito_request_duration_seconds_count"
        assert value(count, operation="ForgotPassword") == total
        bucket = "resetsite_cognito_request_duration_seconds_bucket"
        assert value(bucket, operation="ForgotPassword", le="+Inf") == total
        # Nothing is in flight now, and the stopped worker's gauge no longer counts.
        assert value("resetsite_cognito_in_flight") == 0
    # child_exit removed the stopped worker's live gauges; its counts remain.
    assert stopped in _pids(metrics_dir, "counter")
    assert stopped not in _pids(metrics_dir, "gauge_livesum")
    _wait_for(lambda: replacement in _pids(metrics_dir, "gauge_livesum"))  # it booted
    log = instance.log_text()
    assert "Traceback" not in log
    assert '"status": 500' not in log
