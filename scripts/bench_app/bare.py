"""The floor of a reset: ConfirmForgotPassword from a bare boto3 client.

Run by scripts/bench.py in a process like the site's worker: gevent, urllib3's
check without a hub switch (resetsite/nohubpoll.py), 32 calls at a time, the
client settings of accounts/cognito.py. Prints the CPU ms per call, best of 3, for
a success and an error (CodeMismatchException), with botocore's parameter
validation on and off.

    python scripts/bench_app/bare.py URL CALLS CLIENT_ID CLIENT_SECRET PASSWORD
"""

from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402 - after the patching, as in the worker
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import botocore.exceptions  # noqa: E402
import gevent  # noqa: E402
from botocore import UNSIGNED  # noqa: E402
from botocore.config import Config  # noqa: E402

from accounts.secrethash import secret_hash  # noqa: E402
from resetsite import nohubpoll  # noqa: E402

nohubpoll.install()
url, calls, client_id, secret, password = sys.argv[1:]
ids = itertools.count()


def call(client: Any, code: str, times: int) -> None:
    for _ in range(times):
        user = f"bare{next(ids)}@example.com"
        hashed = secret_hash(username=user, client_id=client_id, client_secret=secret)
        with contextlib.suppress(botocore.exceptions.ClientError):
            client.confirm_forgot_password(
                ClientId=client_id, Username=user, SecretHash=hashed, ConfirmationCode=code,
                Password=password, UserContextData={"IpAddress": "10.1.0.1"},
            )  # fmt: skip


found = {}
each = int(calls) // 32
for validation in (True, False):
    config = Config(connect_timeout=2, read_timeout=5, max_pool_connections=32,
                    tcp_keepalive=True, retries={"mode": "standard", "total_max_attempts": 1},
                    signature_version=UNSIGNED, parameter_validation=validation)  # fmt: skip
    client = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=url, config=config)
    for kind, code in (("success", "123456"), ("error", "bad123")):
        gevent.joinall([gevent.spawn(call, client, code, 4) for _ in range(32)])  # warm
        cpu = []
        for _ in range(3):
            started = time.process_time()
            gevent.joinall([gevent.spawn(call, client, code, each) for _ in range(32)])
            cpu.append((time.process_time() - started) * 1000 / (each * 32))
        found[f"{kind}, validation {'on' if validation else 'off'}"] = min(cpu)
print(json.dumps(found))
