"""`make run` without a configured pool: the site against a built-in Cognito emulator.

Starts moto in server mode on loopback, creates a pool with a password policy,
an app client with a secret and a demo user, asks for a code, starts the site
with gunicorn on http://127.0.0.1:8000 and prints a ready-to-open reset link.
The breached-password check asks a stand-in for the Pwned Passwords range API,
also on loopback, so the demo works offline; it prints the passwords it knows.
`python scripts/demo.py link` prints a fresh link while the demo runs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator import Pool, create_pool, free_port, wait_until_up
from pwned_standin import DEMO_BREACHED, RangeStandIn

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo" / "state.json"
DEMO_USER = "demo@example.com"
DEMO_PASSWORD = "Old-Password-1"
SITE = os.environ.get("DEMO_SITE", "http://127.0.0.1:8000")


def link(pool: Pool) -> str:
    code = pool.request_code(DEMO_USER)
    query = urllib.parse.urlencode({"username": DEMO_USER, "code": code})
    return f"{SITE}/reset/?{query}"


def print_link() -> int:
    if not STATE.exists():
        print("The demo is not running: start it with `make run`.", file=sys.stderr)
        return 1
    pool = Pool(**json.loads(STATE.read_text()))
    print(link(pool))
    return 0


def _port_in_use(address: str) -> bool:
    import socket

    host, _, port = address.rpartition(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


def main() -> int:
    if _port_in_use(SITE.removeprefix("http://")):
        print(
            f"Something is already listening on {SITE}: stop it, or set DEMO_SITE.", file=sys.stderr
        )
        return 1
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    pool = create_pool(endpoint)
    pool.create_user(DEMO_USER, DEMO_PASSWORD)
    STATE.parent.mkdir(exist_ok=True)
    STATE.write_text(pool.to_json())
    breaches = RangeStandIn(DEMO_BREACHED).start()

    env = {
        **os.environ,
        **pool.env(),
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        "BIND": SITE.removeprefix("http://"),
        "SIGN_IN_URL": os.environ.get("SIGN_IN_URL", "/"),
        # Plain http on loopback: not every browser keeps Secure cookies there.
        "DJANGO_SECURE_COOKIES": os.environ.get("DJANGO_SECURE_COOKIES", "false"),
        "PWNED_PASSWORDS_URL": breaches.url,
    }
    # Stop the site with us, also on SIGTERM (Python's default would skip `finally`).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "resetsite.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(f"{SITE}/healthz", timeout=20, process=server)
        print(
            "\n  Local Cognito emulator ready (moto). Demo user: "
            f"{DEMO_USER}, current password: {DEMO_PASSWORD}\n"
            f"  The new password must follow the pool's policy: {json.dumps(pool_policy())}\n"
            "  Breach check: a local stand-in for the Pwned Passwords range API (works offline).\n"
            "  It lists these passwords as breached, so the form refuses them: "
            f"{', '.join(DEMO_BREACHED)}\n\n"
            f"  Open this link to reset the password:\n\n    {link(pool)}\n\n"
            "  Another link: `.venv/bin/python scripts/demo.py link`. Stop with Ctrl-C.\n",
            flush=True,
        )
        return server.wait()
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        STATE.unlink(missing_ok=True)
        breaches.stop()
        moto.stop()


def pool_policy() -> dict[str, object]:
    from emulator import DEMO_POLICY

    return dict(DEMO_POLICY)


if __name__ == "__main__":
    sys.exit(print_link() if sys.argv[1:] == ["link"] else main())
