"""urllib3's dropped-connection check answers without a hub switch, and still works.

A process patched by gevent, as gunicorn's worker is, imports the site's WSGI
entry point and calls Cognito (the stand-in, which closes connections idle for
0.3 s, as load balancers do) through accounts.cognito.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from latency_stub import StubProcess

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
from gevent import monkey

monkey.patch_all()
import json, socket
import gevent
from urllib3.util.connection import is_connection_dropped
from urllib3.util.wait import wait_for_read


def switched(check):
    # A greenlet that is ready runs only if the check hands control to the hub.
    ran = []
    gevent.spawn(ran.append, 1)
    answer = check()
    return answer, bool(ran)


a, b = socket.socketpair()
_, before = switched(lambda: wait_for_read(a, timeout=0.0))

import resetsite.wsgi  # noqa: E402 - the worker's entry point installs the fix
from accounts import cognito  # noqa: E402

cognito.forgot_password(username="first@example.com")
client = cognito.public_client()
pool = client._endpoint.http_session._manager.connection_from_url(client.meta.endpoint_url)
conn = next(c for c in pool.pool.queue if c is not None)
dropped_fresh, after = switched(lambda: is_connection_dropped(conn))
gevent.sleep(0.8)  # the stand-in closes it after 0.3 s idle
dropped_idle, _ = switched(lambda: is_connection_dropped(conn))
cognito.forgot_password(username="second@example.com")
print(json.dumps({
    "switched_unpatched": before, "switched": after,
    "dropped_fresh": dropped_fresh, "dropped_idle": dropped_idle,
}))
"""


def test_the_check_detects_a_closed_connection_without_a_hub_switch(tmp_path: Path) -> None:
    with StubProcess(latency_ms=5, idle_close_ms=300) as stub:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "resetsite.settings",
            "DJANGO_SECRET_KEY": "nohub-test-" + "p4Rt8WqZ" * 6,
            "COGNITO_USER_POOL_ID": "us-east-1_nohub",
            "COGNITO_CLIENT_ID": "nohubclient0123",
            "COGNITO_ENDPOINT_URL": stub.url,
            "COGNITO_READ_POLICY": "false",
            "AWS_EC2_METADATA_DISABLED": "true",
            "PWNED_PASSWORDS_URL": "",
        }
        done = subprocess.run(
            [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        found = json.loads(done.stdout.strip().splitlines()[-1])
        stats = stub.stats()
    # gevent's own poll hands control to the hub even with a zero timeout; ours doesn't.
    assert found["switched_unpatched"] is True
    assert found["switched"] is False
    assert found["dropped_fresh"] is False
    assert found["dropped_idle"] is True  # the stand-in closed it, and the check saw it
    # The second call succeeded (no exception) on a new connection.
    assert stats["counts"]["ForgotPassword"] == 2
    assert stats["connections"] == 2 + 1  # and the one asking for these stats
