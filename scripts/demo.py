"""`make run` without a configured pool: the site against a built-in Cognito emulator.

Starts moto in server mode on loopback, creates a pool with a password policy,
an app client with a secret and a demo user, asks for a code, starts the site
with gunicorn on http://127.0.0.1:8000 and prints a ready-to-open reset link,
last and framed. The breached-password check asks a stand-in for the Pwned
Passwords range API, also on loopback, so the demo works offline; it prints the
passwords it knows. The rate limits are relaxed and the access log is off, so a
newcomer can try the failure paths and still find the link. "Sign in" on the done
page leads to a demo-only page that tries the username and password (DEMO_SIGN_IN_CHECK).

The codes are six digits, as a real pool's emails have (moto's own look like
`moto-confirmation-code:123456`), and a wrong one is refused. Whenever the site
asks for a code (`/forgot/`), the demo prints a new ready link instead of emailing.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator import Pool, create_pool, free_port, wait_until_up
from pwned_standin import DEMO_BREACHED, RangeStandIn

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo" / "state.json"
DEMO_USER = "demo@example.com"
DEMO_PASSWORD = "Old-Password-1"
SITE = os.environ.get("DEMO_SITE", "http://127.0.0.1:8000")


# Generous limits: enough to try wrong codes and weak passwords freely.
DEMO_RATELIMITS = {
    "RATELIMIT_CONFIRM_USER_IP": "100/15m",
    "RATELIMIT_CONFIRM_USER": "200/15m",
    "RATELIMIT_CONFIRM_IP": "300/15m",
    "RATELIMIT_FORGOT_USER": "60/h",
    "RATELIMIT_FORGOT_IP": "200/h",
}
MOTO_PREFIX = "moto-confirmation-code:"


def link_for(username: str, code: str) -> str:
    query = urllib.parse.urlencode({"username": username, "code": code})
    return f"{SITE}/reset/?{query}"


def link(pool: Pool) -> str:
    return link_for(DEMO_USER, pool.request_code(DEMO_USER))


def framed(*lines: str) -> str:
    width = max(len(line) for line in lines)
    rule = "  +" + "-" * (width + 4) + "+"
    body = [f"  |  {line.ljust(width)}  |" for line in lines]
    return "\n".join([rule, *body, rule])


def six_digit_codes(announce: bool) -> list[bool]:
    """Make the emulator, in this process, send six-digit codes and check them.

    moto sends `moto-confirmation-code:NNNNNN` and accepts any code without that
    prefix; here it stores the prefixed code, hands out the digits, and prefixes what
    comes back, so a wrong code is refused. Each code sent while the returned
    switch is on is printed as a ready link: the demo's "email"."""
    from moto.cognitoidp.models import CognitoIdpBackend

    forgot = CognitoIdpBackend.forgot_password
    confirm = CognitoIdpBackend.confirm_forgot_password
    printing = [announce]

    def forgot_password(self: Any, client_id: str, username: str) -> tuple[str | None, Any]:
        code, response = forgot(self, client_id, username)
        if code and code.startswith(MOTO_PREFIX):
            code = code.removeprefix(MOTO_PREFIX)
            if printing[0]:
                print(
                    f"\n  A code for {username} (the demo prints it instead of emailing it):\n"
                    + framed("Open this link to reset the password:", link_for(username, code))
                    + "\n",
                    flush=True,
                )
        return code, response

    def confirm_forgot_password(
        self: Any, client_id: str, username: str, password: str, confirmation_code: str
    ) -> None:
        if not confirmation_code.startswith(MOTO_PREFIX):
            confirmation_code = MOTO_PREFIX + confirmation_code
        confirm(self, client_id, username, password, confirmation_code)

    CognitoIdpBackend.forgot_password = forgot_password  # type: ignore[method-assign]
    CognitoIdpBackend.confirm_forgot_password = confirm_forgot_password  # type: ignore[method-assign]
    return printing


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
    printing = six_digit_codes(announce=False)

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
        # "Sign in" on the done page: the demo's own page, which tries the username and
        # password against the emulator (it exists only with DEMO_SIGN_IN_CHECK).
        "SIGN_IN_URL": os.environ.get("SIGN_IN_URL", "/demo/sign-in/"),
        "DEMO_SIGN_IN_CHECK": "true",
        # Plain http on loopback: not every browser keeps Secure cookies there.
        "DJANGO_SECURE_COOKIES": os.environ.get("DJANGO_SECURE_COOKIES", "false"),
        "PWNED_PASSWORDS_URL": breaches.url,
        **{name: os.environ.get(name, rate) for name, rate in DEMO_RATELIMITS.items()},
        # Quiet: the links the demo prints must not drown in request lines.
        "WEB_ACCESS_LOG": os.environ.get("WEB_ACCESS_LOG", ""),
    }
    access_log = "off" if not env["WEB_ACCESS_LOG"].strip() else "on (WEB_ACCESS_LOG)"
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
        ready = link(pool)
        printing[0] = True  # from now on, each code the site asks for is printed
        print(
            "\n  Local Cognito emulator ready (moto). Demo user: "
            f"{DEMO_USER}, current password: {DEMO_PASSWORD}\n"
            f"  The new password must follow the pool's policy: {json.dumps(pool_policy())}\n"
            "  Breach check: a local stand-in for the Pwned Passwords range API (works offline).\n"
            "  It lists these passwords as breached, so the form refuses them: "
            f"{', '.join(DEMO_BREACHED)}\n"
            "  Rate limits are relaxed for the demo (100 tries of a code per 15 minutes, "
            f"not 5), and the access log is {access_log}.\n"
            '  "Sign in" after the reset tries the new password against the emulator.\n'
            '  "Get a new code" (/forgot/) prints a new link here instead of emailing it;\n'
            "  so does `.venv/bin/python scripts/demo.py link`. Stop with Ctrl-C.\n\n"
            + framed("Open this link to reset the password:", ready)
            + "\n",
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
