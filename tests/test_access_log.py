"""WEB_ACCESS_LOG switches gunicorn's access log: off when empty, or into a file.

Real gunicorn from gunicorn.conf.py, configured from the environment only. The
default (standard output) is checked in test_config.py.
"""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

from emulator import free_port

from tests.servers import launch, wait_healthy

ACCESS_EVENT = '"event": "http_request"'


def _env(tmp_path: Path, access_log: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SECRET_KEY": "access-log-" + "Hq2vN8sX" * 6,
        "COGNITO_USER_POOL_ID": "us-east-1_accesslog",
        "COGNITO_CLIENT_ID": "accesslogclient01",
        "COGNITO_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # never called here
        "COGNITO_READ_POLICY": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "WEB_ACCESS_LOG": access_log,
    }


def _visit(port: int) -> None:
    for path in ("/healthz", "/reset/", "/nowhere/"):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"User-Agent": "access-log-test"})
        conn.getresponse().read()
        conn.close()


def test_empty_turns_the_access_log_off_and_a_path_writes_there(tmp_path: Path) -> None:
    access_file = tmp_path / "access.log"
    off = launch("off", tmp_path, _env(tmp_path, ""))
    to_file = launch("file", tmp_path, _env(tmp_path, str(access_file)))
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
