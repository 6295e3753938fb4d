"""WEB_ACCESS_LOG switches gunicorn's access log: off when empty, or into a file.

Real gunicorn from gunicorn.conf.py, configured from the environment only. The
default (standard output) is checked in test_config.py.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

from tests.rollout import site_env
from tests.servers import launch, wait_healthy

ACCESS_EVENT = '"event": "http_request"'


def _visit(port: int) -> None:
    for path in ("/healthz", "/reset/", "/nowhere/"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"User-Agent": "access-log-test"})
        conn.getresponse().read()
        conn.close()


def test_empty_turns_the_access_log_off_and_a_path_writes_there(
    tmp_path: Path, closed_port: int
) -> None:
    access_file = tmp_path / "access.log"
    never_called = f"http://127.0.0.1:{closed_port}"  # no Cognito call on these pages
    off = launch("off", tmp_path, site_env(tmp_path, never_called, WEB_ACCESS_LOG=""))
    to_file = launch(
        "file", tmp_path, site_env(tmp_path, never_called, WEB_ACCESS_LOG=str(access_file))
    )
    try:
        wait_healthy(off)
        wait_healthy(to_file)
        _visit(off.port)
        _visit(to_file.port)
    finally:
        off.stop()
        to_file.stop()

    assert off.process.returncode == to_file.process.returncode == 0
    # Off: not one request line, and no trace of the client (its address, its agent).
    off_output = off.log_text()
    assert "Booting worker" in off_output  # the output was captured at all
    assert ACCESS_EVENT not in off_output
    assert "access-log-test" not in off_output
    # A path: every request there, one JSON line each, and none on the console.
    records = [json.loads(line) for line in access_file.read_text().splitlines()]
    assert {r["event"] for r in records} == {"http_request"}
    assert {r["path"] for r in records} == {"/healthz", "/reset/", "/nowhere/"}
    assert ACCESS_EVENT not in to_file.log_text()
